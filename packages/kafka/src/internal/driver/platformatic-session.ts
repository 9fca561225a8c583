import { type BusError, type NackOptions, type ReadyTaker, type ReceivedMessage, takeReady, toError } from '@bus/core';
import type * as Platformatic from '@platformatic/kafka';
import { toKafkaError } from '../../errors.js';
import { CommitScheduler } from '../commit-scheduler.js';
import { FETCH_AHEAD_RECORDS } from '../fetch-gate.js';
import { KafkaReceivedMessage, type SettlementSink } from '../consumer-message.js';
import type { SessionOptions } from '../consumer-session.js';
import type { PendingRecord } from '../held-record.js';
import { HandOut } from '../hand-out.js';
import { PartitionState } from '../partition-state.js';
import { subscriptionRoundRobin } from './platformatic-assignor.js';
import { type PlatformaticOptions, RETRY_POLICY } from './platformatic-config.js';
import { type RawBatch, takeRecords } from './platformatic-records.js';
import { loadPlatformatic } from './platformatic-driver.js';
import { connectWithRetry } from './platformatic-errors.js';
import { watchFetchLeaders } from './platformatic-fetch-leaders.js';
import { PlatformaticStall } from './platformatic-stall.js';
import { StreamRestart } from './platformatic-stream-restart.js';

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';
type BytesConsumer = Platformatic.Consumer<Buffer, Buffer, Buffer, Buffer>;
type BytesStream = Platformatic.MessagesStream<Buffer, Buffer, Buffer, Buffer>;
type FetchOptions = Platformatic.FetchOptions<Buffer, Buffer, Buffer, Buffer>;
type FetchCallback = (error: Error | null, response?: FetchResponse) => void;
/** The parts of a fetch request and response the session reads (see `#installFetchHook`). */
interface FetchRequestPartition {
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly partitionMaxBytes: number;
}
interface FetchRequestTopic {
  readonly topicId: string;
  readonly partitions: readonly FetchRequestPartition[];
}
interface FetchResponse {
  readonly responses: readonly {
    readonly topicId: string;
    readonly partitions: readonly {
      readonly partitionIndex: number;
      records?: readonly (RawBatch & { readonly length: number })[] | undefined;
    }[];
  }[];
}

const DONE: IteratorResult<ReceivedMessage> = { done: true, value: undefined };
/** The least a fetch asks of a partition: a batch or so (the broker sends at least one whole batch anyway). */
const MIN_FETCH_BYTES = 16 * 1024;
/** Messages handed out back to back before yielding to the event loop (I/O). */
const YIELD_EVERY = 2_048;

/** What the platformatic session needs beyond the kafkajs session's options. */
export interface PlatformaticSessionOptions extends Omit<SessionOptions, 'kafka' | 'consumerConfig'> {
  readonly client: PlatformaticOptions;
  readonly consumer: {
    readonly sessionTimeoutMs: number;
    readonly heartbeatIntervalMs: number;
    readonly rebalanceTimeoutMs: number;
    readonly fetchMaxWaitMs: number;
    readonly fetchMaxBytesPerPartition: number;
    readonly readUncommitted: boolean;
    readonly groupProtocol: 'classic' | 'consumer';
    readonly allowAutoTopicCreation: boolean;
  };
}

/** The request's entry for one partition (the stream asks for each partition in an entry of its own). */
function requestedPartition(
  requested: readonly FetchRequestTopic[],
  topicId: string,
  partition: number,
): FetchRequestPartition | undefined {
  for (const topic of requested) {
    if (topic.topicId !== topicId) continue;
    for (const entry of topic.partitions) if (entry.partition === partition) return entry;
  }
  return undefined;
}

/**
 * One subscription on @platformatic/kafka: one consumer (one group member) and its message
 * stream, bridged to the same pull-based iterator, hand-out, commit and settlement rules as the
 * kafkajs session. The stream is paused while the subscription holds its limit and resumed once
 * acks bring it to three quarters of it; a full partition is held alone (see `#installFetchHook`).
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
  /** KIP-848: a look for partitions added by a heartbeat's answer is under way (see `#onHeartbeat`). */
  #lookingForAssignment = false;
  readonly #stall: PlatformaticStall;
  /** Restarts the message stream after a stream error, a failed rejoin or a stall. */
  readonly #restart: StreamRestart;
  #fatal: BusError | undefined;
  #started: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #waiter: { promise: Promise<void>; resolve: () => void } | undefined;
  #abort: (() => void) | undefined;
  #sinceYield = 0;
  #outstanding = 0;
  #outstandingBytes = 0;
  #paused = false;
  /** Fetched records queued and not handed out yet (see `FETCH_AHEAD_RECORDS`). */
  #ahead = 0;
  /** Full partitions: left out of fetch requests until they drained to half their limit. */
  readonly #held = new Set<number>();
  /** Per partition of this generation, the offset its next fetch must start at (where the last one stopped). */
  readonly #fetchFrom = new Map<number, number>();
  /** Average bytes of a fetched record on the wire (0 until the first fetch): sizes fetch requests. */
  #bytesPerRecord = 0;
  /** Bumped with every new assignment: a fetch requested under an older one is not taken. */
  #generation = 0;
  /** A fetch request left with no partition (all held): answered empty after a wait, or at a release. */
  #idleFetch: { timer: NodeJS.Timeout; answer: () => void } | undefined;
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
    this.#outstanding -= before - state.outstanding;
    this.#outstandingBytes -= beforeBytes - state.outstandingBytes;
    if (this.#paused || this.#held.size > 0) this.#resumeIfRoom();
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
    if (++record.attempts === 1 && --this.#ahead <= FETCH_AHEAD_RECORDS / 2 && this.#paused) this.#resumeIfRoom();
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
    const c = this.#o.consumer;
    const consumer: BytesConsumer = new platformatic.Consumer({
      ...this.#o.client,
      groupId: group,
      ...(c.groupProtocol === 'consumer'
        ? { groupProtocol: 'consumer' as const }
        : {
            sessionTimeout: c.sessionTimeoutMs,
            heartbeatInterval: c.heartbeatIntervalMs,
            rebalanceTimeout: c.rebalanceTimeoutMs,
            partitionAssigner: subscriptionRoundRobin,
          }),
      maxWaitTime: c.fetchMaxWaitMs,
      maxBytesPerPartition: c.fetchMaxBytesPerPartition,
      isolationLevel: c.readUncommitted ? 0 : 1,
      autocommit: false,
      autocreateTopics: c.allowAutoTopicCreation,
    } as Platformatic.ConsumerOptions<Buffer, Buffer, Buffer, Buffer>);
    this.#consumer = consumer;
    this.#installFetchHook(consumer);
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
    this.#paused = false;
    // The join happened inside consume(): take the assignment it produced.
    this.#syncAssignment();
    // Records never reach the stream (see #installFetchHook); it only has to flow to keep fetching.
    stream.on('data', () => {});
    // The client moved fetch positions itself (committed offsets after a join, an offset out of range).
    // A stream left behind by a restart no longer counts.
    stream.on('offsets', () => {
      if (this.#stream === stream) this.#fetchFrom.clear();
    });
    stream.on('fetch', () => this.#stall.progress());
    stream.on('error', (error: Error) => {
      if (this.#stream === stream) this.#restart.crashed(error);
    });
  }

  /**
   * Puts the session between the client's message stream and its fetches. Fetching goes on as the
   * stream drives it, but every response's records are taken here, straight from the parsed
   * batches, before the stream sees them (it then pushes nothing): one copy per partition and
   * fetch, no message object per record, and the fetch position is this session's to set. A
   * partition holding `maxInFlightPerPartition` is left out of the requests until it drained to
   * half, so it cannot hold the others back (the client cannot pause a single partition); what a
   * response brings beyond the room left is not taken, and is fetched again from the first record
   * not taken. A fetch requested under an earlier assignment is not taken at all: its partitions'
   * positions were reset to the committed offsets by the join, and taking it would skip records.
   */
  #installFetchHook(consumer: BytesConsumer): void {
    const fetch = consumer.fetch.bind(consumer) as (options: FetchOptions, callback: FetchCallback) => void;
    const hooked = (options: FetchOptions, callback: FetchCallback): void => {
      const generation = this.#generation;
      const requested = this.#fetchable(options.topics as unknown as FetchRequestTopic[]);
      if (requested.length === 0) {
        this.#waitIdle(callback);
        return;
      }
      // A fetch whose broker lost a partition's leadership is answered here, empty (see watchFetchLeaders);
      // what it brings when the client finally gives it up or gets an answer is not taken.
      let answered = false;
      const stopWatch = watchFetchLeaders(
        consumer,
        this.#o.topic,
        (options as { node?: number }).node,
        requested.flatMap((t) => t.partitions.map((p) => p.partition)),
        () => {
          answered = true;
          callback(null, { responses: [] });
        },
      );
      fetch({ ...options, topics: requested } as unknown as FetchOptions, (error, response) => {
        stopWatch();
        if (answered) return;
        if (response !== undefined && (error === null || error === undefined)) {
          this.#onFetched(response, requested, generation);
        }
        callback(error, response);
      });
    };
    (consumer as unknown as { fetch: typeof hooked }).fetch = hooked;
  }

  /**
   * The partitions of a request worth fetching (the held ones left out), each asking for about as
   * many bytes as the records there is room for: a fetch that brought far more than the room (up to
   * `fetchMaxBytesPerPartition` of every partition) would have its surplus parsed by the client,
   * dropped, and fetched again.
   */
  #fetchable(topics: readonly FetchRequestTopic[]): FetchRequestTopic[] {
    let count = 0;
    for (const topic of topics) for (const p of topic.partitions) if (!this.#held.has(p.partition)) count++;
    if (count === 0) return [];
    const { maxInFlightPerPartition, maxInFlight } = this.#o;
    const share = Math.max(1, Math.floor((maxInFlight - this.#outstanding) / count));
    const perRecord = this.#bytesPerRecord;
    const result: FetchRequestTopic[] = [];
    for (const topic of topics) {
      const partitions: FetchRequestPartition[] = [];
      for (const p of topic.partitions) {
        if (this.#held.has(p.partition)) continue;
        if (perRecord === 0) {
          partitions.push(p);
          continue;
        }
        const state = this.#partitions.get(p.partition);
        const room = Math.min(share, maxInFlightPerPartition - (state?.outstanding ?? 0));
        const bytes = Math.ceil(Math.max(1, room) * perRecord);
        partitions.push({ ...p, partitionMaxBytes: Math.min(p.partitionMaxBytes, Math.max(MIN_FETCH_BYTES, bytes)) });
      }
      if (partitions.length > 0) result.push({ ...topic, partitions });
    }
    return result;
  }

  /** Answers a request with no partition left in it with an empty response, after a fetch wait or at a release. */
  #waitIdle(callback: FetchCallback): void {
    const answer = () => {
      if (this.#idleFetch?.answer !== answer) return;
      clearTimeout(this.#idleFetch.timer);
      this.#idleFetch = undefined;
      callback(null, { responses: [] });
    };
    this.#idleFetch = { timer: setTimeout(answer, this.#o.consumer.fetchMaxWaitMs), answer };
  }

  /** Takes the records of one fetch response (then removed from it, so the stream pushes none). */
  #onFetched(response: FetchResponse, requested: readonly FetchRequestTopic[], generation: number): void {
    const taking = generation === this.#generation && this.#phase === 'running';
    const { maxInFlightPerPartition, maxInFlight, maxInFlightBytes, topic } = this.#o;
    let queuedAny = false;
    for (const topicResponse of response.responses) {
      for (const part of topicResponse.partitions) {
        const batches = part.records;
        if (batches === undefined) continue;
        part.records = undefined;
        const asked = requestedPartition(requested, topicResponse.topicId, part.partitionIndex);
        // A partition the request did not name lingers in the broker's fetch session: stale data.
        if (!taking || asked === undefined) continue;
        const state = this.#partitions.get(part.partitionIndex);
        if (state === undefined) {
          // The client moved partitions without a join (KIP-848 adds them incrementally): take its
          // assignment; this response was requested before it, so it is fetched again.
          this.#syncAssignment();
          continue;
        }
        const from = Number(asked.fetchOffset);
        const expected = this.#fetchFrom.get(state.partition);
        if (state.retired || (expected !== undefined && expected !== from)) continue;
        const room = Math.min(maxInFlightPerPartition - state.outstanding, maxInFlight - this.#outstanding);
        const bytesRoom = maxInFlightBytes - this.#outstandingBytes;
        this.#noteBatchSizes(batches);
        const held: PendingRecord[] = [];
        const taken =
          room > 0 && bytesRoom > 0
            ? takeRecords(batches, from, state.tracker.lastRegistered, room, bytesRoom, held)
            : { next: from, queued: 0, bytes: 0 };
        this.#fetchFrom.set(state.partition, taken.next);
        this.#stream?.offsetsToFetch.set(`${topic}:${state.partition}`, BigInt(taken.next));
        if (taken.queued > 0) {
          const bytesBefore = state.outstandingBytes;
          const outstandingBefore = state.outstanding;
          state.queueHeld(held);
          const queued = state.outstanding - outstandingBefore;
          this.#outstanding += queued;
          this.#outstandingBytes += state.outstandingBytes - bytesBefore;
          this.#ahead += queued;
          if (queued > 0) queuedAny = true;
        }
        // Only this partition stops: the others keep flowing (a partition stuck on an unsettled or
        // delayed message at its head cannot hold them back).
        if (state.outstanding >= maxInFlightPerPartition) this.#held.add(state.partition);
      }
    }
    if (
      !this.#paused &&
      (this.#outstanding >= maxInFlight ||
        this.#outstandingBytes >= maxInFlightBytes ||
        this.#aheadOfConsumer() >= FETCH_AHEAD_RECORDS)
    ) {
      // Full, or far enough ahead of the consumer: stop fetching until acks or hand-outs make room.
      this.#paused = true;
      this.#stream?.pause();
    }
    if (queuedAny) this.#wake();
  }

  /** Keeps the average bytes a record takes in fetched batches up to date (for `#fetchable`). */
  #noteBatchSizes(batches: readonly (RawBatch & { readonly length: number })[]): void {
    let bytes = 0;
    let records = 0;
    for (const batch of batches) {
      bytes += batch.length;
      records += batch.records.length;
    }
    if (records === 0) return;
    const measured = bytes / records;
    this.#bytesPerRecord = this.#bytesPerRecord === 0 ? measured : this.#bytesPerRecord * 0.75 + measured * 0.25;
  }

  #resumeIfRoom(): void {
    if (this.#phase !== 'running') return;
    if (this.#held.size > 0) {
      // Resume at half the limit, so a partition is not held and released on every ack.
      const limit = this.#o.maxInFlightPerPartition / 2;
      for (const partition of this.#held) {
        const state = this.#partitions.get(partition);
        if (state === undefined || state.retired || state.outstanding <= limit) this.#held.delete(partition);
      }
      // A fetch loop left idle by held partitions goes on at once.
      if (this.#idleFetch !== undefined && this.#held.size < this.#partitions.size) {
        const { answer } = this.#idleFetch;
        queueMicrotask(answer);
      }
    }
    if (!this.#paused) return;
    const { maxInFlight, maxInFlightBytes } = this.#o;
    if (this.#outstanding > maxInFlight * 0.75 || this.#outstandingBytes > maxInFlightBytes * 0.75) return;
    if (this.#aheadOfConsumer() > FETCH_AHEAD_RECORDS / 2) return;
    this.#paused = false;
    this.#stream?.resume();
  }

  /**
   * Records queued ahead of the consumer, as the kafkajs session counts them: those of a partition
   * waiting for a delayed redelivery aside, so they cannot hold the other partitions back.
   */
  #aheadOfConsumer(): number {
    if (this.#ahead < FETCH_AHEAD_RECORDS / 2) return this.#ahead;
    let ahead = 0;
    for (const state of this.#partitions.values()) if (!state.blocked && !state.retired) ahead += state.queued;
    return ahead;
  }

  /** Takes the client's current assignment when it differs from what this session serves (or a rebalance began). */
  #syncAssignment(): void {
    const consumer = this.#consumer;
    if (consumer === undefined || this.#phase === 'stopping' || this.#phase === 'stopped') return;
    const assigned = [
      ...new Set((consumer.assignments ?? []).filter((a) => a.topic === this.#o.topic).flatMap((a) => a.partitions)),
    ].sort((a, b) => a - b);
    const previous = [...this.#partitions.keys()];
    const unchanged =
      !this.#rebalancing && previous.length === assigned.length && previous.every((p) => assigned.includes(p));
    if (unchanged && this.#assignedOnce) return;
    this.#assignedOnce = true;
    this.#retireAll();
    this.#partitions = new Map();
    this.#outstanding = 0;
    this.#outstandingBytes = 0;
    this.#held.clear();
    this.#fetchFrom.clear();
    this.#generation++;
    this.#ahead = 0;
    for (const partition of assigned) this.#partitions.set(partition, new PartitionState(this.#o.topic, partition));
    this.#handOut.assign([...this.#partitions.values()]);
    this.#rebalancing = false;
    this.#stall.settled();
    if (this.#paused) {
      this.#paused = false;
      this.#stream?.resume();
    }
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
    // A classic rebalance ends with a join event. Under KIP-848 the client moves partitions after
    // this event without another one: look for the new assignment (past the bound, take what it has).
    if (this.#o.consumer.groupProtocol !== 'consumer') return;
    const started = Date.now();
    const snapshot = JSON.stringify(this.#consumer?.assignments ?? []);
    const look = () => {
      if (!this.#rebalancing || this.#phase !== 'running') return;
      const changed = JSON.stringify(this.#consumer?.assignments ?? []) !== snapshot;
      if (changed || Date.now() - started >= this.#o.stall.rebalanceBoundMs) this.#syncAssignment();
      else setTimeout(look, 20).unref();
    };
    setTimeout(look, 20).unref();
  }

  /**
   * A heartbeat went through. Under KIP-848 its answer is also how partitions arrive: the client
   * adds newly assigned ones (a member that joined after a revocation elsewhere, or one that got a
   * leaving member's partitions) without any event, so look for a changed assignment after each.
   */
  #onHeartbeat(): void {
    this.#stall.progress();
    if (this.#o.consumer.groupProtocol !== 'consumer' || this.#lookingForAssignment) return;
    this.#lookingForAssignment = true;
    // The client takes the answer's assignment after a metadata lookup: give it a moment.
    const until = Date.now() + 1_000;
    const look = () => {
      if (this.#phase !== 'running' || this.#rebalancing) {
        this.#lookingForAssignment = false;
        return;
      }
      if (this.#assignmentChanged()) {
        this.#lookingForAssignment = false;
        this.#syncAssignment();
      } else if (Date.now() >= until) this.#lookingForAssignment = false;
      else setTimeout(look, 20).unref();
    };
    look();
  }

  /** Whether the client's assignment of this topic differs from the partitions this session serves. */
  #assignmentChanged(): boolean {
    const assignments = this.#consumer?.assignments;
    if (assignments === null || assignments === undefined) return false;
    const assigned = new Set(assignments.filter((a) => a.topic === this.#o.topic).flatMap((a) => a.partitions));
    if (assigned.size !== this.#partitions.size) return true;
    for (const partition of assigned) if (!this.#partitions.has(partition)) return true;
    return false;
  }

  /**
   * Drops what this member holds before a restart (it stays uncommitted, so it is fetched again)
   * and detaches the message stream; returns what closes it (see `StreamRestart`).
   */
  #detachStream(): () => Promise<void> {
    this.#retireAll();
    // A fetch the old stream still has in flight is not taken (see #onFetched).
    this.#generation++;
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
