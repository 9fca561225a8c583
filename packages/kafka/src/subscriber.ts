import {
  ClosedError,
  ConfigIssues,
  type Logger,
  noopLogger,
  type ReceivedMessage,
  SPEC_VERSION,
  type SubscribeOptions,
  type Subscriber,
  topicNameProblem,
} from '@bus/core';
import { connectionSecrets, type KafkaRetryOptions, toKafkaJsConfig } from './connection.js';
import { kafkajsPartitionAssigners } from './internal/assignors/kafkajs-assigner.js';
import { Kafka } from './internal/kafkajs.js';
import { ConsumerSession, type SessionOptions } from './internal/consumer-session.js';
import { type PlatformaticOptions, toPlatformaticOptions } from './internal/driver/platformatic-config.js';
import { PlatformaticConsumerSession } from './internal/driver/platformatic-session.js';
import { type ConsumerStats, createConsumerStats } from './internal/consumer-stats.js';
import type { KafkaSubscriberEvents } from './subscriber-events.js';
import type { KafkaSubscriberStats } from './subscriber-stats.js';
import type { EventSource, Listener, Unsubscribe } from './events.js';
import { TypedEvents } from './internal/typed-events.js';
import {
  BINARY_KEY_HEADER,
  type KafkaSubscriberOptions,
  type ResolvedSubscriberOptions,
  resolveSubscriberOptions,
} from './subscriber-options.js';

/**
 * The default retry policy of a subscriber's connection. kafkajs gives up on a lost broker when its
 * retries run out, then restarts the consumer as a new group member, and the group waits for the
 * old member's session to expire before anyone consumes again (25-30 s by default). Retrying for
 * two session timeouts, at most half a second apart, rides out a broker restart as the same member
 * (a restarted coordinator starts the members' session clocks afresh, so the group takes it back
 * at once), and notices the broker, or a moved leader or coordinator, within half a second. (At 1 s
 * apart, the two waits after a coordinator's node died, one for the moved leaders and one for the
 * moved coordinator, added up to 2-3.5 s on top of the brokers' session timeout.)
 */
function subscriberRetry(sessionTimeoutMs: number): KafkaRetryOptions {
  const maxRetryTimeMs = 500;
  return { retries: Math.ceil((2 * sessionTimeoutMs) / maxRetryTimeMs), initialRetryTimeMs: 300, maxRetryTimeMs };
}

/**
 * Receives messages from Kafka topics through consumer groups.
 *
 * Each iteration of `subscribe()` is one group member (one kafkajs consumer). Messages of a
 * partition are handed out in offset order; `ack()` lets the subscriber commit past a message once
 * every earlier message of its partition is acked too, and `nack()` redelivers it (after `delayMs`)
 * before any later message of its partition. Keys come back as strings when they are valid UTF-8
 * (and not marked binary by the `bus-key-binary` header), else as bytes.
 *
 * @example
 * await using subscriber = new KafkaSubscriber({ brokers: 'localhost:9092', groupId: 'billing' });
 * for await (const message of subscriber.subscribe('orders')) {
 *   await handle(message);
 *   message.ack();
 * }
 */
export class KafkaSubscriber implements Subscriber, EventSource<KafkaSubscriberEvents> {
  /** The bus contract version this transport implements. */
  readonly specVersion = SPEC_VERSION;
  readonly #options: ResolvedSubscriberOptions;
  readonly #kafka: InstanceType<typeof Kafka>;
  readonly #consumerRetry: NonNullable<ReturnType<typeof toKafkaJsConfig>['retry']>;
  readonly #logger: Logger;
  readonly #secrets: readonly string[];
  readonly #events: TypedEvents<KafkaSubscriberEvents>;
  readonly #stats: ConsumerStats = createConsumerStats();
  readonly #sessions = new Set<ConsumerSession | PlatformaticConsumerSession>();
  /** The @platformatic/kafka client options, when that is the driver. */
  readonly #platformatic: PlatformaticOptions | undefined;
  #closed: Promise<void> | undefined;

  /** Validates `options` (throwing a `ConfigError` that lists every problem); connects lazily. */
  constructor(options: KafkaSubscriberOptions) {
    this.#options = resolveSubscriberOptions(options);
    this.#logger = options.logger ?? noopLogger;
    this.#events = new TypedEvents(this.#logger);
    this.#secrets = connectionSecrets(options);
    const config = toKafkaJsConfig({
      ...options,
      retry: options.retry ?? subscriberRetry(this.#options.sessionTimeoutMs),
    });
    const retry = config.retry ?? {};
    const closed = () => this.#closed !== undefined;
    // kafkajs reads its retry settings each time an operation starts. Once the subscriber is
    // closed, a new operation gives up at once, so no retry loop of a consumer whose brokers are
    // unreachable keeps the process alive long after close().
    const retries = retry.retries ?? 5;
    config.retry = {
      ...(retry.initialRetryTime === undefined ? {} : { initialRetryTime: retry.initialRetryTime }),
      ...(retry.maxRetryTime === undefined ? {} : { maxRetryTime: retry.maxRetryTime }),
      get retries() {
        return closed() ? 0 : retries;
      },
    };
    this.#consumerRetry = config.retry;
    this.#kafka = new Kafka(config);
    this.#platformatic =
      this.#options.driver === 'platformatic'
        ? toPlatformaticOptions({ ...options, retry: options.retry ?? subscriberRetry(this.#options.sessionTimeoutMs) })
        : undefined;
  }

  /**
   * Subscribes to `topic` as a member of `options.group` (or the `groupId` option). Consumption
   * starts when iteration starts; every iteration is a separate group member. Leaving the loop,
   * aborting `options.signal` or closing the subscriber ends it, after committing acked prefixes.
   *
   * @throws ConfigError when the topic name is invalid or no group is given.
   * @throws ClosedError after `close()`.
   */
  subscribe(topic: string, options: SubscribeOptions = {}): AsyncIterable<ReceivedMessage> {
    if (this.#closed !== undefined) throw new ClosedError('KafkaSubscriber');
    const group = options.group ?? this.#options.groupId;
    const issues = new ConfigIssues('KafkaSubscriber.subscribe');
    const topicProblem = topicNameProblem(topic);
    if (topicProblem !== undefined) issues.add('topic', topicProblem);
    if (group === undefined) issues.add('group', 'no consumer group: pass { group } or set the groupId option');
    else if (typeof group !== 'string' || group === '') issues.add('group', 'must be a non-empty string');
    issues.throwIfAny();
    const { signal } = options;
    return {
      [Symbol.asyncIterator]: () => this.#open(topic, group as string, signal),
    };
  }

  #open(topic: string, group: string, signal: AbortSignal | undefined): AsyncIterator<ReceivedMessage> {
    if (this.#closed !== undefined) throw new ClosedError('KafkaSubscriber');
    // Already aborted: the loop ends at once, without joining the group.
    if (signal?.aborted === true) return { next: async () => ({ done: true, value: undefined }) };
    const o = this.#options;
    if (this.#platformatic !== undefined) return this.#openPlatformatic(topic, group, signal, this.#platformatic);
    const session: ConsumerSession = new ConsumerSession(
      {
        kafka: this.#kafka,
        consumerConfig: {
          groupId: group,
          sessionTimeout: o.sessionTimeoutMs,
          heartbeatInterval: o.heartbeatIntervalMs,
          rebalanceTimeout: o.rebalanceTimeoutMs,
          maxWaitTimeInMs: o.fetchMaxWaitMs,
          maxBytesPerPartition: o.fetchMaxBytesPerPartition,
          readUncommitted: o.readUncommitted,
          allowAutoTopicCreation: o.allowAutoTopicCreation,
          partitionAssigners: kafkajsPartitionAssigners(o.partitionAssignors),
          // The consumer's own loop (joins, coordinator lookups) retries as long as its connection does:
          // with kafkajs' default of 5 it gives up within seconds of a broker loss, restarts as a new
          // member, and the group waits out the old member's session (about 30 s on the 3-node cluster).
          retry: this.#consumerRetry,
        },
        ...this.#sessionOptions(topic, group),
        partitionAssignors: o.partitionAssignors,
      },
      signal,
      () => this.#sessions.delete(session),
    );
    this.#sessions.add(session);
    return session;
  }

  /** What a subscription's session needs whichever driver runs it. */
  #sessionOptions(topic: string, group: string): Omit<SessionOptions, 'kafka' | 'consumerConfig'> {
    const o = this.#options;
    return {
      topic,
      group,
      fromBeginning: o.fromBeginning,
      topicWaitMs: o.topicWaitMs,
      commit:
        o.commit.mode === 'manual' ? undefined : { everyAcks: o.commit.everyAcks, intervalMs: o.commit.intervalMs },
      maxInFlightPerPartition: o.maxInFlightPerPartition,
      maxInFlight: o.maxInFlight,
      maxInFlightBytes: o.maxInFlightBytes,
      closeTimeoutMs: o.closeTimeoutMs,
      stall: {
        // A correct rebalance ends within the rebalance timeout (the join waits for every member
        // up to it) plus a sync; longer, and it is not coming.
        rebalanceBoundMs: o.rebalanceTimeoutMs + o.heartbeatIntervalMs,
        // Without a fetch or heartbeat for a session timeout, the member has lost the group anyway.
        progressBoundMs: o.sessionTimeoutMs,
      },
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      decode: { messageIdHeader: o.messageIdHeader, binaryKeyHeader: BINARY_KEY_HEADER },
      logger: this.#logger,
      events: this.#events,
      stats: this.#stats,
      secrets: this.#secrets,
    };
  }

  #openPlatformatic(
    topic: string,
    group: string,
    signal: AbortSignal | undefined,
    client: PlatformaticOptions,
  ): AsyncIterator<ReceivedMessage> {
    const o = this.#options;
    const session: PlatformaticConsumerSession = new PlatformaticConsumerSession(
      {
        client,
        consumer: {
          sessionTimeoutMs: o.sessionTimeoutMs,
          heartbeatIntervalMs: o.heartbeatIntervalMs,
          rebalanceTimeoutMs: o.rebalanceTimeoutMs,
          fetchMaxWaitMs: o.fetchMaxWaitMs,
          fetchMaxBytesPerPartition: o.fetchMaxBytesPerPartition,
          readUncommitted: o.readUncommitted,
          groupProtocol: o.groupProtocol,
          allowAutoTopicCreation: o.allowAutoTopicCreation,
        },
        ...this.#sessionOptions(topic, group),
      },
      signal,
      () => this.#sessions.delete(session),
    );
    this.#sessions.add(session);
    return session;
  }

  /** A snapshot of the counters, over every subscription since construction. */
  stats(): KafkaSubscriberStats {
    let buffered = 0;
    for (const session of this.#sessions) buffered += session.waiting;
    const s = this.#stats;
    return {
      subscriptions: this.#sessions.size,
      consumed: s.consumed,
      redelivered: s.redelivered,
      acked: s.acked,
      nacked: s.nacked,
      inFlight: s.inFlight,
      buffered,
      commits: s.commits,
      commitFailures: s.commitFailures,
      rebalances: s.rebalances,
      reconnections: s.reconnections,
      lastError: s.lastError,
    };
  }

  /** Calls `listener` on every `event` until the returned function is called. */
  on<K extends keyof KafkaSubscriberEvents>(event: K, listener: Listener<KafkaSubscriberEvents[K]>): Unsubscribe {
    return this.#events.on(event, listener);
  }

  /** Removes `listener` from `event`. */
  off<K extends keyof KafkaSubscriberEvents>(event: K, listener: Listener<KafkaSubscriberEvents[K]>): void {
    this.#events.off(event, listener);
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof KafkaSubscriberEvents>(event: K, listener: Listener<KafkaSubscriberEvents[K]>): Unsubscribe {
    return this.#events.once(event, listener);
  }

  /** Ends every subscription (their loops finish after committing acked prefixes) and disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#sessions].map((session) => session.stop()));
    })();
    return this.#closed;
  }

  /** Same as {@link KafkaSubscriber.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
