import { type BusError, ClosedError, ConfigIssues, topicNameProblem } from '@bus/core';
import { connectionSecrets, type KafkaConnectionOptions } from './connection.js';
import { KafkaErrorCode, KafkaTransportError, toKafkaError } from './errors.js';
import { type ConsumerGroupDescription, deleteGroup, describeGroup } from './admin-groups.js';
import {
  type PartitionOffset,
  type PartitionWatermarks,
  type ResetTarget,
  resolveResetTarget,
  validateResetTarget,
  watermarksOf,
} from './admin-offsets.js';
import { type PeekOptions, type PeekResult, peekPartition, validatePeekOptions } from './admin-peek.js';
import { type AdminDriver, kafkaErrorName } from './internal/driver/admin-driver.js';
import { createAdminDriver } from './internal/driver/create-driver.js';

/** Options of {@link KafkaAdmin}: just how to connect. */
export type KafkaAdminOptions = KafkaConnectionOptions;

/** A topic {@link KafkaAdmin.ensureTopics} should make sure exists. */
export interface TopicSpec {
  /** Topic name. */
  name: string;
  /** Number of partitions. An existing topic with another count is reported, never changed. */
  partitions: number;
  /** Replication factor. Default: the broker's `default.replication.factor`. */
  replicationFactor?: number;
  /** Topic configs used when creating it, e.g. `{ 'retention.ms': '86400000' }`. */
  configs?: Record<string, string>;
}

/** What {@link KafkaAdmin.ensureTopics} did. */
export interface EnsureTopicsResult {
  /** Topics this call created. */
  created: string[];
  /** Topics that already existed with the requested partition count. */
  existing: string[];
}

/** One partition of a described topic. */
export interface TopicPartitionInfo {
  /** Partition number. */
  partition: number;
  /** Broker id of the leader (-1 when there is none). */
  leader: number;
  /** Broker ids of the replicas. */
  replicas: number[];
  /** Broker ids of the in-sync replicas. */
  isr: number[];
}

/** A topic's partitions and configuration. */
export interface TopicDescription {
  /** Topic name. */
  name: string;
  /** Partitions in partition order. */
  partitions: TopicPartitionInfo[];
  /** Effective topic configs (name → value); sensitive values are omitted by the broker. */
  configs: Record<string, string>;
}

/** Lag of one partition for a consumer group. */
export interface PartitionLag {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The group's committed offset (next to read), or `null` when it never committed. */
  committedOffset: number | null;
  /** The partition's end offset (high watermark). */
  endOffset: number;
  /** Messages not yet consumed: end - committed, or end - start when never committed. */
  lag: number;
}

/** A consumer group's lag, per partition and in total. */
export interface ConsumerGroupLag {
  /** The group. */
  groupId: string;
  /** Per partition, sorted by topic and partition. */
  partitions: PartitionLag[];
  /** Sum of all partition lags. */
  totalLag: number;
  /** Total lag per topic. */
  topics: Record<string, number>;
}

/** A consumer group as listed by the brokers. */
export interface ConsumerGroupInfo {
  /** Group id. */
  groupId: string;
  /** Protocol type, `consumer` for regular consumer groups. */
  protocolType: string;
  /** State, e.g. `Stable`, `Empty`, `PreparingRebalance`, `Dead`. */
  state: string;
  /** Number of members now. */
  members: number;
}

/** A topic as listed by {@link KafkaAdmin.listTopics}. */
export interface TopicSummary {
  /** Topic name. */
  name: string;
  /** Number of partitions. */
  partitions: number;
}

/** The offsets a reset committed. */
export interface ResetOffsetsResult {
  /** Per partition, the committed offset (next to read). */
  partitions: { partition: number; offset: number }[];
}

const ACTIVE_STATES = new Set(['Stable', 'PreparingRebalance', 'CompletingRebalance', 'AwaitingSync']);

/**
 * Topic and consumer-group administration: idempotent topic creation, descriptions, lag,
 * offset resets. Connects lazily; `close()` (or `await using`) disconnects. Runs on either driver
 * (`driver` option) with the same results and error codes.
 */
export class KafkaAdmin implements AsyncDisposable {
  readonly #admin: AdminDriver;
  readonly #secrets: readonly string[];
  #connecting: Promise<void> | undefined;
  #connected = false;
  #closed = false;
  readonly #peeks = new Set<Promise<unknown>>();

  /** Validates `options` (a `ConfigError` lists every problem); does not connect yet. */
  constructor(options: KafkaAdminOptions) {
    this.#admin = createAdminDriver(options, 'KafkaAdmin');
    this.#secrets = connectionSecrets(options);
  }

  /**
   * Creates the topics that do not exist. Existing topics are left alone, but a partition count
   * different from the spec is reported as `KAFKA_TOPIC_MISMATCH` (for every such topic at once).
   */
  async ensureTopics(specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
    validateSpecs(specs);
    const admin = await this.#ready();
    return this.#run('ensureTopics', undefined, async () => {
      const known = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !known.has(s.name));
      const created: string[] = [];
      if (missing.length > 0) {
        await admin.createTopics(
          missing.map((s) => ({
            name: s.name,
            partitions: s.partitions,
            replicationFactor: s.replicationFactor ?? -1,
            configs: s.configs ?? {},
          })),
        );
        await waitForLeaders(
          admin,
          missing.map((s) => s.name),
        );
        created.push(...missing.map((s) => s.name));
      }
      const existingSpecs = specs.filter((s) => known.has(s.name));
      if (existingSpecs.length > 0) {
        const metadata = await admin.topicMetadata(existingSpecs.map((s) => s.name));
        const counts = new Map(metadata.map((t) => [t.name, t.partitions.length]));
        const mismatches = existingSpecs.filter((s) => counts.get(s.name) !== s.partitions);
        if (mismatches.length > 0) {
          const details = mismatches.map(
            (s) => `"${s.name}" has ${counts.get(s.name)} partitions, wanted ${s.partitions}`,
          );
          throw new KafkaTransportError(`Existing topics differ from the spec: ${details.join('; ')}`, {
            code: KafkaErrorCode.TOPIC_MISMATCH,
            ...(mismatches.length === 1 ? { topic: mismatches[0]!.name } : {}),
          });
        }
      }
      return { created, existing: existingSpecs.map((s) => s.name) };
    });
  }

  /** Partitions (leader, replicas, ISR) and configs of `name`; `KAFKA_UNKNOWN_TOPIC` if it does not exist. */
  async describeTopic(name: string): Promise<TopicDescription> {
    assertTopic(name);
    const admin = await this.#ready();
    return this.#run('describeTopic', name, async () => {
      await this.#assertExists(admin, [name]);
      const [metadata, configs] = await Promise.all([admin.topicMetadata([name]), admin.topicConfigs(name)]);
      const topic = metadata.find((t) => t.name === name);
      const partitions = (topic?.partitions ?? [])
        .map((p) => ({ partition: p.partition, leader: p.leader, replicas: [...p.replicas], isr: [...p.isr] }))
        .sort((a, b) => a.partition - b.partition);
      return { name, partitions, configs };
    });
  }

  /** Lag of `groupId` on `topics` (default: every topic it committed offsets for). */
  async consumerLag(groupId: string, topics?: readonly string[]): Promise<ConsumerGroupLag> {
    assertGroup(groupId);
    for (const topic of topics ?? []) assertTopic(topic);
    const admin = await this.#ready();
    return this.#run('consumerLag', undefined, async () => {
      if (topics !== undefined) await this.#assertExists(admin, topics);
      const committed = await admin.committedOffsets(groupId, topics);
      const partitions: PartitionLag[] = [];
      for (const { topic, partitions: parts } of committed) {
        const ends = await admin.watermarks(topic);
        for (const end of ends) {
          const offset = parts.find((p) => p.partition === end.partition)?.offset ?? -1;
          const committedOffset = offset >= 0 ? offset : null;
          const endOffset = end.high;
          const from = committedOffset ?? end.low;
          partitions.push({
            topic,
            partition: end.partition,
            committedOffset,
            endOffset,
            lag: Math.max(0, endOffset - from),
          });
        }
      }
      partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
      const perTopic: Record<string, number> = {};
      for (const p of partitions) perTopic[p.topic] = (perTopic[p.topic] ?? 0) + p.lag;
      return { groupId, partitions, totalLag: partitions.reduce((sum, p) => sum + p.lag, 0), topics: perTopic };
    });
  }

  /** Every topic with its partition count, sorted by name; internal topics (`__…`) only when asked. */
  async listTopics(options: { includeInternal?: boolean } = {}): Promise<TopicSummary[]> {
    const admin = await this.#ready();
    return this.#run('listTopics', undefined, async () => {
      const topics = await admin.topicMetadata();
      return topics
        .filter((t) => options.includeInternal === true || !t.name.startsWith('__'))
        .map((t) => ({ name: t.name, partitions: t.partitions.length }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
    });
  }

  /** First held and next-to-write offsets of every partition of `topic`; `KAFKA_UNKNOWN_TOPIC` if it does not exist. */
  async watermarks(topic: string): Promise<PartitionWatermarks[]> {
    assertTopic(topic);
    const admin = await this.#ready();
    return this.#run('watermarks', topic, async () => {
      await this.#assertExists(admin, [topic]);
      return watermarksOf(admin, topic);
    });
  }

  /**
   * Per partition of `topic`, the first offset whose timestamp is at or after `timestamp` (ms since
   * the epoch), or the high watermark when there is none.
   */
  async offsetsAtTime(topic: string, timestamp: number): Promise<PartitionOffset[]> {
    assertTopic(topic);
    if (!Number.isFinite(timestamp) || timestamp < 0) {
      new ConfigIssues('offsetsAtTime')
        .add('timestamp', 'must be a number of milliseconds since the epoch')
        .throwIfAny();
    }
    const admin = await this.#ready();
    return this.#run('offsetsAtTime', topic, async () => {
      await this.#assertExists(admin, [topic]);
      return resolveResetTarget(admin, topic, { timestamp });
    });
  }

  /**
   * Reads a bounded range of one partition without joining a consumer group (nothing is committed,
   * no group appears on the broker). Only committed records are returned. `KAFKA_UNKNOWN_TOPIC` if
   * the topic does not exist, `KAFKA_INVALID_OFFSETS` for a missing partition or a start past the end.
   */
  async peek(topic: string, options: PeekOptions): Promise<PeekResult> {
    assertTopic(topic);
    validatePeekOptions(options);
    const admin = await this.#ready();
    return this.#run('peek', topic, async () => {
      await this.#assertExists(admin, [topic]);
      const peek = peekPartition(admin, topic, options);
      // close() lets running peeks finish: a fetch after the disconnect would open a new connection.
      this.#peeks.add(peek);
      try {
        return await peek;
      } finally {
        this.#peeks.delete(peek);
      }
    });
  }

  /** A group's state, assignor and members (client id, host, assigned partitions); `KAFKA_UNKNOWN_GROUP` if none. */
  async describeGroup(groupId: string): Promise<ConsumerGroupDescription> {
    assertGroup(groupId);
    const admin = await this.#ready();
    return this.#run('describeGroup', undefined, () => describeGroup(admin, groupId));
  }

  /**
   * Deletes a consumer group and its committed offsets. `KAFKA_UNKNOWN_GROUP` when it does not
   * exist, `KAFKA_GROUP_NOT_EMPTY` while it has members.
   */
  async deleteGroup(groupId: string): Promise<void> {
    assertGroup(groupId);
    const admin = await this.#ready();
    return this.#run('deleteGroup', undefined, () => deleteGroup(admin, groupId));
  }

  /** Every consumer group the cluster knows, with state and member count. */
  async listGroups(): Promise<ConsumerGroupInfo[]> {
    const admin = await this.#ready();
    return this.#run('listGroups', undefined, async () => {
      const groups = await admin.listGroups();
      if (groups.length === 0) return [];
      const described = await admin.describeGroups(groups.map((g) => g.groupId));
      const byId = new Map(described.map((g) => [g.groupId, g]));
      return groups
        .map((g) => ({
          groupId: g.groupId,
          protocolType: g.protocolType,
          state: byId.get(g.groupId)?.state ?? 'Unknown',
          members: byId.get(g.groupId)?.members.length ?? 0,
        }))
        .sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
    });
  }

  /**
   * Moves `groupId`'s committed offsets on `topic` to the earliest or latest offset, to the first
   * offset at/after a timestamp (the end when there is none), or to explicit offsets of some
   * partitions (`KAFKA_INVALID_OFFSETS` when one is outside its partition's range). The group must
   * have no active members: otherwise `KAFKA_GROUP_NOT_EMPTY`.
   */
  async resetOffsets(groupId: string, topic: string, options: { to: ResetTarget }): Promise<ResetOffsetsResult> {
    assertGroup(groupId);
    assertTopic(topic);
    const to = options?.to;
    validateResetTarget(to);
    const admin = await this.#ready();
    return this.#run('resetOffsets', topic, async () => {
      await this.#assertExists(admin, [topic]);
      const groups = await admin.describeGroups([groupId]);
      const state = groups[0]?.state ?? 'Dead';
      if (ACTIVE_STATES.has(state) || (groups[0]?.members.length ?? 0) > 0) {
        throw new KafkaTransportError(
          `Cannot reset offsets of group "${groupId}": it has active members (state ${state}); stop them first`,
          { code: KafkaErrorCode.GROUP_NOT_EMPTY },
        );
      }
      const partitions = await resolveResetTarget(admin, topic, to);
      await admin.commitOffsets(groupId, topic, partitions);
      return { partitions: [...partitions].sort((a, b) => a.partition - b.partition) };
    });
  }

  /** Deletes the topics that exist; returns the names it deleted. */
  async deleteTopics(names: readonly string[]): Promise<string[]> {
    for (const name of names) assertTopic(name);
    const admin = await this.#ready();
    return this.#run('deleteTopics', undefined, async () => {
      const known = new Set(await admin.listTopics());
      const present = names.filter((n) => known.has(n));
      if (present.length > 0) await admin.deleteTopics(present);
      return present;
    });
  }

  /** Disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Running peeks finish first: a fetch after the disconnect would open a new connection.
    await Promise.allSettled([this.#connecting, ...this.#peeks]);
    if (this.#connected) {
      this.#connected = false;
      await this.#admin.disconnect();
    }
  }

  /** Same as {@link KafkaAdmin.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #ready(): Promise<AdminDriver> {
    if (this.#closed) throw new ClosedError('KafkaAdmin');
    if (!this.#connected) {
      this.#connecting ??= this.#admin
        .connect()
        .then(() => {
          this.#connected = true;
        })
        .catch((error: unknown) => {
          throw toKafkaError(error, { operation: 'admin connect', secrets: this.#secrets });
        })
        .finally(() => {
          this.#connecting = undefined;
        });
      await this.#connecting;
    }
    return this.#admin;
  }

  async #assertExists(admin: AdminDriver, topics: readonly string[]): Promise<void> {
    const known = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !known.has(t));
    if (missing.length > 0) {
      throw new KafkaTransportError(`Topic(s) do not exist: ${missing.map((t) => `"${t}"`).join(', ')}`, {
        code: KafkaErrorCode.UNKNOWN_TOPIC,
        topic: missing[0]!,
      });
    }
  }

  async #run<T>(operation: string, topic: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toKafkaError(error, {
        operation,
        ...(topic === undefined ? {} : { topic }),
        secrets: this.#secrets,
      }) as BusError;
    }
  }
}

/** How long {@link KafkaAdmin.ensureTopics} waits for the leaders of topics it created. */
const LEADERS_TIMEOUT_MS = 30_000;
const TRANSIENT_METADATA_ERRORS = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  // kafkajs's name, then the protocol's current one (@platformatic/kafka's).
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
]);

/**
 * Waits until every partition of the just created `topics` has a leader that serves its log. Right
 * after creation a broker whose metadata still lags the controller answers
 * UNKNOWN_TOPIC_OR_PARTITION (seen on the shared test broker under load); kafkajs' own wait retries
 * only LEADER_NOT_AVAILABLE and failed. Metadata names a leader before that leader serves the
 * partition: a produce then is refused for some partitions, and kafkajs resends the whole request,
 * writing the others twice. So the wait ends only once every leader answers ListOffsets.
 */
async function waitForLeaders(admin: AdminDriver, topics: readonly string[]): Promise<void> {
  const deadline = Date.now() + LEADERS_TIMEOUT_MS;
  for (;;) {
    try {
      const metadata = await admin.topicMetadata(topics);
      const led = metadata.filter((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (led.length === topics.length) {
        for (const topic of topics) await admin.watermarks(topic);
        return;
      }
    } catch (error) {
      if (!TRANSIENT_METADATA_ERRORS.has(kafkaErrorName(error))) throw error;
    }
    if (Date.now() >= deadline) {
      throw new KafkaTransportError(`Created topics got no leaders within ${LEADERS_TIMEOUT_MS} ms`, {
        code: KafkaErrorCode.TIMEOUT,
        isRetryable: true,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function assertTopic(name: unknown): void {
  const problem = topicNameProblem(name);
  if (problem !== undefined) {
    throw new KafkaTransportError(`Invalid topic: ${problem}`, { code: KafkaErrorCode.INVALID_TOPIC });
  }
}

function assertGroup(groupId: unknown): void {
  if (typeof groupId !== 'string' || groupId === '') {
    new ConfigIssues('KafkaAdmin').add('groupId', 'must be a non-empty string').throwIfAny();
  }
}

function validateSpecs(specs: readonly TopicSpec[]): void {
  const issues = new ConfigIssues('ensureTopics');
  if (!Array.isArray(specs)) {
    issues.add('topics', 'must be an array of { name, partitions }').throwIfAny();
  }
  const seen = new Set<string>();
  specs.forEach((spec, i) => {
    const problem = topicNameProblem(spec?.name);
    if (problem !== undefined) issues.add(`[${i}].name`, problem);
    else if (seen.has(spec.name)) issues.add(`[${i}].name`, 'is listed twice');
    else seen.add(spec.name);
    issues.require(spec?.partitions !== undefined, `[${i}].partitions`, 'is required');
    issues.integer(spec?.partitions, `[${i}].partitions`, { min: 1, max: 100_000 });
    issues.integer(spec?.replicationFactor, `[${i}].replicationFactor`, { min: 1, max: 1_000 });
    for (const [name, value] of Object.entries(spec?.configs ?? {})) {
      if (typeof value !== 'string') issues.add(`[${i}].configs.${name}`, 'must be a string');
    }
  });
  issues.throwIfAny();
}
