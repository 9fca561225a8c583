import type * as Platformatic from '@platformatic/kafka';
import type {
  AdminDriver,
  DriverCommittedTopic,
  DriverGroup,
  DriverGroupListing,
  DriverNewTopic,
  DriverPartitionFetch,
  DriverPartitionOffset,
  DriverTopicMetadata,
  DriverWatermarks,
} from './admin-driver.js';
import { kafkaErrorName } from './admin-driver.js';
import { retryStaleLeader } from '../partition-peek.js';
import { type PlatformaticOptions, RETRY_POLICY } from './platformatic-config.js';
import { loadPlatformatic } from './platformatic-driver.js';
import { connectWithRetry } from './platformatic-errors.js';
import { fetchCommitted, LONGEST_FETCH_WAIT_MS } from './platformatic-fetch.js';

type PlatformaticAdminClient = Platformatic.Admin;

const TOPIC_RESOURCE = 2;
const EARLIEST = -2n;
const LATEST = -1n;

/**
 * Admin operations on @platformatic/kafka: its Admin client, and a second client whose connections
 * carry only group-less fetches (a broker answers one connection's requests in order, so a fetch
 * waiting for records would hold the admin requests behind it; kafkajs keeps fetches on their own
 * connection too).
 */
export class PlatformaticAdmin implements AdminDriver {
  readonly #options: PlatformaticOptions;
  #module: typeof Platformatic | undefined;
  #admin: PlatformaticAdminClient | undefined;
  #fetcher: PlatformaticAdminClient | undefined;

  /** `options` were validated by the caller (`PlatformaticDriver.validate`). */
  constructor(options: PlatformaticOptions) {
    this.#options = options;
  }

  async connect(): Promise<void> {
    const platformatic = await loadPlatformatic();
    this.#module = platformatic;
    const admin = new platformatic.Admin({ ...this.#options, autocreateTopics: false });
    this.#admin = admin;
    // A fetch may wait up to LONGEST_FETCH_WAIT_MS for records: its request deadline adds that.
    const requestTimeout = (this.#options.requestTimeout ?? 30_000) + LONGEST_FETCH_WAIT_MS;
    this.#fetcher = new platformatic.Admin({ ...this.#options, autocreateTopics: false, requestTimeout });
    // Reaches a broker (TLS, SASL) now, so a wrong password fails the connect, not the first call.
    const { retries, delay } = this.#options[RETRY_POLICY];
    await connectWithRetry(
      () => admin.metadata({ topics: [], retries: 0 }),
      retries,
      delay,
      () => this.#admin !== admin,
    );
  }

  async disconnect(): Promise<void> {
    const clients = [this.#admin, this.#fetcher];
    this.#admin = undefined;
    this.#fetcher = undefined;
    await Promise.all(clients.map((client) => client?.close().catch(() => {})));
  }

  listTopics(): Promise<string[]> {
    return this.#client().listTopics({ includeInternals: true });
  }

  async topicMetadata(topics?: readonly string[]): Promise<DriverTopicMetadata[]> {
    const names = topics ?? (await this.listTopics());
    if (names.length === 0) return [];
    const metadata = await this.#client().metadata({ topics: [...names], forceUpdate: true });
    return names.flatMap((name) => {
      const topic = metadata.topics.get(name);
      if (topic === undefined) return [];
      const partitions = topic.partitions.map((p, partition) => ({
        partition,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
      }));
      return [{ name, partitions }];
    });
  }

  async createTopics(topics: readonly DriverNewTopic[]): Promise<void> {
    const admin = this.#client();
    // One request per topic: this client applies one set of configs to all topics of a request.
    await Promise.all(
      topics.map((t) =>
        admin.createTopics({
          topics: [t.name],
          partitions: t.partitions,
          replicas: t.replicationFactor,
          configs: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        }),
      ),
    );
  }

  deleteTopics(names: readonly string[]): Promise<void> {
    return this.#client().deleteTopics({ topics: [...names] });
  }

  async topicConfigs(topic: string): Promise<Record<string, string>> {
    const described = await this.#client().describeConfigs({
      resources: [{ resourceType: TOPIC_RESOURCE, resourceName: topic }],
      includeSynonyms: false,
    });
    const entries: Record<string, string> = {};
    for (const config of described[0]?.configs ?? []) {
      if (!config.isSensitive && typeof config.value === 'string') entries[config.name] = config.value;
    }
    return entries;
  }

  async watermarks(topic: string): Promise<DriverWatermarks[]> {
    const [low, high] = await Promise.all([this.#offsets(topic, EARLIEST), this.#offsets(topic, LATEST)]);
    return [...high].map(([partition, offset]) => ({ partition, low: low.get(partition) ?? 0, high: offset }));
  }

  async offsetsAtTime(topic: string, timestamp: number): Promise<DriverPartitionOffset[]> {
    const [found, high] = await Promise.all([this.#offsets(topic, BigInt(timestamp)), this.#offsets(topic, LATEST)]);
    // No record at or after the timestamp: the broker answers -1, which stands for the end.
    return [...found].map(([partition, offset]) => ({
      partition,
      offset: offset < 0 ? (high.get(partition) ?? 0) : offset,
    }));
  }

  async committedOffsets(groupId: string, topics?: readonly string[]): Promise<DriverCommittedTopic[]> {
    const admin = this.#client();
    let request: Parameters<PlatformaticAdminClient['listConsumerGroupOffsets']>[0]['groups'][number] = groupId;
    if (topics !== undefined) {
      const metadata = await this.topicMetadata(topics);
      request = {
        groupId,
        topics: metadata.map((t) => ({ name: t.name, partitionIndexes: t.partitions.map((p) => p.partition) })),
      };
    }
    const [group] = await admin.listConsumerGroupOffsets({ groups: [request] });
    const committed = (group?.topics ?? []).map((t) => ({
      topic: t.name,
      partitions: t.partitions.map((p) => ({ partition: p.partitionIndex, offset: Number(p.committedOffset) })),
    }));
    // As on kafkajs: a listed topic the group never committed to is there, with no offsets.
    for (const topic of topics ?? []) {
      if (!committed.some((t) => t.topic === topic)) committed.push({ topic, partitions: [] });
    }
    return committed;
  }

  async listGroups(): Promise<DriverGroupListing[]> {
    const groups = await this.#client().listGroups();
    return [...groups.values()].map((g) => ({ groupId: g.id, protocolType: g.protocolType }));
  }

  async describeGroups(groupIds: readonly string[]): Promise<DriverGroup[]> {
    let groups: Map<string, Platformatic.Group>;
    try {
      groups = await this.#client().describeGroups({ groups: [...groupIds] });
    } catch (error) {
      // Newer brokers refuse an unknown group where older ones described it as Dead.
      if (kafkaErrorName(error) !== 'GROUP_ID_NOT_FOUND') throw error;
      groups = new Map();
    }
    return groupIds.map((groupId) => {
      const group = groups.get(groupId);
      if (group === undefined) return { groupId, state: 'Dead', protocolType: '', protocol: '', members: [] };
      return {
        groupId,
        state: group.state,
        protocolType: group.protocolType,
        protocol: group.protocol,
        members: [...group.members.values()].map((m) => ({
          memberId: m.id,
          clientId: m.clientId,
          clientHost: m.clientHost,
          assignment: [...(m.assignments?.values() ?? [])].map((a) => ({ topic: a.topic, partitions: a.partitions })),
        })),
      };
    });
  }

  deleteGroup(groupId: string): Promise<void> {
    return this.#client().deleteGroups({ groups: [groupId] });
  }

  commitOffsets(groupId: string, topic: string, offsets: readonly DriverPartitionOffset[]): Promise<void> {
    // Kafka's AlterConsumerGroupOffsets path: an offset commit outside any generation, which the
    // coordinator accepts for a group without members; no join needed.
    return this.#client().alterConsumerGroupOffsets({
      groupId,
      topics: [
        { name: topic, partitionOffsets: offsets.map((o) => ({ partition: o.partition, offset: BigInt(o.offset) })) },
      ],
    });
  }

  async deleteRecords(topic: string, offsets: readonly DriverPartitionOffset[]): Promise<void> {
    await this.#client().deleteRecords({
      topics: [{ name: topic, partitions: offsets.map((o) => ({ partition: o.partition, offset: BigInt(o.offset) })) }],
    });
  }

  fetchPartition(topic: string, partition: number, offset: number, maxWaitMs: number): Promise<DriverPartitionFetch> {
    const fetcher = this.#fetcher;
    if (fetcher === undefined || this.#module === undefined) return Promise.reject(notConnected());
    const platformatic = this.#module;
    return this.retryStaleLeader(() => fetchCommitted(platformatic, fetcher, { topic, partition, offset, maxWaitMs }));
  }

  retryStaleLeader<T>(request: () => Promise<T>): Promise<T> {
    return retryStaleLeader(async () => {
      // Both clients look the leaders up again on their next request.
      this.#admin?.clearMetadata();
      this.#fetcher?.clearMetadata();
    }, request);
  }

  /** Offsets of every partition of `topic` at `timestamp` (-2 earliest, -1 latest), read-uncommitted. */
  async #offsets(topic: string, timestamp: bigint): Promise<Map<number, number>> {
    const admin = this.#client();
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const partitions = Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp }));
    const listed = await admin.listOffsets({ topics: [{ name: topic, partitions }] });
    const offsets = new Map<number, number>();
    for (const p of listed.find((t) => t.name === topic)?.partitions ?? [])
      offsets.set(p.partitionIndex, Number(p.offset));
    return offsets;
  }

  #client(): PlatformaticAdminClient {
    if (this.#admin === undefined) throw notConnected();
    return this.#admin;
  }
}

function notConnected(): Error {
  return new Error('admin client is not connected');
}
