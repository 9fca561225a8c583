import { type BusError, type NackOptions, type ReadyTaker, type ReceivedMessage, takeReady, toError } from '@bus/core';
import type * as Platformatic from '@platformatic/kafka';
import { toKafkaError } from '../../errors.js';
import { CommitScheduler } from '../commit-scheduler.js';
import { KafkaReceivedMessage, type SettlementSink } from '../consumer-message.js';
import type { SessionOptions } from '../consumer-session.js';
import type { PendingRecord } from '../held-record.js';
import { HandOut } from '../hand-out.js';
import { PartitionState } from '../partition-state.js';
import { AssignmentWatch } from './platformatic-assignment.js';
import {
  type PlatformaticConsumerConfig,
  type PlatformaticOptions,
  RETRY_POLICY,
  toConsumerOptions,
} from './platformatic-config.js';
import { loadPlatformatic } from './platformatic-driver.js';
import { connectWithRetry } from './platformatic-errors.js';
import { FetchIntake } from './platformatic-fetch-intake.js';
import { PlatformaticStall } from './platformatic-stall.js';
import { StreamRestart } from './platformatic-stream-restart.js';

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';
type BytesConsumer = Platformatic.Consumer<Buffer, Buffer, Buffer, Buffer>;
type BytesStream = Platformatic.MessagesStream<Buffer, Buffer, Buffer, Buffer>;
const DONE: IteratorResult<ReceivedMessage> = { done: true, value: undefined };
/** Messages handed out back to back before yielding to the event loop (I/O). */
const YIELD_EVERY = 2_048;

/** What the platformatic session needs beyond the kafkajs session's options. */
export interface PlatformaticSessionOptions extends Omit<SessionOptions, 'kafka' | 'consumerConfig'> {
  readonly client: PlatformaticOptions;
  readonly consumer: PlatformaticConsumerConfig;
}

/**
 * One subscription on @platformatic/kafka: one consumer (one group member) and its message
 * stream, bridged to the same pull-based iterator, hand-out, commit and settlement rules as the
 * kafkajs session. Fetching, and how much it holds in memory, is the fetch intake's
 * (`FetchIntake`); restarts of the stream are `StreamRestart`'s, stalls `PlatformaticStall`'s.
 */
export class PlatformaticConsumerSession implements AsyncIterator<ReceivedMessage>, ReadyTaker, SettlementSink {
  readonly #o: PlatformaticSessionOptions;
  readonly #scheduler: CommitScheduler | undefined;
  readonly #onStopped: () => void;
  readonly #handOut: HandOut<ReceivedMessage>;
  #phase: Phase = 'idle';
  #partitions = new Map<number, PartitionState>();
  #consumer: BytesConsumer | undefined;
  #stream: BytesStream | undefined;
  #rebalancing = false;
  /** Whether an assignment (even an empty one) was taken and announced. */
  #assignedOnce = false;
  /** Reads the client's assignment and finds KIP-848 changes the client announces no event for. */
  readonly #assignment: AssignmentWatch;
  readonly #stall: PlatformaticStall;
  /** Restarts the message stream after a stream error, a failed rejoin or a stall. */
  readonly #restart: StreamRestart;
  #fatal: BusError | undefined;
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  #abort: (() => void) | undefined;
  #sinceYield = 0;
  /** Takes fetched records into the partitions' states and paces fetching (see `FetchIntake`). */
  readonly #intake: FetchIntake;
  /** Messages this session handed out that are not settled; they leave the stats when it stops. */
  #inFlight = 0;

  constructor(options: PlatformaticSessionOptions, signal: AbortSignal | undefined, onStopped: () => void) {
    this.#o = options;
    this.#onStopped = onStopped;
    this.#scheduler =
      options.commit === undefined ? undefined : new CommitScheduler(options.commit, () => this.#commitPending());
    this.#handOut = new HandOut(
      (record, state) => this.#deliver(record, state),
      () => this.#wake(),
    );
    this.#intake = new FetchIntake({
      topic: options.topic,
      maxInFlight: options.maxInFlight,
      maxInFlightPerPartition: options.maxInFlightPerPartition,
      maxInFlightBytes: options.maxInFlightBytes,
      fetchMaxWaitMs: options.consumer.fetchMaxWaitMs,
      running: () => this.#phase === 'running',
      partitions: () => this.#partitions,
      stream: () => this.#stream,
      unassigned: () => this.#syncAssignment(),
      queued: () => this.#wake(),
    });
    this.#assignment = new AssignmentWatch({
      topic: options.topic,
      groupProtocol: options.consumer.groupProtocol,
      rebalanceBoundMs: options.stall.rebalanceBoundMs,
      assignments: () => this.#consumer?.assignments,
      served: () => this.#partitions,
      running: () => this.#phase === 'running',
      rebalancing: () => this.#rebalancing,
      sync: () => this.#syncAssignment(),
    });
    this.#stall = new PlatformaticStall({
      topic: options.topic,
      group: options.group,
      bounds: options.stall,
      logger: options.logger,
      events: options.events,
      running: () => this.#phase === 'running',
      restarting: () => this.#restart.active,
      rejoin: () => this.#restart.rejoin(),
    });
    this.#restart = new StreamRestart({
      topic: options.topic,
      group: options.group,
      secrets: options.secrets,
      logger: options.logger,
      events: options.events,
      stats: options.stats,
      running: () => this.#phase === 'running',
      stopping: () => this.#phase === 'stopping' || this.#phase === 'stopped',
      detach: () => this.#detachStream(),
      leaveGroup: () => {
        const consumer = this.#consumer;
        if (consumer === undefined) return Promise.resolve();
        return new Promise<void>((resolve) => consumer.leaveGroup(true, () => resolve()));
      },
      probe: async () => {
        await this.#consumer?.metadata({ topics: [this.#o.topic], forceUpdate: true, retries: 0 });
      },
      open: () => this.#openStream(() => this.#phase === 'running'),
      record: (error) => this.#recordError(error),
      fatal: (error) => {
        this.#stall.stop();
        this.#fatal = error;
        this.#wake();
      },
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
    if (this.#phase === 'running' && this.#fatal === undefined) {
      if (++this.#sinceYield >= YIELD_EVERY) {
        this.#sinceYield = 0;
        return new Promise((resolve) => setImmediate(() => resolve(this.#nextSlow())));
      }
      const message = this.#take();
      if (message !== undefined) return Promise.resolve({ done: false, value: message });
    }
    return this.#nextSlow();
  }

  [takeReady](): ReceivedMessage | undefined {
    if (this.#phase !== 'running' || this.#fatal !== undefined) return undefined;
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

  // --- settlement ---

  acked(record: PendingRecord, state: PartitionState): void {
    this.#o.stats.acked++;
    this.#settled();
    if (state.retired) return;
    const before = state.outstanding;
    const beforeBytes = state.outstandingBytes;
    if (!state.tracker.ack(record)) return;
    this.#intake.released(before - state.outstanding, beforeBytes - state.outstandingBytes);
    if (this.#phase === 'stopping') void this.#scheduler?.flush();
    else this.#scheduler?.noteAck();
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

  #settled(): void {
    if (this.#phase === 'stopped') return;
    this.#inFlight--;
    this.#o.stats.inFlight--;
  }

  #take(): ReceivedMessage | undefined {
    return this.#rebalancing ? undefined : this.#handOut.take();
  }

  #deliver(record: PendingRecord, state: PartitionState): ReceivedMessage {
    if (++record.attempts === 1) this.#intake.handedOut();
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
      const { promise, resolve } = Promise.withResolvers<void>();
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
      const typed = toKafkaError(error, { operation: 'subscribe', topic: this.#o.topic, secrets: this.#o.secrets });
      this.#recordError(typed);
      await this.#stop();
      throw typed;
    }
  }

  async #connect(): Promise<void> {
    const platformatic = await loadPlatformatic();
    const { topic, group } = this.#o;
    const consumer: BytesConsumer = new platformatic.Consumer(
      toConsumerOptions(this.#o.client, group, this.#o.consumer),
    );
    this.#consumer = consumer;
    this.#intake.install(consumer);
    const { retries, delay } = this.#o.client[RETRY_POLICY];
    await connectWithRetry(
      () => consumer.metadata({ topics: [], retries: 0 }),
      retries,
      delay,
      () => this.#phase !== 'starting',
    );
    this.#o.events.emit('connect', { topic, group });
    if (this.#phase !== 'starting') return;
    consumer.on('consumer:group:rebalance', () => this.#onRebalancing());
    consumer.on('consumer:group:join', () => this.#syncAssignment());
    consumer.on('consumer:heartbeat:end', () => this.#onHeartbeat());
    // The client emits 'error' when a rejoin it started after a failed heartbeat gave up: it then
    // heartbeats no more, so the member drops out of the group. (Unhandled, it would end the process.)
    consumer.on('error', (error: Error) => this.#restart.crashed(error));
    await this.#openStream(() => this.#phase === 'starting');
    this.#stall.start();
  }

  /**
   * Opens the consumer's message stream: consume() joins the group first when the member has no
   * membership (or the topic is new to it). A topic that does not exist yet is waited for, up to
   * `topicWaitMs`, while `active()` holds.
   */
  async #openStream(active: () => boolean): Promise<void> {
    const consumer = this.#consumer as BytesConsumer;
    const { topic } = this.#o;
    const deadline = Date.now() + this.#o.topicWaitMs;
    let stream: BytesStream | undefined;
    for (let delayMs = 50; stream === undefined; delayMs = Math.min(delayMs * 2, 1_000)) {
      try {
        stream = await consumer.consume({
          topics: [topic],
          mode: 'committed',
          fallbackMode: this.#o.fromBeginning ? 'earliest' : 'latest',
          autocommit: false,
          maxWaitTime: this.#o.consumer.fetchMaxWaitMs,
        });
      } catch (error) {
        const typed = toKafkaError(error, { operation: 'subscribe', topic, secrets: this.#o.secrets });
        if (typed.code !== 'KAFKA_UNKNOWN_TOPIC' || Date.now() + delayMs > deadline || !active()) throw error;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
    if (!active()) {
      await stream.close().catch(() => undefined);
      return;
    }
    this.#stream = stream;
    this.#intake.streamOpened();
    // The join happened inside consume(): take the assignment it produced.
    this.#syncAssignment();
    // Records never reach the stream (see FetchIntake); it only has to flow to keep fetching.
    stream.on('data', () => {});
    // The client moved fetch positions itself (committed offsets after a join, an offset out of range).
    // A stream left behind by a restart no longer counts.
    stream.on('offsets', () => {
      if (this.#stream === stream) this.#intake.positionsMoved();
    });
    stream.on('fetch', () => this.#stall.progress());
    stream.on('error', (error: Error) => {
      if (this.#stream === stream) this.#restart.crashed(error);
    });
  }

  /** Takes the client's current assignment when it differs from what this session serves (or a rebalance began). */
  #syncAssignment(): void {
    if (this.#consumer === undefined || this.#phase === 'stopping' || this.#phase === 'stopped') return;
    const assigned = this.#assignment.assigned();
    const previous = [...this.#partitions.keys()];
    const unchanged =
      !this.#rebalancing && previous.length === assigned.length && previous.every((p) => assigned.includes(p));
    if (unchanged && this.#assignedOnce) return;
    this.#assignedOnce = true;
    // A partition kept into the new assignment starts over with a new state, whose commits claim
    // everything before its first record. The client does not move a kept partition's fetch position
    // when a KIP-848 heartbeat only revokes others (a classic join resets it to the committed offset),
    // so it is moved back here to the first record not yet committable: dropping the old state must
    // not skip what was in flight.
    const resume: [number, number][] = [];
    for (const partition of assigned) {
      const offset = this.#partitions.get(partition)?.tracker.resumeOffset ?? -1;
      if (offset >= 0) resume.push([partition, offset]);
    }
    this.#retireAll();
    this.#partitions = new Map();
    for (const partition of assigned) this.#partitions.set(partition, new PartitionState(this.#o.topic, partition));
    this.#handOut.assign([...this.#partitions.values()]);
    this.#rebalancing = false;
    this.#stall.settled();
    this.#intake.reset();
    const positions = this.#stream?.offsetsToFetch;
    for (const [partition, offset] of resume) positions?.set(`${this.#o.topic}:${partition}`, BigInt(offset));
    this.#o.stats.rebalances++;
    const revoked = previous.filter((p) => !assigned.includes(p));
    const { topic, group } = this.#o;
    this.#o.logger.debug({ topic, group, assigned, revoked }, 'partitions assigned');
    this.#o.events.emit('rebalance', { topic, group, assigned, revoked });
    this.#wake();
  }

  #onRebalancing(): void {
    // Partitions are about to move: hand nothing more out and commit the acked prefixes now,
    // while this generation's commits are still accepted.
    this.#rebalancing = true;
    this.#stall.rebalancing();
    void this.#scheduler?.flush();
    // A classic rebalance ends with a join event; under KIP-848 none comes (see AssignmentWatch).
    this.#assignment.afterRebalance();
  }

  /** A heartbeat went through: a sign of life, and under KIP-848 maybe new partitions. */
  #onHeartbeat(): void {
    this.#stall.progress();
    this.#assignment.afterHeartbeat();
  }

  /**
   * Drops what this member holds before a restart (it stays uncommitted, so it is fetched again)
   * and detaches the message stream; returns what closes it (see `StreamRestart`).
   */
  #detachStream(): () => Promise<void> {
    this.#retireAll();
    // A fetch the old stream still has in flight is not taken.
    this.#intake.invalidate();
    this.#rebalancing = true;
    this.#stall.rebalancing();
    const stream = this.#stream;
    this.#stream = undefined;
    return async () => {
      await stream?.close();
    };
  }

  #retireAll(): void {
    for (const state of this.#handOut.partitions) state.retire();
  }

  async #commitPending(): Promise<void> {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    const offsets: { topic: string; partition: number; offset: bigint; leaderEpoch: number }[] = [];
    const committed: { state: PartitionState; offset: number }[] = [];
    for (const state of this.#handOut.partitions) {
      if (state.retired) continue;
      const offset = state.tracker.pendingCommit();
      if (offset === undefined) continue;
      offsets.push({ topic: state.topic, partition: state.partition, offset: BigInt(offset), leaderEpoch: -1 });
      committed.push({ state, offset });
    }
    if (offsets.length === 0) return;
    const { topic, group } = this.#o;
    try {
      await consumer.commit({ offsets });
      for (const { state, offset } of committed) state.tracker.markCommitted(offset);
      this.#o.stats.commits++;
      this.#o.events.emit('commit', {
        topic,
        group,
        offsets: committed.map(({ state, offset }) => ({ partition: state.partition, offset })),
      });
    } catch (error) {
      const typed = toKafkaError(error, { operation: 'commit', topic, secrets: this.#o.secrets });
      this.#o.stats.commitFailures++;
      this.#recordError(typed);
      this.#o.logger.warn({ topic, group, err: typed }, 'offset commit failed');
      this.#o.events.emit('error', { topic, group, operation: 'commit', error: typed });
    }
  }

  #recordError(error: BusError): void {
    this.#o.stats.lastError = { message: error.message, code: error.code, at: Date.now() };
  }

  #stop(): Promise<void> {
    this.#stopped ??= this.#shutdown();
    return this.#stopped;
  }

  async #shutdown(): Promise<void> {
    const wasStarted = this.#phase !== 'idle' && this.#phase !== 'stopped';
    this.#phase = 'stopping';
    this.#wake();
    this.#abort?.();
    this.#handOut.stop();
    this.#stall.stop();
    this.#restart.cancel();
    const deadline = Date.now() + this.#o.closeTimeoutMs;
    try {
      if (wasStarted) {
        await this.#step(this.#started?.catch(() => undefined) ?? Promise.resolve(), 'start', deadline);
        const leaveShare = Math.min(1_000, this.#o.closeTimeoutMs / 4);
        await this.#step(this.#finalCommit(), 'final commit', deadline - leaveShare);
        const stream = this.#stream;
        const consumer = this.#consumer;
        await this.#step(
          (async () => {
            await stream?.close();
            // Leaves the group, so its partitions go to the other members at once.
            await consumer?.close(true);
          })(),
          'disconnect',
          deadline,
        );
        if (consumer !== undefined) this.#o.events.emit('disconnect', { topic: this.#o.topic, group: this.#o.group });
      }
    } finally {
      this.#retireAll();
      this.#phase = 'stopped';
      this.#o.stats.inFlight -= this.#inFlight;
      this.#inFlight = 0;
      this.#onStopped();
    }
  }

  async #step(promise: Promise<void>, what: string, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        promise.catch((error: unknown) => Promise.reject(toError(error))),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Kafka consumer ${what} did not finish within the close deadline`)),
            Math.max(0, deadline - Date.now()),
          );
        }),
      ]);
    } catch (error) {
      const typed = toKafkaError(error, { operation: 'close', topic: this.#o.topic, secrets: this.#o.secrets });
      this.#recordError(typed);
      this.#o.logger.warn({ topic: this.#o.topic, group: this.#o.group, err: typed }, `consumer ${what} failed`);
    } finally {
      clearTimeout(timer);
    }
  }

  async #finalCommit(): Promise<void> {
    if (this.#scheduler === undefined) return;
    this.#scheduler.stop();
    await this.#scheduler.flush();
    if (this.#handOut.partitions.some((state) => !state.retired && state.tracker.pendingCommit() !== undefined)) {
      await this.#scheduler.flush();
    }
  }
}
