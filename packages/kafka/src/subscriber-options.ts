import { ConfigIssues } from '@bus/core';
import type { KafkaConnectionOptions } from './connection.js';
import { type KafkaDriverName, validateConnectionOptions } from './connection.js';
import type { KafkaPartitionAssignor } from './partition-assignors.js';
import { DEFAULT_PARTITION_ASSIGNORS, KAFKA_PARTITION_ASSIGNORS } from './partition-assignors.js';

/**
 * When consumed offsets are committed.
 * - `on-ack` (default): each partition's contiguous acked prefix, batched: `intervalMs` (default 100)
 *   after the first uncommitted ack or after `everyAcks` acks (default 10000), whichever comes first,
 *   and on rebalance and close. (Commits share the broker connection with fetches, so committing
 *   every few hundred messages halves throughput; the interval bounds redelivery after a crash.)
 * - `auto`: the same prefix, on a slower schedule: every `intervalMs` (default 5000) and, when set,
 *   every `everyMessages` acks. Fewer commit requests, more redeliveries after a crash. Unlike
 *   kafkajs' own auto-commit it never commits a fetched but unprocessed message.
 * - `manual`: never commits; offsets are committed by a transaction (`sendOffsets`) or by you.
 */
export type KafkaCommitOptions =
  | { mode: 'on-ack'; everyAcks?: number; intervalMs?: number }
  | { mode: 'auto'; intervalMs?: number; everyMessages?: number }
  | { mode: 'manual' };

/** Options of {@link KafkaSubscriber}: how to connect, plus consumer-group settings. */
export interface KafkaSubscriberOptions extends KafkaConnectionOptions {
  /** Consumer group of subscriptions that pass no `group`. Without it, `subscribe` needs `{ group }`. */
  groupId?: string;
  /** Where a group without committed offsets starts: `earliest` (default) or `latest`. */
  autoOffsetReset?: 'earliest' | 'latest';
  /** Alias of `autoOffsetReset`: `true` is `earliest`, `false` is `latest`. */
  fromBeginning?: boolean;
  /** A member that sends no heartbeat for this long is removed from the group. Default 30000. */
  sessionTimeoutMs?: number;
  /** How often members heartbeat; must be below `sessionTimeoutMs`. Default 3000. */
  heartbeatIntervalMs?: number;
  /** How long the group waits for members to rejoin during a rebalance. Default 60000. */
  rebalanceTimeoutMs?: number;
  /**
   * Most records of one partition held by one member at a time: waiting, in flight, or acked
   * behind an unsettled one. At the limit that partition's fetching pauses (resuming at half),
   * so a stuck partition cannot take the whole budget. Default 5000.
   */
  maxInFlightPerPartition?: number;
  /**
   * Most records held by one subscription over all its partitions. At the limit kafkajs waits
   * (heartbeating) before fetching more. Default 10000. A loop that keeps messages unacked while
   * it waits for more (batching) must stay below this and `maxInFlightBytes`, or it waits forever.
   */
  maxInFlight?: number;
  /**
   * Most bytes held by one subscription, like `maxInFlight` but for memory with large messages:
   * keys, values and header values (copied out of kafkajs' fetch responses, so a held record pins
   * nothing else) plus 128 bytes per record and 16 per header for its objects. A single record larger than this still
   * gets through. Default 64 MiB.
   */
  maxInFlightBytes?: number;
  /** When offsets are committed. Default `{ mode: 'on-ack' }`. */
  commit?: KafkaCommitOptions;
  /** `read_committed` (default) hides records of aborted and open transactions. */
  isolationLevel?: 'read_committed' | 'read_uncommitted';
  /** Header that carries the message id. Default `bus-message-id`, as `KafkaPublisher` writes it. */
  messageIdHeader?: string;
  /** Longest a fetch waits on the broker for new records, in milliseconds. Default 200. */
  fetchMaxWaitMs?: number;
  /** Most bytes one fetch returns per partition (a larger first record batch still comes whole). Default 1 MiB. */
  fetchMaxBytesPerPartition?: number;
  /** Deadline of the final commit and of leaving the group when a subscription ends. Default 10000. */
  closeTimeoutMs?: number;
  /** Let the broker auto-create a topic that is subscribed to and does not exist (when it allows). Default `true`. */
  allowAutoTopicCreation?: boolean;
  /**
   * How long subscribing waits for a missing topic to appear (auto-created, or created by someone
   * else) before failing with `KAFKA_UNKNOWN_TOPIC`. Default 10000; 0 fails at once.
   */
  topicWaitMs?: number;
  /**
   * Partition assignment strategies this member offers its group, most preferred first (see
   * {@link KafkaPartitionAssignor}). Every member of a group must offer one strategy in common;
   * Java and librdkafka consumers call the setting `partition.assignment.strategy`.
   * Default `['range', 'roundrobin', 'RoundRobinAssigner']`.
   */
  partitionAssignors?: readonly KafkaPartitionAssignor[];
  /**
   * The consumer group protocol: `'classic'` (JoinGroup/SyncGroup, every client) or `'consumer'`
   * (KIP-848: the broker assigns partitions incrementally; Kafka 4.0+ brokers). `'consumer'` needs
   * `driver: 'platformatic'` (kafkajs speaks only the classic protocol); the broker then owns the
   * session timeout, heartbeat interval and assignor, so those options cannot be set with it.
   * Default `'classic'`.
   */
  groupProtocol?: 'classic' | 'consumer';
}

/** The header `KafkaPublisher` writes the message id to by default. */
export const DEFAULT_MESSAGE_ID_HEADER = 'bus-message-id';

/**
 * The CloudEvents id in Kafka binary mode. A record without the id header takes its id from here, so
 * a CloudEvent whose id is the message id (as `@bus/cqrs` writes them) carries it once, not twice.
 */
export const CLOUDEVENTS_ID_HEADER = 'ce_id';

/** Header a producer may set (any value) to say the record key is binary, not text. */
export const BINARY_KEY_HEADER = 'bus-key-binary';

/** Subscriber options with every default applied. */
export interface ResolvedSubscriberOptions {
  readonly driver: KafkaDriverName;
  readonly groupId: string | undefined;
  readonly fromBeginning: boolean;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly maxInFlightPerPartition: number;
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  readonly commit: {
    mode: 'on-ack' | 'auto' | 'manual';
    everyAcks: number | undefined;
    intervalMs: number | undefined;
  };
  readonly readUncommitted: boolean;
  readonly messageIdHeader: string;
  readonly fetchMaxWaitMs: number;
  readonly fetchMaxBytesPerPartition: number;
  readonly closeTimeoutMs: number;
  readonly allowAutoTopicCreation: boolean;
  readonly topicWaitMs: number;
  readonly partitionAssignors: readonly KafkaPartitionAssignor[];
  readonly groupProtocol: 'classic' | 'consumer';
}

function resolveCommit(commit: unknown, issues: ConfigIssues): ResolvedSubscriberOptions['commit'] {
  if (commit === undefined) return { mode: 'on-ack', everyAcks: 10_000, intervalMs: 100 };
  if (typeof commit !== 'object' || commit === null) {
    issues.add('commit', 'must be an object with a mode');
    return { mode: 'on-ack', everyAcks: 10_000, intervalMs: 100 };
  }
  const c = commit as Record<string, unknown>;
  issues.oneOf(c.mode, 'commit.mode', ['on-ack', 'auto', 'manual']);
  if (c.mode === undefined) issues.add('commit.mode', 'is required: "on-ack", "auto" or "manual"');
  issues.integer(c.intervalMs, 'commit.intervalMs', { min: 1, max: 3_600_000 });
  if (c.mode === 'auto') {
    issues.integer(c.everyMessages, 'commit.everyMessages', { min: 1, max: 1_000_000 });
    return {
      mode: 'auto',
      everyAcks: c.everyMessages as number | undefined,
      intervalMs: (c.intervalMs as number | undefined) ?? 5_000,
    };
  }
  if (c.mode === 'manual') return { mode: 'manual', everyAcks: undefined, intervalMs: undefined };
  issues.integer(c.everyAcks, 'commit.everyAcks', { min: 1, max: 1_000_000 });
  return {
    mode: 'on-ack',
    everyAcks: (c.everyAcks as number | undefined) ?? 10_000,
    intervalMs: (c.intervalMs as number | undefined) ?? 100,
  };
}

/** Applies defaults, then validates everything, throwing one `ConfigError` that lists every problem. */
export function resolveSubscriberOptions(options: KafkaSubscriberOptions): ResolvedSubscriberOptions {
  const issues = new ConfigIssues('KafkaSubscriber');
  if (typeof options !== 'object' || options === null) {
    issues.add('options', 'must be an object with at least `brokers`');
    issues.throwIfAny();
  }
  validateConnectionOptions(options, issues);
  const o = options as unknown as Record<string, unknown>;
  if (o.groupId !== undefined && (typeof o.groupId !== 'string' || o.groupId === '')) {
    issues.add('groupId', 'must be a non-empty string');
  }
  issues.oneOf(o.autoOffsetReset, 'autoOffsetReset', ['earliest', 'latest']);
  if (o.fromBeginning !== undefined && typeof o.fromBeginning !== 'boolean') {
    issues.add('fromBeginning', 'must be a boolean');
  }
  if (
    typeof o.fromBeginning === 'boolean' &&
    o.autoOffsetReset !== undefined &&
    o.fromBeginning !== (o.autoOffsetReset === 'earliest')
  ) {
    issues.add('fromBeginning', 'contradicts autoOffsetReset; set only one of them');
  }
  const resolved: ResolvedSubscriberOptions = {
    groupId: options.groupId,
    fromBeginning:
      options.autoOffsetReset !== undefined ? options.autoOffsetReset === 'earliest' : options.fromBeginning !== false,
    sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 3_000,
    rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
    maxInFlightPerPartition: options.maxInFlightPerPartition ?? 5_000,
    maxInFlight: options.maxInFlight ?? 10_000,
    maxInFlightBytes: options.maxInFlightBytes ?? 64 * 1024 * 1024,
    commit: resolveCommit(o.commit, issues),
    readUncommitted: options.isolationLevel === 'read_uncommitted',
    messageIdHeader: options.messageIdHeader ?? DEFAULT_MESSAGE_ID_HEADER,
    fetchMaxWaitMs: options.fetchMaxWaitMs ?? 200,
    fetchMaxBytesPerPartition: options.fetchMaxBytesPerPartition ?? 1024 * 1024,
    closeTimeoutMs: options.closeTimeoutMs ?? 10_000,
    allowAutoTopicCreation: options.allowAutoTopicCreation ?? true,
    topicWaitMs: options.topicWaitMs ?? 10_000,
    partitionAssignors: options.partitionAssignors ?? DEFAULT_PARTITION_ASSIGNORS,
    driver: options.driver ?? 'kafkajs',
    groupProtocol: options.groupProtocol ?? 'classic',
  };
  issues.integer(o.sessionTimeoutMs, 'sessionTimeoutMs', { min: 1, max: 3_600_000 });
  issues.integer(o.heartbeatIntervalMs, 'heartbeatIntervalMs', { min: 1, max: 3_600_000 });
  issues.integer(o.rebalanceTimeoutMs, 'rebalanceTimeoutMs', { min: 1, max: 3_600_000 });
  if (
    Number.isFinite(resolved.heartbeatIntervalMs) &&
    Number.isFinite(resolved.sessionTimeoutMs) &&
    resolved.heartbeatIntervalMs >= resolved.sessionTimeoutMs
  ) {
    issues.add('heartbeatIntervalMs', 'must be lower than sessionTimeoutMs (about a third of it is recommended)');
  }
  issues.integer(o.maxInFlightPerPartition, 'maxInFlightPerPartition', { min: 1, max: 10_000_000 });
  issues.integer(o.maxInFlight, 'maxInFlight', { min: 1, max: 100_000_000 });
  issues.integer(o.maxInFlightBytes, 'maxInFlightBytes', { min: 1, max: Number.MAX_SAFE_INTEGER });
  issues.oneOf(o.isolationLevel, 'isolationLevel', ['read_committed', 'read_uncommitted']);
  if (o.messageIdHeader !== undefined && (typeof o.messageIdHeader !== 'string' || o.messageIdHeader === '')) {
    issues.add('messageIdHeader', 'must be a non-empty string');
  }
  issues.integer(o.fetchMaxWaitMs, 'fetchMaxWaitMs', { min: 1, max: 60_000 });
  issues.integer(o.fetchMaxBytesPerPartition, 'fetchMaxBytesPerPartition', { min: 1_024, max: 1_073_741_824 });
  issues.integer(o.closeTimeoutMs, 'closeTimeoutMs', { min: 1, max: 3_600_000 });
  if (o.allowAutoTopicCreation !== undefined && typeof o.allowAutoTopicCreation !== 'boolean') {
    issues.add('allowAutoTopicCreation', 'must be a boolean');
  }
  issues.integer(o.topicWaitMs, 'topicWaitMs', { min: 0, max: 3_600_000 });
  validatePartitionAssignors(o.partitionAssignors, issues);
  issues.oneOf(o.groupProtocol, 'groupProtocol', ['classic', 'consumer']);
  if (o.groupProtocol === 'consumer') {
    if (o.driver !== 'platformatic') {
      issues.add(
        'groupProtocol',
        '"consumer" (KIP-848) needs driver "platformatic": kafkajs speaks only the classic protocol',
      );
    }
    for (const brokerOwned of ['sessionTimeoutMs', 'heartbeatIntervalMs', 'partitionAssignors'] as const) {
      if (o[brokerOwned] !== undefined) issues.add(brokerOwned, 'is set by the broker with groupProtocol "consumer"');
    }
  }
  if (o.driver === 'platformatic' && o.partitionAssignors !== undefined && o.groupProtocol !== 'consumer') {
    issues.add(
      'partitionAssignors',
      'cannot be chosen on driver "platformatic" yet (it offers its own roundrobin assignor)',
    );
  }
  issues.throwIfAny();
  return resolved;
}

function validatePartitionAssignors(value: unknown, issues: ConfigIssues): void {
  if (value === undefined) return;
  const known = `one or more of ${KAFKA_PARTITION_ASSIGNORS.map((name) => `"${name}"`).join(', ')}`;
  if (!Array.isArray(value) || value.length === 0) {
    issues.add('partitionAssignors', `must be a non-empty array of ${known}`);
    return;
  }
  value.forEach((name, index) => {
    if (!(KAFKA_PARTITION_ASSIGNORS as readonly unknown[]).includes(name)) {
      issues.add(`partitionAssignors[${index}]`, `must be ${known.replace('one or more of', 'one of')}`);
    } else if (value.indexOf(name) !== index) {
      issues.add(`partitionAssignors[${index}]`, `repeats "${name}"`);
    }
  });
}
