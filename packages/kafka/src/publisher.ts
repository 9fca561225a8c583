import {
  type BusError,
  ClosedError,
  ConfigIssues,
  type Logger,
  type Message,
  type Publisher,
  publishInputError,
  SPEC_VERSION,
  type SpecVersion,
  TimeoutError,
} from '@bus/core';
import type { Kafka as KafkaClient, Message as KafkaMessage, Producer } from 'kafkajs';
import { connectionSecrets, createKafkaClient } from './connection.js';
import { KafkaErrorCode, KafkaTransportError, toKafkaError } from './errors.js';
import { settlesWithin, withDeadline } from './internal/deadline.js';
import { pinningPartitioner, sendUntilAcknowledged } from './internal/acknowledged-send.js';
import { Partitioners } from './internal/kafkajs.js';
import { toOutgoingMessage } from './internal/outgoing-message.js';
import {
  type KafkaPublisherOptions,
  type ResolvedPublisherOptions,
  resolvePublisherOptions,
} from './internal/publisher-options.js';
import { type EventSource, type Listener, TypedEvents, type Unsubscribe } from './internal/typed-events.js';
import { type KafkaTransaction, type KafkaTransactionOptions, runTransaction } from './transaction.js';
import { UnacknowledgedPartitionsError } from './unacknowledged-partitions-error.js';

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
  /** Batches (kafkajs `sendBatch` requests) sent. */
  readonly batches: number;
  /** Batches that failed. */
  readonly batchesFailed: number;
  /**
   * Resends of the messages of partitions kafkajs answered for without an acknowledgement (their
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

interface PendingCall {
  readonly topic: string;
  readonly records: KafkaMessage[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** `performance.now()` at which the call's `timeoutMs` ends. */
  readonly deadline: number;
  /** This call's partitions left unacknowledged by the last attempt, while it is being resent. */
  unacknowledged: ReadonlySet<number> | undefined;
  attempts: number;
  settled: boolean;
  sent: boolean;
  timer: NodeJS.Timeout | undefined;
}

/** How long the publisher waits to look up a topic's size limit for a clearer error message. */
const LIMIT_LOOKUP_TIMEOUT_MS = 2_000;

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
  readonly #kafka: KafkaClient;
  readonly #producer: Producer;
  readonly #emitter: TypedEvents<KafkaPublisherEvents>;
  #connected = false;
  #connecting: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** close() is past flushing: a connect that completes now is undone at once. */
  #disconnecting = false;

  readonly #pending: PendingCall[] = [];
  #pendingMessages = 0;
  #pendingBytes = 0;
  #peakPendingMessages = 0;
  #peakPendingBytes = 0;
  /** Calls accepted but beyond the pending bound, oldest first; admitted to #pending as room frees. */
  readonly #waiting: PendingCall[] = [];
  #inFlight = 0;
  #flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly #idleWaiters: (() => void)[] = [];
  /** Sent calls not yet settled: flush/close wait for these, not for sends whose callers already timed out. */
  readonly #unsettledSent = new Set<PendingCall>();

  #txProducer: Producer | undefined;
  #txQueue: Promise<unknown> = Promise.resolve();

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
    this.#kafka = createKafkaClient(options, 'KafkaPublisher');
    this.#producer = this.#kafka.producer({
      // The Java-compatible murmur2 partitioner: same key, same partition as Java/Go/librdkafka clients.
      // Pinned on each record, so bus can check every partition was acknowledged (see acknowledged-send).
      createPartitioner: this.#options.checkAcknowledgements ? pinningPartitioner : Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: this.#options.allowAutoTopicCreation,
      idempotent: this.#options.idempotent,
      // kafkajs would retry an idempotent producer's requests forever; bus's deadline decides instead.
      retry: this.#options.producerRetry,
      ...(this.#options.maxInFlightRequests === undefined
        ? {}
        : { maxInFlightRequests: this.#options.maxInFlightRequests }),
    });
  }

  /** Connects now instead of on the first publish. Concurrent calls share one attempt. */
  async connect(): Promise<void> {
    if (this.#closed) throw new ClosedError('KafkaPublisher');
    await this.#ensureConnected();
  }

  /**
   * Publishes `messages` to `topic`. Resolves when the broker acknowledged all of them (per `acks`);
   * rejects with a typed error otherwise (`KafkaTransportError`, `TimeoutError`, `ClosedError`).
   * Messages of one call travel in one batch, so same-key order is kept. When `maxPendingMessages`
   * or `maxPendingBytes` is reached the call waits for room (backpressure), within its `timeoutMs`.
   */
  publish(topic: string, ...messages: Message[]): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('KafkaPublisher'));
    const invalid = publishInputError(topic, messages);
    if (invalid !== undefined) return Promise.reject(invalid);
    const records: KafkaMessage[] = [];
    let bytes = 0;
    for (const message of messages) {
      const outgoing = toOutgoingMessage(message, this.#options.messageIdHeader);
      records.push(outgoing.record);
      bytes += outgoing.bytes;
    }
    if (records.length === 0) return Promise.resolve();
    this.#stats.publishCalls++;
    const done = Promise.withResolvers<void>();
    const call: PendingCall = {
      topic,
      records,
      bytes,
      resolve: done.resolve,
      reject: done.reject,
      deadline: performance.now() + this.#options.timeoutMs,
      unacknowledged: undefined,
      attempts: 0,
      settled: false,
      sent: false,
      timer: undefined,
    };
    call.timer = setTimeout(() => this.#timeOut(call), this.#options.timeoutMs);
    call.timer.unref();
    // Behind earlier waiters even when it would fit, so a stream of small calls cannot starve a large one.
    if (this.#waiting.length > 0 || !this.#hasRoom(call)) this.#waiting.push(call);
    else this.#enqueue(call);
    this.#schedule();
    return done.promise;
  }

  /** Sends everything pending (and waiting for room) now and waits until every publish so far has settled. */
  async flush(): Promise<void> {
    if (this.#isIdle()) return;
    // Registered before dispatching, so calls admitted from the waiting queue are sent without lingering.
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.#dispatch();
    await idle;
  }

  /**
   * Runs `fn` in a Kafka transaction (requires `transactionalId`): commits when it resolves, aborts
   * and rethrows when it throws. Calls on one publisher run one after another, never concurrently.
   * A transaction still running at `timeoutMs` (default `transactionTimeoutMs`), or whose `signal`
   * aborts, is aborted and rejects, so the ones queued behind it go on.
   */
  async transaction<T>(fn: (tx: KafkaTransaction) => Promise<T>, options: KafkaTransactionOptions = {}): Promise<T> {
    if (this.#closed) throw new ClosedError('KafkaPublisher');
    if (this.#options.transactionalId === undefined) {
      throw new KafkaTransportError('transaction() needs the transactionalId option', {
        code: KafkaErrorCode.TRANSACTION_FAILED,
      });
    }
    const issues = new ConfigIssues('KafkaPublisher.transaction');
    issues.integer(options.timeoutMs, 'timeoutMs', { min: 1, max: 3_600_000 });
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      issues.add('signal', 'must be an AbortSignal');
    }
    issues.throwIfAny();
    const limits = { timeoutMs: options.timeoutMs ?? this.#options.transactionTimeoutMs, signal: options.signal };
    const run = this.#txQueue.then(() => this.#runTransaction(fn, limits));
    this.#txQueue = run.catch(() => {});
    return run;
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
    return {
      ...this.#stats,
      connected: this.#connected,
      pendingMessages: this.#pendingMessages,
      pendingBytes: this.#pendingBytes,
      peakPendingMessages: this.#peakPendingMessages,
      peakPendingBytes: this.#peakPendingBytes,
      waitingCalls: this.#waiting.length,
      inFlightBatches: this.#inFlight,
    };
  }

  /**
   * Flushes pending publishes, including those still waiting for room (they are sent, not rejected),
   * waits for running transactions, then disconnects, all within `closeTimeoutMs`. Publishes still
   * unsettled at that deadline reject: a `ClosedError` for those never sent, a `TimeoutError`
   * (outcome unknown) for those sent. Never waits longer, even while kafkajs is still retrying to
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
    const deadline = performance.now() + this.#options.closeTimeoutMs;
    const inTime = (promise: Promise<unknown>) => settlesWithin(promise, Math.max(0, deadline - performance.now()));
    if (!(await inTime(this.flush()))) this.#abandonUnsettled();
    if (!(await inTime(this.#txQueue))) {
      this.#logger.warn({ closeTimeoutMs: this.#options.closeTimeoutMs }, 'closing with a transaction still running');
    }
    this.#disconnecting = true;
    const producers = [this.#connected || this.#connecting ? this.#producer : undefined, this.#txProducer];
    // Not waiting for a connect in progress: against an unreachable broker kafkajs's retries can run
    // for many seconds. Disconnecting ends them; past the deadline it finishes in the background.
    const disconnects = producers.map(async (producer) => {
      try {
        await producer?.disconnect();
      } catch (error) {
        this.#logger.warn({ err: error }, 'producer disconnect failed');
      }
    });
    if (!(await inTime(Promise.all(disconnects)))) {
      this.#logger.warn(
        { closeTimeoutMs: this.#options.closeTimeoutMs },
        'producer disconnect cut short at closeTimeoutMs',
      );
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

  #schedule(): void {
    if (this.#pending.length === 0) return;
    // Lingering cannot grow a batch once callers wait for room, and a flush wants everything out now.
    if (
      this.#pendingMessages >= this.#options.batchMaxMessages ||
      this.#pendingBytes >= this.#options.batchMaxBytes ||
      this.#waiting.length > 0 ||
      this.#idleWaiters.length > 0
    ) {
      this.#dispatch();
      return;
    }
    if (this.#flushTimer !== undefined) return;
    if (this.#options.lingerMs === 0) {
      this.#flushTimer = setImmediate(() => this.#dispatch());
    } else {
      this.#flushTimer = setTimeout(() => this.#dispatch(), this.#options.lingerMs);
    }
  }

  #clearFlushTimer(): void {
    if (this.#flushTimer === undefined) return;
    clearTimeout(this.#flushTimer as NodeJS.Timeout);
    clearImmediate(this.#flushTimer as NodeJS.Immediate);
    this.#flushTimer = undefined;
  }

  /** Sends as many batches as the in-flight limit allows; the rest goes when a batch completes. */
  #dispatch(): void {
    this.#clearFlushTimer();
    while (this.#pending.length > 0 && this.#inFlight < this.#options.maxInFlightBatches) {
      const batch = this.#takeBatch();
      if (batch.length === 0) break;
      this.#inFlight++;
      void this.#send(batch).finally(() => {
        this.#inFlight--;
        // Whatever queued up while the slots were busy has waited long enough: send it without lingering.
        if (this.#pending.length > 0) this.#dispatch();
        this.#notifyIdle();
      });
    }
    this.#admitWaiting();
    this.#notifyIdle();
  }

  #hasRoom(call: PendingCall): boolean {
    // An oversized call alone must not wait forever: it goes when nothing else is pending.
    if (this.#pending.length === 0) return true;
    return (
      this.#pendingMessages + call.records.length <= this.#options.maxPendingMessages &&
      this.#pendingBytes + call.bytes <= this.#options.maxPendingBytes
    );
  }

  #enqueue(call: PendingCall): void {
    this.#pending.push(call);
    this.#pendingMessages += call.records.length;
    this.#pendingBytes += call.bytes;
    this.#peakPendingMessages = Math.max(this.#peakPendingMessages, this.#pendingMessages);
    this.#peakPendingBytes = Math.max(this.#peakPendingBytes, this.#pendingBytes);
  }

  /** Moves waiting calls, oldest first, into the room dispatch or a withdrawal freed. */
  #admitWaiting(): void {
    let admitted = false;
    while (this.#waiting.length > 0 && this.#hasRoom(this.#waiting[0]!)) {
      this.#enqueue(this.#waiting.shift()!);
      admitted = true;
    }
    if (admitted) this.#schedule();
  }

  #takeBatch(): PendingCall[] {
    const batch: PendingCall[] = [];
    let messages = 0;
    let bytes = 0;
    while (this.#pending.length > 0) {
      const next = this.#pending[0]!;
      const fits =
        messages + next.records.length <= this.#options.batchMaxMessages &&
        bytes + next.bytes <= this.#options.batchMaxBytes;
      if (batch.length > 0 && !fits) break;
      this.#pending.shift();
      this.#pendingMessages -= next.records.length;
      this.#pendingBytes -= next.bytes;
      if (next.settled) continue;
      next.sent = true;
      this.#unsettledSent.add(next);
      batch.push(next);
      messages += next.records.length;
      bytes += next.bytes;
    }
    return batch;
  }

  #isIdle(): boolean {
    return this.#pending.length === 0 && this.#waiting.length === 0 && this.#unsettledSent.size === 0;
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** At the close deadline: rejects every call still unsettled, withdrawing those never sent. */
  #abandonUnsettled(): void {
    const unsent = [...this.#waiting.splice(0), ...this.#pending.splice(0)];
    this.#pendingMessages = 0;
    this.#pendingBytes = 0;
    for (const call of unsent) this.#settle(call, new ClosedError('KafkaPublisher'));
    for (const call of [...this.#unsettledSent]) {
      this.#settle(
        call,
        new TimeoutError(`publish to "${call.topic}" (cut short by close())`, this.#options.closeTimeoutMs),
      );
    }
  }

  #timeOut(call: PendingCall): void {
    if (call.settled) return;
    // Never sent: withdraw it, so a timed-out publish is guaranteed not to be stored.
    const waitingIndex = this.#waiting.indexOf(call);
    if (waitingIndex >= 0) {
      this.#waiting.splice(waitingIndex, 1);
      // The head may have been the only one blocked (an oversized call); those behind it may fit now.
      if (waitingIndex === 0) this.#admitWaiting();
    } else if (!call.sent) {
      const index = this.#pending.indexOf(call);
      if (index >= 0) {
        this.#pending.splice(index, 1);
        this.#pendingMessages -= call.records.length;
        this.#pendingBytes -= call.bytes;
        this.#admitWaiting();
      }
    }
    this.#settle(
      call,
      call.unacknowledged === undefined
        ? new TimeoutError(`publish to "${call.topic}"`, this.#options.timeoutMs)
        : this.#unacknowledgedError(call, call.unacknowledged),
    );
  }

  #settle(call: PendingCall, error?: unknown): void {
    if (call.settled) return;
    call.settled = true;
    clearTimeout(call.timer);
    this.#unsettledSent.delete(call);
    if (error === undefined) {
      this.#stats.messagesPublished += call.records.length;
      this.#stats.bytesPublished += call.bytes;
      call.resolve();
    } else {
      this.#stats.messagesFailed += call.records.length;
      call.reject(error);
    }
    this.#notifyIdle();
  }

  async #send(batch: PendingCall[]): Promise<void> {
    try {
      await this.#ensureConnected();
    } catch (error) {
      for (const call of batch) this.#settle(call, error);
      return;
    }
    // One request per topic, so a bad topic (missing, too-small size limit) fails only its own callers.
    const byTopic = new Map<string, PendingCall[]>();
    for (const call of batch) {
      const calls = byTopic.get(call.topic);
      if (calls) calls.push(call);
      else byTopic.set(call.topic, [call]);
    }
    await Promise.all([...byTopic].map(([topic, calls]) => this.#sendTopic(topic, calls, true)));
  }

  async #sendTopic(topic: string, calls: PendingCall[], isolateOversized: boolean): Promise<void> {
    const live = calls.filter((call) => !call.settled);
    if (live.length === 0) return;
    const messages = live.flatMap((call) => call.records);
    const bytes = live.reduce((sum, call) => sum + call.bytes, 0);
    const started = performance.now();
    this.#stats.batches++;
    const send = (records: KafkaMessage[]) =>
      this.#producer.sendBatch({
        topicMessages: [{ topic, messages: records }],
        acks: this.#options.acks,
        timeout: this.#options.timeoutMs,
        compression: this.#options.compression,
      });
    let unacknowledged: readonly PendingCall[] = [];
    let missing: ReadonlySet<number> = new Set();
    try {
      if (this.#options.checkAcknowledgements) {
        ({ unacknowledged, partitions: missing } = await sendUntilAcknowledged({
          units: live,
          send,
          isWaiting: (call) => !call.settled,
          acknowledged: (call) => this.#settle(call),
          resending: (partitions, calls, attempt) => this.#resending(topic, partitions, calls, attempt),
          deadline: live.reduce((latest, call) => Math.max(latest, call.deadline), 0),
          retryDelayMs: this.#options.resendDelayMs,
          maxRetryDelayMs: this.#options.maxResendDelayMs,
        }));
      } else {
        await send(messages);
      }
    } catch (cause) {
      this.#stats.batchesFailed++;
      let error = toKafkaError(cause, { operation: 'publish', topic, secrets: this.#secrets });
      if (error.code === KafkaErrorCode.MESSAGE_TOO_LARGE) {
        if (isolateOversized && live.length > 1) {
          // Retry each caller alone so only the oversized ones fail. Callers whose partition was
          // already written may get a duplicate, which at-least-once delivery allows.
          await Promise.all(live.map((call) => this.#sendTopic(topic, [call], false)));
          return;
        }
        error = await this.#withSizeLimit(cause, topic);
      }
      this.#emitter.emit('batchError', { topic, messages: messages.length, error });
      for (const call of live) this.#settle(call, error);
      return;
    }
    const failed = unacknowledged.filter((call) => !call.settled);
    if (failed.length > 0) {
      const errors = failed.map((call) => this.#unacknowledgedError(call, missing));
      this.#stats.batchesFailed++;
      this.#emitter.emit('batchError', {
        topic,
        messages: failed.reduce((sum, call) => sum + call.records.length, 0),
        error: errors[0]!,
      });
      for (const [i, call] of failed.entries()) this.#settle(call, errors[i]);
      return;
    }
    this.#emitter.emit('batch', { topic, messages: messages.length, bytes, durationMs: performance.now() - started });
    for (const call of live) this.#settle(call);
  }

  #resending(topic: string, partitions: ReadonlySet<number>, calls: readonly PendingCall[], attempt: number): void {
    this.#stats.partitionResends++;
    for (const call of calls) {
      call.attempts = attempt;
      call.unacknowledged = partitions;
    }
    this.#logger.warn(
      { topic, partitions: [...partitions], calls: calls.length, attempt },
      'kafka publisher: partitions left unacknowledged (leadership moved); resending them',
    );
  }

  /** The error of a call whose partitions among `missing` were never acknowledged. */
  #unacknowledgedError(call: PendingCall, missing: ReadonlySet<number>): UnacknowledgedPartitionsError {
    const partitions = new Set<number>();
    for (const record of call.records) {
      const partition = record.partition ?? -1;
      if (missing.has(partition)) partitions.add(partition);
    }
    return new UnacknowledgedPartitionsError(call.topic, partitions, {
      timeoutMs: this.#options.timeoutMs,
      attempts: Math.max(1, call.attempts + 1),
    });
  }

  /** Looks up the topic's `max.message.bytes` so the error can name the limit that was exceeded. */
  async #withSizeLimit(cause: unknown, topic: string): Promise<BusError> {
    let limitBytes: number | undefined;
    const admin = this.#kafka.admin();
    try {
      limitBytes = await withDeadline(
        (async () => {
          await admin.connect();
          const described = await admin.describeConfigs({
            includeSynonyms: false,
            resources: [{ type: 2, name: topic, configNames: ['max.message.bytes'] }],
          });
          const value = described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes');
          return value === undefined ? undefined : Number(value.configValue);
        })(),
        LIMIT_LOOKUP_TIMEOUT_MS,
        () => new Error('size limit lookup timed out'),
      );
    } catch (error) {
      this.#logger.debug({ err: error, topic }, 'could not look up max.message.bytes');
    } finally {
      void admin.disconnect().catch(() => {});
    }
    return toKafkaError(cause, {
      operation: 'publish',
      topic,
      secrets: this.#secrets,
      ...(limitBytes === undefined || !Number.isFinite(limitBytes) ? {} : { limitBytes }),
    });
  }

  async #runTransaction<T>(
    fn: (tx: KafkaTransaction) => Promise<T>,
    limits: { readonly timeoutMs: number; readonly signal: AbortSignal | undefined },
  ): Promise<T> {
    if (this.#closed && this.#closing === undefined) throw new ClosedError('KafkaPublisher');
    // Given up while queued: never begun, so there is nothing to abort.
    limits.signal?.throwIfAborted();
    const started = performance.now();
    const producer = await this.#transactionalProducer();
    let outcome: Awaited<ReturnType<typeof runTransaction<T>>>;
    try {
      outcome = await runTransaction(
        producer,
        {
          messageIdHeader: this.#options.messageIdHeader,
          timeoutMs: this.#options.timeoutMs,
          compression: this.#options.compression,
          secrets: this.#secrets,
          logger: this.#logger,
        },
        fn,
        limits,
      );
    } catch (beginError) {
      await this.#dropTransactionalProducer();
      throw beginError;
    }
    const durationMs = performance.now() - started;
    if ('result' in outcome) {
      this.#stats.transactionsCommitted++;
      this.#emitter.emit('transaction', { outcome: 'committed', durationMs });
      return outcome.result;
    }
    this.#stats.transactionsAborted++;
    this.#emitter.emit('transaction', { outcome: 'aborted', durationMs, error: outcome.error });
    if (outcome.failed === 'commit') {
      // The producer may be fenced or in an unknown state: start from a fresh one next time.
      await this.#dropTransactionalProducer();
    }
    throw outcome.error;
  }

  async #transactionalProducer(): Promise<Producer> {
    if (this.#txProducer) return this.#txProducer;
    const producer = this.#kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: this.#options.allowAutoTopicCreation,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId: this.#options.transactionalId!,
      transactionTimeout: this.#options.transactionTimeoutMs,
    });
    try {
      await producer.connect();
    } catch (error) {
      throw toKafkaError(error, { operation: 'connect (transactional)', secrets: this.#secrets });
    }
    this.#txProducer = producer;
    return producer;
  }

  async #dropTransactionalProducer(): Promise<void> {
    const producer = this.#txProducer;
    this.#txProducer = undefined;
    await producer?.disconnect().catch((error: unknown) => {
      this.#logger.warn({ err: error }, 'transactional producer disconnect failed');
    });
  }
}
