import {
  type BusError,
  ClosedError,
  type Logger,
  type Message,
  type Publisher,
  publishInputError,
  SPEC_VERSION,
  type SpecVersion,
  TimeoutError,
} from '@bus/core';
import { connectionSecrets } from './connection.js';
import { toKafkaError } from './errors.js';
import { settlesWithin } from './internal/deadline.js';
import { createDriver } from './internal/driver/create-driver.js';
import type { DriverRecord, KafkaDriver, ProducerDriver } from './internal/driver/types.js';
import { appendRecord } from './internal/outgoing-message.js';
import {
  type KafkaPublisherOptions,
  type ResolvedPublisherOptions,
  resolvePublisherOptions,
} from './internal/publisher-options.js';
import { type QueuedCall, SendQueue } from './internal/send-queue.js';
import { TopicSender, unacknowledgedError } from './internal/topic-sender.js';
import { type EventSource, type Listener, TypedEvents, type Unsubscribe } from './internal/typed-events.js';
import { type KafkaTransaction, type KafkaTransactionOptions, TransactionalProducer } from './transaction.js';

export type { KafkaAcks, KafkaCompression, KafkaPublisherOptions } from './internal/publisher-options.js';

/** A snapshot of a publisher's counters, for metrics. */
export interface KafkaPublisherStats {
  /** Whether the producer is connected. */
  readonly connected: boolean;
  /** `publish()` calls accepted. */
  readonly publishCalls: number;
  /** Messages acknowledged by the broker. */
  readonly messagesPublished: number;
  /** Messages whose publish failed or timed out. */
  readonly messagesFailed: number;
  /** Batches (produce requests of the driver, one per topic) sent. */
  readonly batches: number;
  /** Batches that failed. */
  readonly batchesFailed: number;
  /**
   * Resends of the messages of partitions the client answered for without an acknowledgement (their
   * leadership moved mid-send). Non-zero only while a cluster moves partition leaders.
   */
  readonly partitionResends: number;
  /** Estimated bytes acknowledged. */
  readonly bytesPublished: number;
  /** Messages accepted and waiting to be batched: at most `maxPendingMessages` (unless one call is larger). */
  readonly pendingMessages: number;
  /** Estimated bytes of {@link KafkaPublisherStats.pendingMessages}. */
  readonly pendingBytes: number;
  /** Highest `pendingMessages` so far; above `maxPendingMessages` only for a single call larger than it. */
  readonly peakPendingMessages: number;
  /** Highest `pendingBytes` so far; above `maxPendingBytes` only for a single call larger than it. */
  readonly peakPendingBytes: number;
  /** `publish()` calls waiting for pending room (backpressure): not yet counted in `pendingMessages`. */
  readonly waitingCalls: number;
  /** Batches sent and not yet answered. */
  readonly inFlightBatches: number;
  /** Transactions committed. */
  readonly transactionsCommitted: number;
  /** Transactions aborted. */
  readonly transactionsAborted: number;
}

/** Events of a {@link KafkaPublisher}; payloads are plain data. */
export interface KafkaPublisherEvents {
  /** The producer connected. */
  connect: { readonly durationMs: number };
  /** The producer disconnected (on close). */
  disconnect: { readonly reason: 'close' };
  /** A batch was acknowledged. */
  batch: { readonly topic: string; readonly messages: number; readonly bytes: number; readonly durationMs: number };
  /** A batch failed; its callers reject with `error`. */
  batchError: { readonly topic: string; readonly messages: number; readonly error: BusError };
  /** A transaction ended. */
  transaction: { readonly outcome: 'committed' | 'aborted'; readonly durationMs: number; readonly error?: unknown };
}

/**
 * Publishes bus messages to Kafka. Concurrent `publish()` calls are coalesced into batches
 * (`lingerMs`, `batchMaxMessages`, `batchMaxBytes`), each caller settling with its own outcome.
 * Connects lazily on first publish. With `transactionalId`, `transaction()` gives exactly-once
 * consume-transform-produce.
 *
 * The send buffer is bounded: at most `maxPendingMessages` / `maxPendingBytes` wait to be batched,
 * plus the `maxInFlightBatches` batches being sent. A `publish()` beyond the bound waits, in call
 * order, for room instead of being rejected, so callers that await it are slowed to the broker's
 * pace; its `timeoutMs` still applies (withdrawn unsent, `TimeoutError`). A waiting call still holds
 * its own messages: code that fires publishes without awaiting them bounds its memory only by
 * awaiting them at some point (`stats().waitingCalls` shows how many wait). A single call larger
 * than the bound is admitted once nothing else is pending.
 *
 * @example
 * await using publisher = new KafkaPublisher({ brokers: 'localhost:9092' });
 * await publisher.publish('orders', jsonMessage({ id: 1 }, { key: 'customer-7' }));
 */
export class KafkaPublisher implements Publisher, EventSource<KafkaPublisherEvents> {
  /** The bus contract version this publisher implements. */
  readonly specVersion: SpecVersion = SPEC_VERSION;

  readonly #options: ResolvedPublisherOptions;
  readonly #logger: Logger;
  readonly #secrets: readonly string[];
  readonly #driver: KafkaDriver;
  readonly #producer: ProducerDriver;
  readonly #emitter: TypedEvents<KafkaPublisherEvents>;
  readonly #queue: SendQueue;
  readonly #sender: TopicSender;
  readonly #transactions: TransactionalProducer;
  #connected = false;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** close() is past flushing: a connect that completes now is undone at once. */
  #disconnecting = false;

  #stats = {
    publishCalls: 0,
    messagesPublished: 0,
    messagesFailed: 0,
    batches: 0,
    batchesFailed: 0,
    partitionResends: 0,
    bytesPublished: 0,
    transactionsCommitted: 0,
    transactionsAborted: 0,
  };

  /** Validates `options` (a `ConfigError` lists every problem) and creates the (unconnected) producer. */
  constructor(options: KafkaPublisherOptions) {
    this.#options = resolvePublisherOptions(options);
    this.#logger = this.#options.logger;
    this.#secrets = connectionSecrets(options);
    this.#emitter = new TypedEvents(this.#logger);
    this.#driver = createDriver(options, 'KafkaPublisher');
    this.#producer = this.#driver.producer({
      // Same key, same partition as Java/Go/librdkafka clients (murmur2), pinned on each record so
      // bus can check every partition was acknowledged (see acknowledged-send).
      pinPartitions: this.#options.checkAcknowledgements,
      allowAutoTopicCreation: this.#options.allowAutoTopicCreation,
      idempotent: this.#options.idempotent,
      maxInFlightRequests: this.#options.maxInFlightRequests,
      retries: this.#options.producerRetry.retries,
      ackTimeoutMs: this.#options.timeoutMs,
    });
    this.#queue = new SendQueue(this.#options, {
      send: (batch) => this.#send(batch),
      timeoutError: (call) =>
        call.unacknowledged === undefined
          ? new TimeoutError(`publish to "${call.topic}"`, this.#options.timeoutMs)
          : unacknowledgedError(call, call.unacknowledged, this.#options.timeoutMs),
      settled: (call, error) => {
        if (error === undefined) {
          this.#stats.messagesPublished += call.records.length;
          this.#stats.bytesPublished += call.bytes;
        } else {
          this.#stats.messagesFailed += call.records.length;
        }
      },
    });
    this.#sender = new TopicSender({
      producer: this.#producer,
      driver: this.#driver,
      options: this.#options,
      secrets: this.#secrets,
      queue: () => this.#queue,
      reports: {
        batch: (event) => this.#emitter.emit('batch', event),
        batchError: (event) => this.#emitter.emit('batchError', event),
        sending: () => this.#stats.batches++,
        failed: () => this.#stats.batchesFailed++,
        resend: () => this.#stats.partitionResends++,
      },
    });
    this.#transactions = new TransactionalProducer(
      this.#driver,
      {
        messageIdHeader: this.#options.messageIdHeader,
        timeoutMs: this.#options.timeoutMs,
        compression: this.#options.compression,
        secrets: this.#secrets,
        logger: this.#logger,
        transactionalId: this.#options.transactionalId,
        transactionTimeoutMs: this.#options.transactionTimeoutMs,
        allowAutoTopicCreation: this.#options.allowAutoTopicCreation,
      },
      (outcome, durationMs, error) => {
        if (outcome === 'committed') {
          this.#stats.transactionsCommitted++;
          this.#emitter.emit('transaction', { outcome, durationMs });
        } else {
          this.#stats.transactionsAborted++;
          this.#emitter.emit('transaction', { outcome, durationMs, error });
        }
      },
    );
  }

  /** Connects now instead of on the first publish. Concurrent calls share one attempt. */
  async connect(): Promise<void> {
    if (this.#closed) throw new ClosedError('KafkaPublisher');
    await this.#ensureConnected();
  }

  /**
   * Publishes `messages` to `topic`. Resolves when the broker acknowledged all of them (per `acks`),
   * each for its own partition; rejects with a typed error otherwise (`KafkaTransportError`,
   * `UnacknowledgedPartitionsError`, `TimeoutError`, `ClosedError`). Messages of one call travel in
   * one batch, so same-key order is kept. When `maxPendingMessages` or `maxPendingBytes` is reached
   * the call waits for room (backpressure), within its `timeoutMs`.
   */
  publish(topic: string, ...messages: Message[]): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('KafkaPublisher'));
    const invalid = publishInputError(topic, messages);
    if (invalid !== undefined) return Promise.reject(invalid);
    const records: DriverRecord[] = [];
    const idHeader = this.#options.messageIdHeader;
    const headerMaps = this.#driver.headerMaps;
    let bytes = 0;
    for (const message of messages) bytes += appendRecord(records, topic, message, idHeader, headerMaps);
    if (records.length === 0) return Promise.resolve();
    this.#stats.publishCalls++;
    return this.#queue.add(topic, records, bytes);
  }

  /** Sends everything pending (and waiting for room) now and waits until every publish so far has settled. */
  flush(): Promise<void> {
    return this.#queue.flush();
  }

  /**
   * Runs `fn` in a Kafka transaction (requires `transactionalId`): commits when it resolves, aborts
   * and rethrows when it throws. Calls on one publisher run one after another, never concurrently.
   * A transaction still running at `timeoutMs` (default `transactionTimeoutMs`), or whose `signal`
   * aborts, is aborted and rejects, so the ones queued behind it go on.
   */
  async transaction<T>(fn: (tx: KafkaTransaction) => Promise<T>, options: KafkaTransactionOptions = {}): Promise<T> {
    if (this.#closed) throw new ClosedError('KafkaPublisher');
    // Transactions queued before close() still run while it waits for them.
    return this.#transactions.run(fn, options, () => !this.#closed || this.#closing !== undefined);
  }

  /** Calls `listener` on every `event` (`connect`, `disconnect`, `batch`, `batchError`, `transaction`) until unsubscribed. */
  on<K extends keyof KafkaPublisherEvents>(event: K, listener: Listener<KafkaPublisherEvents[K]>): Unsubscribe {
    return this.#emitter.on(event, listener);
  }

  /** Removes `listener` from `event`. */
  off<K extends keyof KafkaPublisherEvents>(event: K, listener: Listener<KafkaPublisherEvents[K]>): void {
    this.#emitter.off(event, listener);
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof KafkaPublisherEvents>(event: K, listener: Listener<KafkaPublisherEvents[K]>): Unsubscribe {
    return this.#emitter.once(event, listener);
  }

  /** Counters for metrics. */
  stats(): KafkaPublisherStats {
    return { ...this.#stats, connected: this.#connected, ...this.#queue.stats() };
  }

  /**
   * Flushes pending publishes, including those still waiting for room (they are sent, not rejected),
   * waits for running transactions, then disconnects, all within `closeTimeoutMs`. Publishes still
   * unsettled at that deadline reject: a `ClosedError` for those never sent, a `TimeoutError`
   * (outcome unknown) for those sent. Never waits longer, even while the client is still retrying to
   * connect to an unreachable broker. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** Same as {@link KafkaPublisher.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const closeTimeoutMs = this.#options.closeTimeoutMs;
    const deadline = performance.now() + closeTimeoutMs;
    const inTime = (promise: Promise<unknown>) => settlesWithin(promise, Math.max(0, deadline - performance.now()));
    if (!(await inTime(this.#queue.flush()))) {
      this.#queue.abandon(
        () => new ClosedError('KafkaPublisher'),
        (call) => new TimeoutError(`publish to "${call.topic}" (cut short by close())`, closeTimeoutMs),
      );
    }
    if (!(await inTime(this.#transactions.idle()))) {
      this.#logger.warn({ closeTimeoutMs }, 'closing with a transaction still running');
    }
    this.#disconnecting = true;
    // Not waiting for a connect in progress: against an unreachable broker the client's retries can run
    // for many seconds. Disconnecting ends them; past the deadline it finishes in the background.
    const main = this.#connected || this.#connecting ? this.#producer : undefined;
    const disconnects = [
      main?.disconnect().catch((error: unknown) => this.#logger.warn({ err: error }, 'producer disconnect failed')),
      this.#transactions.disconnect(),
    ];
    if (!(await inTime(Promise.all(disconnects)))) {
      this.#logger.warn({ closeTimeoutMs }, 'producer disconnect cut short at closeTimeoutMs');
    }
    const wasConnected = this.#connected;
    this.#connected = false;
    if (wasConnected) this.#emitter.emit('disconnect', { reason: 'close' });
  }

  async #ensureConnected(): Promise<void> {
    if (this.#connected) return;
    this.#connecting ??= (async () => {
      const started = performance.now();
      try {
        await this.#producer.connect();
      } catch (error) {
        throw toKafkaError(error, { operation: 'connect', secrets: this.#secrets });
      } finally {
        this.#connecting = undefined;
      }
      if (this.#disconnecting) {
        // close() did not wait for this connect (unreachable broker): leave no connection behind.
        await this.#producer.disconnect().catch(() => {});
        throw new ClosedError('KafkaPublisher');
      }
      this.#connected = true;
      this.#logger.debug({ brokers: this.#options.connection.brokers }, 'kafka publisher connected');
      this.#emitter.emit('connect', { durationMs: performance.now() - started });
    })();
    await this.#connecting;
  }

  /** Sends one batch of the queue: one driver request per topic, so a bad topic fails only its own callers. */
  async #send(batch: QueuedCall[]): Promise<void> {
    try {
      await this.#ensureConnected();
    } catch (error) {
      for (const call of batch) this.#queue.settle(call, error);
      return;
    }
    if (batch.every((call) => call.topic === batch[0]!.topic)) {
      await this.#sender.send(batch[0]!.topic, batch);
      return;
    }
    const byTopic = new Map<string, QueuedCall[]>();
    for (const call of batch) {
      const calls = byTopic.get(call.topic);
      if (calls) calls.push(call);
      else byTopic.set(call.topic, [call]);
    }
    await Promise.all([...byTopic].map(([topic, calls]) => this.#sender.send(topic, calls)));
  }
}
