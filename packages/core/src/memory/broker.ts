import { ConfigIssues } from '../config.js';
import { ConfigError } from '../errors.js';
import { MemoryCore } from '../internal/memory-core.js';
import { topicNameProblem } from '../validation.js';
import { partitionForKey } from '../internal/memory-murmur2.js';
import { MemoryDeadLetterQueue } from '../internal/memory-dead-letter-queue.js';
import { MemoryPublisher } from '../internal/memory-publisher.js';
import type { DeadLetterQueue } from '../middleware/dead-letter-queue.js';
import { MemorySubscriber } from '../internal/memory-subscriber.js';
import type { Publisher, Subscriber } from '../pubsub.js';
import { MAX_PARTITIONS, type MemoryBrokerOptions, resolveMemoryOptions } from './options.js';

/** Options of {@link MemoryBroker.subscriber}. */
export interface MemorySubscriberOptions {
  /**
   * Group of subscriptions that pass none in `subscribe()`. Without either, every subscription
   * is a group of its own that reads the topic from its earliest retained message.
   */
  group?: string;
}

/** Offsets of one partition, as {@link MemoryBroker.describeTopic} reports them. */
export interface MemoryPartitionOffsets {
  /** Oldest retained offset. */
  readonly start: number;
  /** Offset the next message gets. */
  readonly end: number;
}

/**
 * An in-process message broker with Kafka's semantics, for tests and single-process apps:
 * topics of N partitions (keys placed with Kafka's murmur2 partitioner, keyless messages
 * round-robin), retention, consumer groups with committed offsets, and at-least-once delivery.
 *
 * - Groups: subscriptions of one group share the partitions (partition p goes to member p mod n,
 *   in join order); different groups each get every message. A new group starts at the earliest
 *   retained offset. Each iteration of a subscription is one member; it joins on the first `next()`.
 * - Commit: a group's offset on a partition advances over the contiguous prefix of acked
 *   messages only. When a member leaves (loop ended, signal aborted, subscriber closed) or a
 *   partition moves to another member, delivery restarts at the committed offset, so anything
 *   not committed (even acked past a gap) is delivered again, as Kafka does after a rebalance.
 *   A partition moves to a joining member once the old owner has settled what it holds, or
 *   after `rebalanceTimeoutMs` (its unsettled messages then go to the new owner).
 * - Nack: seeks the partition back to the nacked offset (after `delayMs`, during which that
 *   partition delivers nothing), so later messages of the same key never overtake it; messages
 *   after it are delivered again unless already acked or still held. `deliveryAttempt` counts
 *   deliveries of an offset within the group.
 * - Ordering: per partition, hence per key.
 * - Backpressure: a member holds at most `maxInFlight` unsettled messages; nothing is
 *   prefetched. Publishing never blocks: memory is bounded by retention instead.
 * - A message delivered to a member that has since lost its partition can no longer be
 *   settled: `ack()`/`nack()` return `false` and it is delivered again to the new owner.
 *
 * Limits: one process only, nothing survives the process (no durability), retention is held
 * in memory, and there are no transactions or compaction.
 *
 * @example
 * await using broker = new MemoryBroker({ defaultPartitions: 4 });
 * const publisher = broker.publisher();
 * await publisher.publish('orders', textMessage('hello', { key: 'order-1' }));
 * for await (const message of broker.subscriber().subscribe('orders', { group: 'billing' })) {
 *   message.ack();
 * }
 */
export class MemoryBroker implements AsyncDisposable {
  readonly #core: MemoryCore;

  /** @throws ConfigError listing every invalid option. */
  constructor(options: MemoryBrokerOptions = {}) {
    this.#core = new MemoryCore(resolveMemoryOptions(options));
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#core.closed;
  }

  /**
   * Creates a topic with `partitions` partitions (default: `defaultPartitions`). Publishing or
   * subscribing creates missing topics with the default, so call this first for other counts.
   * Idempotent for the same count.
   *
   * @throws ConfigError for an invalid name or count, or an existing topic with another count.
   */
  createTopic(name: string, options: { partitions?: number } = {}): void {
    const partitions = options.partitions ?? this.#core.options.defaultPartitions;
    const issues = new ConfigIssues('topic');
    const nameProblem = topicNameProblem(name);
    if (nameProblem !== undefined) issues.add('name', nameProblem);
    issues.integer(partitions, 'partitions', { min: 1, max: MAX_PARTITIONS });
    issues.throwIfAny();
    const existing = this.#core.findTopic(name);
    if (existing !== undefined && existing.logs.length !== partitions) {
      throw new ConfigError('topic', [
        { path: 'partitions', message: `topic "${name}" already exists with ${existing.logs.length} partitions` },
      ]);
    }
    this.#core.topic(name, partitions);
  }

  /** A new publisher. `close()` on it is cheap; closing the broker closes it too. */
  publisher(): Publisher {
    return new MemoryPublisher(this.#core);
  }

  /**
   * A new subscriber. Every iteration of one of its subscriptions is a group member.
   *
   * @throws ConfigError when `options.group` is not a non-empty string.
   */
  subscriber(options: MemorySubscriberOptions = {}): Subscriber {
    const group: unknown = options.group;
    if (group !== undefined && (typeof group !== 'string' || group.length === 0)) {
      throw new ConfigError('MemoryBroker.subscriber', [{ path: 'group', message: 'must be a non-empty string' }]);
    }
    return new MemorySubscriber(this.#core, options.group);
  }

  /**
   * The dead-letter queue held in `topic` (where a `deadLetter` middleware publishes): list,
   * count, replay to the original topics, purge. Purging drops the held letters as Kafka's
   * DeleteRecords does: groups reading the topic skip them.
   *
   * @throws ConfigError for an invalid topic name.
   */
  deadLetterQueue(topic: string): DeadLetterQueue {
    const problem = topicNameProblem(topic);
    if (problem !== undefined)
      throw new ConfigError('MemoryBroker.deadLetterQueue', [{ path: 'topic', message: problem }]);
    return new MemoryDeadLetterQueue(this.#core, topic);
  }

  /** Offsets of each partition of `topic`, or undefined when the topic does not exist. */
  describeTopic(topic: string): readonly MemoryPartitionOffsets[] | undefined {
    return this.#core.findTopic(topic)?.logs.map((log) => ({ start: log.start, end: log.end }));
  }

  /**
   * The committed offset of `group` on each partition of `topic` (the next offset it will read),
   * or undefined when the group never subscribed to it.
   */
  committedOffsets(topic: string, group: string): readonly number[] | undefined {
    return this.#core
      .findTopic(topic)
      ?.findGroup(group)
      ?.cursors.map((cursor) => cursor.committed);
  }

  /** Closes every publisher and subscriber of this broker. Idempotent. */
  close(): Promise<void> {
    return this.#core.close();
  }

  /** Closes the broker, so `await using` works; same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * The partition Kafka's default partitioner picks for `key` among `partitions`:
 * `toPositive(murmur2(utf8(key))) % partitions`. The in-memory broker uses it too.
 */
export function kafkaPartitionForKey(key: string | Uint8Array, partitions: number): number {
  return partitionForKey(key, partitions);
}
