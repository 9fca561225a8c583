import {
  type BusError,
  type Logger,
  type NackOptions,
  type ReadyTaker,
  type ReceivedMessage,
  takeReady,
} from '@bus/core';
import type { Consumer, ConsumerConfig, ConsumerRunConfig, EachBatchPayload, Kafka } from 'kafkajs';
import { toKafkaError } from '../errors.js';
import type { CommitSchedule } from './commit-scheduler.js';
import { type DecodeOptions, KafkaReceivedMessage, type SettlementSink } from './consumer-message.js';
import type { KafkaSubscriberEvents, StallReason } from '../subscriber-events.js';
import type { ConsumerStats } from './consumer-stats.js';
import { FetchGate } from './fetch-gate.js';
import { HandOut } from './hand-out.js';
import type { PendingRecord } from './held-record.js';
import { PartitionState } from './partition-state.js';
import { SessionCommits } from './session-commits.js';
import { SessionShutdown } from './session-shutdown.js';
import { StallWatchdog } from './stall-watchdog.js';
import type { TypedEvents } from './typed-events.js';

/** Everything one subscription needs; resolved and validated by the subscriber. */
export interface SessionOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly group: string;
  readonly consumerConfig: ConsumerConfig;
  readonly fromBeginning: boolean;
  /** How long subscribing waits for a missing topic to appear. */
  readonly topicWaitMs: number;
  /** `undefined` for manual mode: the session never commits. */
  readonly commit: CommitSchedule | undefined;
  readonly maxInFlightPerPartition: number;
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  readonly closeTimeoutMs: number;
  /** When the subscription counts as stalled (see `StallWatchdog`). */
  readonly stall: { readonly rebalanceBoundMs: number; readonly progressBoundMs: number };
  /** While waiting for room inside a batch, heartbeat this often so the member stays in the group. */
  readonly heartbeatIntervalMs: number;
  /** Most fetched records queued and not handed out (see `FetchGate`); for tests. */
  readonly fetchAheadRecords?: number;
  readonly decode: DecodeOptions;
  readonly logger: Logger;
  readonly events: TypedEvents<KafkaSubscriberEvents>;
  readonly stats: ConsumerStats;
  readonly secrets: readonly string[];
  /** The partition assignors the consumer offers, named in an inconsistent-group-protocol error. */
  readonly partitionAssignors?: readonly string[];
}

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

const DONE: IteratorResult<ReceivedMessage> = { done: true, value: undefined };

/** Whether kafkajs failed to subscribe because the topic does not exist (yet) or has no leader yet. */
function isTopicNotReady(error: unknown): boolean {
  const { type, name } = (error ?? {}) as { type?: unknown; name?: unknown };
  return (
    type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE' || name === 'KafkaJSTopicMetadataNotLoaded'
  );
}

/**
 * Whether a heartbeat failed because the group coordinator is gone or moving. kafkajs keeps
 * heartbeating a dead coordinator until its retries run out, then restarts the consumer as a new
 * group member, and the group waits for the old member's session to expire (30 s by default).
 */
function isCoordinatorLost(error: unknown): boolean {
  const { type, name } = (error ?? {}) as { type?: unknown; name?: unknown };
  return (
    name === 'KafkaJSConnectionError' ||
    name === 'KafkaJSConnectionClosedError' ||
    name === 'KafkaJSRequestTimeoutError' ||
    type === 'GROUP_COORDINATOR_NOT_AVAILABLE' ||
    type === 'GROUP_LOAD_IN_PROGRESS'
  );
}

/**
 * An error kafkajs' runner treats as a rebalance: it then looks the coordinator up again and
 * rejoins with the member id it has, so the group takes the member back at once.
 */
function coordinatorMoved(cause: unknown): Error {
  const error = new Error(`group coordinator unreachable or moving; rejoining (${String(cause)})`, { cause });
  return Object.assign(error, { name: 'KafkaJSError', type: 'NOT_COORDINATOR_FOR_GROUP', retriable: true });
}

/**
 * Whether kafkajs gave up for good because brokers could not be reached: after its retries it
 * reports a coordinator it cannot find as non-retriable and does not restart the consumer, though
 * a broker that is down for longer than the retry budget comes back.
 */
function isBrokerOutage(error: unknown): boolean {
  for (let cause = error as { name?: unknown; cause?: unknown } | undefined; cause; ) {
    const { name } = cause;
    if (
      name === 'KafkaJSGroupCoordinatorNotFound' ||
      name === 'KafkaJSConnectionError' ||
      name === 'KafkaJSConnectionClosedError' ||
      name === 'KafkaJSRequestTimeoutError' ||
      name === 'KafkaJSBrokerNotFound'
    ) {
      return true;
    }
    cause = cause.cause as typeof cause;
  }
  return false;
}

/** Pause between attempts to start the consumer again after a broker outage outlasted kafkajs' retries. */
const OUTAGE_RETRY_MS = 1_000;

/** Messages handed out back to back before yielding to the event loop (I/O). */
const YIELD_EVERY = 2_048;

/**
 * One subscription: one kafkajs consumer (one group member) bridged to a pull-based async iterator.
 *
 * The session owns the lifecycle: start, group joins and rebalances, crashes and stalls, commits
 * and shutdown. kafkajs pushes batches into `eachBatch`, where the {@link FetchGate} queues them and
 * holds fetching back while the subscription is full; `next()` takes records through the
 * {@link HandOut} scheduler. Commits are separate from the fetch position: only each partition's
 * contiguous acked prefix is committed, by {@link SessionCommits}.
 */
export class ConsumerSession implements AsyncIterator<ReceivedMessage>, ReadyTaker, SettlementSink {
  readonly #o: SessionOptions;
  readonly #consumer: Consumer;
  readonly #commits: SessionCommits;
  readonly #shutdown: SessionShutdown;
  readonly #onStopped: () => void;
  #phase: Phase = 'idle';
  #partitions = new Map<number, PartitionState>();
  readonly #gate: FetchGate;
  readonly #handOut: HandOut<ReceivedMessage>;
  #sinceYield = 0;
  #rebalancing = false;
  /** Set by a crash that kafkajs restarts: the member is new, only a join brings partitions back. */
  #restarting = false;
  #rejoining: Promise<void> | undefined;
  #outageTimer: NodeJS.Timeout | undefined;
  readonly #watchdog: StallWatchdog;
  #fatal: BusError | undefined;
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  #abort: (() => void) | undefined;

  constructor(options: SessionOptions, signal: AbortSignal | undefined, onStopped: () => void) {
    this.#o = options;
    this.#onStopped = onStopped;
    const session = this;
    this.#consumer = options.kafka.consumer(options.consumerConfig);
    this.#commits = new SessionCommits(
      options,
      this.#consumer,
      () => this.#handOut.partitions,
      (error) => this.#recordError(error),
    );
    this.#shutdown = new SessionShutdown(options, (error) => this.#recordError(error));
    this.#gate = new FetchGate(options, {
      get accepting() {
        return session.#phase === 'running';
      },
      wake: () => this.#wake(),
      heartbeat: (heartbeat) => this.#heartbeat(heartbeat),
      pause: (state) => this.#consumer.pause([{ topic: state.topic, partitions: [state.partition] }]),
      resume: (partitions) => this.#resume(partitions),
      get partitions() {
        return session.#handOut.partitions;
      },
    });
    this.#handOut = new HandOut(
      (record, state) => this.#deliver(record, state),
      () => this.#wake(),
    );
    this.#watchdog = new StallWatchdog({
      ...options.stall,
      onStall: (reason, stalledMs) => this.#onStall(reason, stalledMs),
    });
    if (signal !== undefined) {
      const onAbort = () => void this.return();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#abort = () => signal.removeEventListener('abort', onAbort);
    }
  }

  /** Records fetched (or nacked) and waiting in memory to be handed out. */
  get waiting(): number {
    return this.#handOut.waiting;
  }

  next(): Promise<IteratorResult<ReceivedMessage>> {
    // Fast path without an async frame: a message is ready (the common case under load).
    if (this.#phase === 'running' && this.#fatal === undefined) {
      // A consumer looping over ready messages runs on microtasks only, which would starve
      // socket I/O: kafkajs could neither send the next fetch nor read its answer until the
      // buffer ran dry. Yielding to the event loop now and then keeps fetches overlapped. The
      // message is taken after the yield, so one is never handed out after a stop began.
      if (++this.#sinceYield >= YIELD_EVERY) {
        this.#sinceYield = 0;
        return new Promise((resolve) => setImmediate(() => resolve(this.#nextSlow())));
      }
      const message = this.#take();
      if (message !== undefined) return Promise.resolve({ done: false, value: message });
    }
    return this.#nextSlow();
  }

  /** The synchronous fast path of `next()`: a ready message, or `undefined` (then `next()` waits or yields). */
  [takeReady](): ReceivedMessage | undefined {
    if (this.#phase !== 'running' || this.#fatal !== undefined) return undefined;
    // Leave the yield to I/O to `next()`, which owes it when the count is reached.
    if (this.#sinceYield + 1 >= YIELD_EVERY) return undefined;
    const message = this.#take();
    if (message !== undefined) this.#sinceYield++;
    return message;
  }

  async #nextSlow(): Promise<IteratorResult<ReceivedMessage>> {
    if (this.#phase === 'idle') await this.#start();
    for (;;) {
      if (this.#fatal !== undefined) {
        const error = this.#fatal;
        await this.#stop();
        throw error;
      }
      if (this.#phase === 'stopping' || this.#phase === 'stopped') return DONE;
      const message = this.#take();
      if (message !== undefined) return { done: false, value: message };
      await this.#wait();
    }
  }

  async return(): Promise<IteratorResult<ReceivedMessage>> {
    await this.#stop();
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<ReceivedMessage>> {
    await this.#stop();
    throw error;
  }

  /** Ends the subscription: the loop finishes, acked prefixes are committed, the member leaves. */
  stop(): Promise<void> {
    return this.#stop();
  }

  // --- settlement (called by KafkaReceivedMessage) ---

  acked(record: PendingRecord, state: PartitionState): void {
    this.#o.stats.acked++;
    this.#settled();
    // An ack from an earlier generation (or after the partition was revoked) is not committed: the
    // record is redelivered to the partition's current owner, which at-least-once allows.
    if (state.retired) return;
    if (!this.#gate.acked(state, record, this.#handOut.partitions)) return;
    // An ack racing with shutdown joins the final commit instead of being dropped.
    if (this.#phase === 'stopping') this.#commits.flush();
    else this.#commits.noteAck();
  }

  nacked(record: PendingRecord, state: PartitionState, options: NackOptions): void {
    this.#o.stats.nacked++;
    this.#settled();
    if (state.retired) return;
    const delayMs = options.delayMs !== undefined && options.delayMs > 0 ? options.delayMs : 0;
    state.redeliver(record, delayMs > 0 ? Date.now() + delayMs : 0);
    if (delayMs > 0) this.#handOut.armDueTimer();
    else this.#wake();
  }

  // --- internals ---

  /** Messages this session handed out that are not settled; they leave the stats when it stops. */
  #inFlight = 0;

  #settled(): void {
    if (this.#phase === 'stopped') return;
    this.#inFlight--;
    this.#o.stats.inFlight--;
  }

  #take(): ReceivedMessage | undefined {
    return this.#rebalancing ? undefined : this.#handOut.take();
  }

  #deliver(record: PendingRecord, state: PartitionState): ReceivedMessage {
    if (++record.attempts === 1) this.#gate.handedOut();
    const message = new KafkaReceivedMessage(record, state, this, this.#o.decode);
    const stats = this.#o.stats;
    stats.consumed++;
    stats.inFlight++;
    this.#inFlight++;
    if (record.attempts > 1) stats.redelivered++;
    return message;
  }

  #wait(): Promise<void> {
    if (this.#waiter === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#waiter = { promise, resolve };
    }
    return this.#waiter.promise;
  }

  #wake(): void {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve();
    }
  }

  async #start(): Promise<void> {
    this.#phase = 'starting';
    this.#started = this.#connect();
    try {
      await this.#started;
      if (this.#phase === 'starting') this.#phase = 'running';
    } catch (error) {
      const typed = toKafkaError(error, {
        operation: 'subscribe',
        topic: this.#o.topic,
        secrets: this.#o.secrets,
        partitionAssignors: this.#o.partitionAssignors,
      });
      this.#recordError(typed);
      await this.#stop();
      throw typed;
    }
  }

  async #connect(): Promise<void> {
    const consumer = this.#consumer;
    const { events } = consumer;
    const { topic, group } = this.#o;
    consumer.on(events.CONNECT, () => this.#o.events.emit('connect', { topic, group }));
    consumer.on(events.DISCONNECT, () => this.#o.events.emit('disconnect', { topic, group }));
    consumer.on(events.GROUP_JOIN, (event) => this.#onJoin(event.payload.memberAssignment[topic] ?? []));
    consumer.on(events.REBALANCING, () => this.#onRebalancing());
    consumer.on(events.CRASH, (event) => this.#onCrash(event.payload.error, event.payload.restart));
    consumer.on(events.FETCH, () => this.#watchdog.progress());
    consumer.on(events.HEARTBEAT, () => this.#onHeartbeat());
    await consumer.connect();
    // A stop may have come while connecting: then never join the group.
    if (this.#phase !== 'starting') return;
    await this.#subscribe();
    if (this.#phase !== 'starting') return;
    this.#watchdog.start();
    await consumer.run(this.#runConfig);
  }

  readonly #runConfig: ConsumerRunConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: (payload) => this.#onBatch(payload),
  };

  /**
   * Subscribes, waiting (with backoff, up to `topicWaitMs`) for a topic that does not exist yet: a
   * broker that auto-creates topics answers the first metadata request before the topic has a leader.
   */
  async #subscribe(): Promise<void> {
    const deadline = Date.now() + this.#o.topicWaitMs;
    for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 1_000)) {
      try {
        await this.#consumer.subscribe({ topic: this.#o.topic, fromBeginning: this.#o.fromBeginning });
        return;
      } catch (error) {
        if (!isTopicNotReady(error) || Date.now() + delayMs > deadline || this.#phase !== 'starting') throw error;
        this.#o.logger.debug({ topic: this.#o.topic, delayMs }, 'topic not available yet; subscribing again');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  #onBatch(payload: EachBatchPayload): Promise<void> {
    const state = this.#partitions.get(payload.batch.partition);
    if (state === undefined || payload.batch.topic !== this.#o.topic) return Promise.resolve();
    return this.#gate.accept(state, payload);
  }

  /**
   * Heartbeats through kafkajs (which sends one only when the interval has passed). A lost or
   * moving coordinator is turned into a rebalance, so kafkajs finds the new coordinator and the
   * group takes this member back at once (see {@link isCoordinatorLost}).
   */
  async #heartbeat(heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat();
    } catch (error) {
      if (isCoordinatorLost(error)) {
        this.#o.logger.debug({ topic: this.#o.topic, group: this.#o.group, err: error }, 'coordinator lost; rejoining');
        throw coordinatorMoved(error);
      }
      throw error;
    }
  }

  #resume(partitions: number[]): void {
    if (this.#phase !== 'running') return;
    try {
      this.#consumer.resume([{ topic: this.#o.topic, partitions }]);
    } catch (error) {
      // Between a crash and its restart kafkajs has no consumer group; the restart resumes all.
      this.#o.logger.debug({ err: error }, 'resume skipped: consumer is restarting');
    }
  }

  #onJoin(assigned: number[]): void {
    this.#gate.release();
    if (this.#phase === 'stopping' || this.#phase === 'stopped') {
      // Joined after a stop gave up waiting for the start (kafkajs ignores a stop during a join):
      // leave again once kafkajs marks the consumer running, so no zombie member holds partitions.
      setImmediate(() => void this.#consumer.disconnect().catch(() => undefined));
      return;
    }
    const previous = [...this.#partitions.keys()];
    this.#retireAll();
    this.#partitions = new Map();
    this.#gate.reset();
    for (const partition of assigned) this.#partitions.set(partition, new PartitionState(this.#o.topic, partition));
    this.#handOut.assign([...this.#partitions.values()]);
    this.#rebalancing = false;
    this.#restarting = false;
    this.#watchdog.settled();
    // kafkajs keeps pause state across a rejoin; the records it guarded were dropped with the generation.
    try {
      this.#consumer.resume([{ topic: this.#o.topic }]);
    } catch {
      // No consumer group yet: nothing is paused.
    }
    this.#o.stats.rebalances++;
    const revoked = previous.filter((p) => !assigned.includes(p));
    this.#o.logger.debug({ topic: this.#o.topic, group: this.#o.group, assigned, revoked }, 'partitions assigned');
    this.#o.events.emit('rebalance', { topic: this.#o.topic, group: this.#o.group, assigned: [...assigned], revoked });
    this.#wake();
  }

  #onRebalancing(): void {
    // The group is rejoining: hand nothing more out (it may move to another member) and commit
    // the acked prefixes now, while the old generation's commits are still accepted.
    this.#rebalancing = true;
    this.#watchdog.rebalancing();
    this.#gate.release();
    this.#commits.flush();
  }

  #onHeartbeat(): void {
    this.#watchdog.progress();
    // A heartbeat of the current generation went through after a rebalance began: the join failed
    // (a coordinator that was loading, ...) and the group kept this member's assignment. Hand out
    // again instead of waiting for a join that is not coming.
    if (this.#rebalancing && !this.#restarting && this.#phase === 'running') {
      this.#rebalancing = false;
      this.#watchdog.settled();
      this.#o.logger.debug({ topic: this.#o.topic, group: this.#o.group }, 'rebalance ended without a new assignment');
      this.#wake();
    }
  }

  #onStall(reason: StallReason, stalledMs: number): void {
    if (this.#phase !== 'running') return;
    const { topic, group } = this.#o;
    const rejoining = reason === 'rebalance' && this.#rejoining === undefined;
    this.#o.logger.warn({ topic, group, reason, stalledMs, rejoining }, 'Kafka consumer stalled');
    this.#o.events.emit('stall', { topic, group, reason, stalledMs, rejoining });
    if (rejoining) {
      this.#rejoining = this.#rejoin().finally(() => {
        this.#rejoining = undefined;
      });
    }
  }

  /**
   * Restarts the kafkajs consumer: it leaves the group (when the coordinator answers) and joins
   * again as a new member from the committed offsets. What this member held is dropped, so its
   * unsettled messages are redelivered.
   */
  async #rejoin(): Promise<void> {
    const { topic, group } = this.#o;
    this.#retireAll();
    this.#rebalancing = true;
    this.#restarting = true;
    this.#gate.release();
    try {
      await this.#shutdown.withDeadline(this.#consumer.stop(), 'stop before rejoining');
      if (this.#phase !== 'running') return;
      await this.#consumer.run(this.#runConfig);
    } catch (error) {
      const typed = toKafkaError(error, { operation: 'consume', topic, secrets: this.#o.secrets });
      this.#recordError(typed);
      this.#o.logger.warn(
        { topic, group, err: typed },
        'rejoining the group failed; trying again after the next bound',
      );
    }
  }

  /**
   * Starts the kafkajs consumer again (it disconnected itself after the crash), every
   * `OUTAGE_RETRY_MS` until it runs or the session stops; it joins from the committed offsets.
   */
  #restartAfterOutage(): void {
    if (this.#outageTimer !== undefined) return;
    this.#outageTimer = setTimeout(async () => {
      this.#outageTimer = undefined;
      if (this.#phase !== 'running') return;
      try {
        await this.#consumer.connect();
        if (this.#phase !== 'running') return;
        // A join that fails from here crashes again, and that crash schedules the next attempt.
        await this.#consumer.run(this.#runConfig);
      } catch (error) {
        this.#recordError(
          toKafkaError(error, { operation: 'consume', topic: this.#o.topic, secrets: this.#o.secrets }),
        );
        this.#restartAfterOutage();
      }
    }, OUTAGE_RETRY_MS);
  }

  #onCrash(error: unknown, restart: boolean): void {
    const typed = toKafkaError(error, {
      operation: 'consume',
      topic: this.#o.topic,
      secrets: this.#o.secrets,
      partitionAssignors: this.#o.partitionAssignors,
    });
    this.#recordError(typed);
    const { topic, group } = this.#o;
    if (this.#phase === 'stopping' || this.#phase === 'stopped') {
      // kafkajs arms its restart timer right after this event; a crash racing with our stop must
      // not bring a consumer back into the group, so stop it again once the timer exists.
      if (restart) setImmediate(() => void this.#consumer.stop().catch(() => undefined));
      return;
    }
    // kafkajs will not restart after an outage longer than its retries: this session does instead.
    const restartHere = !restart && this.#phase === 'running' && isBrokerOutage(error);
    this.#o.events.emit('crash', { topic, group, error: typed, willRestart: restart || restartHere });
    if (restartHere) this.#restartAfterOutage();
    if (restart || restartHere) {
      this.#o.stats.reconnections++;
      this.#o.logger.warn({ topic, group, err: typed }, 'Kafka consumer crashed; kafkajs restarts it');
      // The restarted consumer rejoins from the committed offsets; drop what this generation held.
      this.#retireAll();
      this.#rebalancing = true;
      this.#restarting = true;
      this.#watchdog.rebalancing();
      this.#gate.release();
      return;
    }
    this.#o.logger.error({ topic, group, err: typed }, 'Kafka consumer crashed and will not restart');
    this.#watchdog.stop();
    this.#fatal = typed;
    this.#wake();
  }

  /** Drops what this member holds of every partition: it stays uncommitted, so it is fetched again. */
  #retireAll(): void {
    for (const state of this.#handOut.partitions) this.#gate.retire(state);
  }

  #recordError(error: BusError): void {
    this.#o.stats.lastError = { message: error.message, code: error.code, at: Date.now() };
  }

  #stop(): Promise<void> {
    this.#stopped ??= this.#stopNow();
    return this.#stopped;
  }

  async #stopNow(): Promise<void> {
    const wasStarted = this.#phase !== 'idle' && this.#phase !== 'stopped';
    this.#phase = 'stopping';
    this.#wake();
    this.#gate.release();
    this.#abort?.();
    this.#watchdog.stop();
    this.#handOut.stop();
    clearTimeout(this.#outageTimer);
    this.#outageTimer = undefined;
    try {
      if (wasStarted) {
        await this.#shutdown.leave({
          started: () => this.#started?.catch(() => undefined) ?? Promise.resolve(),
          finalCommit: () => this.#commits.final(),
          disconnect: () => this.#consumer.disconnect(),
        });
      }
    } finally {
      // kafkajs listeners stay: a late join or crash of this consumer must still be handled.
      this.#retireAll();
      this.#phase = 'stopped';
      this.#o.stats.inFlight -= this.#inFlight;
      this.#inFlight = 0;
      this.#onStopped();
    }
  }
}
