import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { TrackedOffset } from './commit-tracker.js';
import type { PartitionState } from './partition-state.js';

/** How much one subscription may hold; see the subscriber options of the same names. */
export interface FetchGateLimits {
  readonly maxInFlightPerPartition: number;
  readonly maxInFlight: number;
  readonly maxInFlightBytes: number;
  /** While waiting for room inside a batch, heartbeat this often so the member stays in the group. */
  readonly heartbeatIntervalMs: number;
  /** Most fetched records queued and not handed out; default {@link FETCH_AHEAD_RECORDS}. */
  readonly fetchAheadRecords?: number;
}

/** What the gate needs from its session. */
export interface FetchGateHost {
  /** Whether the session takes batches at all (it is running). */
  readonly accepting: boolean;
  /** Records were queued: a waiting consumer may take them. */
  wake(): void;
  /** Heartbeats through kafkajs; throws what kafkajs must see (a rebalance). */
  heartbeat(heartbeat: () => Promise<void>): Promise<void>;
  /** Pauses fetching of one partition. */
  pause(state: PartitionState): void;
  /** Resumes fetching of partitions paused before. */
  resume(partitions: number[]): void;
  /** The partitions served. */
  readonly partitions: readonly PartitionState[];
}

/** How long a batch waits for room in a full partition before that partition is paused instead. */
const PARTITION_STALL_MS = 250;

/**
 * Most fetched records queued and not handed out yet (within `maxInFlight`). The consumer reads
 * the rest of a fetched batch from kafkajs as the queue drains, so a short queue costs no fetch
 * round trips; a long one only holds records longer, and records that live longer survive V8's
 * young-generation collections, which then grow the heap (a queue of 10,000 records of 1 KiB
 * cost about 100 MB of peak RSS with a 1 ms handler).
 */
export const FETCH_AHEAD_RECORDS = 1_000;

/**
 * The fetch gate: how many records (and bytes) a subscription holds, and how kafkajs' fetching is
 * held back when that is too much.
 *
 * `accept` queues a batch's records into its partition and resolves their offsets (the fetch
 * position). When the subscription is full it waits inside `eachBatch` (heartbeating) for acks to
 * make room, which holds kafkajs' next fetch back; a partition whose consumer is stuck on it is
 * paused instead, so it cannot hold the others back, and resumed once it drained to half.
 */
export class FetchGate {
  readonly #limits: FetchGateLimits;
  readonly #host: FetchGateHost;
  #outstanding = 0;
  #outstandingBytes = 0;
  /** Fetched records queued and not handed out yet, over every partition. */
  #queued = 0;
  /** Of `#queued`, those of partitions that wait for a delayed redelivery (as last counted). */
  #blockedQueued = 0;
  readonly #maxQueued: number;
  #paused = 0;
  #roomWaiters: (() => void)[] = [];
  #roomCheck: (() => boolean) | undefined;

  constructor(limits: FetchGateLimits, host: FetchGateHost) {
    this.#limits = limits;
    this.#host = host;
    this.#maxQueued = Math.min(limits.fetchAheadRecords ?? FETCH_AHEAD_RECORDS, limits.maxInFlight);
  }

  /** Queues the records of one kafkajs batch into `state`, waiting for room as needed. */
  async accept(
    state: PartitionState,
    { batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload,
  ): Promise<void> {
    const accepting = () => this.#host.accepting && !state.retired && isRunning() && !isStale();
    if (!accepting()) return;
    const { maxInFlightPerPartition, maxInFlight, maxInFlightBytes } = this.#limits;
    const messages = batch.messages;
    let index = 0;
    while (index < messages.length) {
      const partitionRoom = maxInFlightPerPartition - state.outstanding;
      const room = Math.min(partitionRoom, maxInFlight - this.#outstanding, this.#queueRoom());
      if (room <= 0 || this.#outstandingBytes >= maxInFlightBytes) {
        // Full: wait here (heartbeating) rather than pausing, so kafkajs fetches again the moment
        // acks make room; a fully paused kafkajs consumer sleeps a whole fetch wait.
        const freed = await this.#waitForRoom(
          heartbeat,
          () =>
            state.outstanding <= maxInFlightPerPartition * 0.75 &&
            this.#outstanding <= maxInFlight * 0.75 &&
            this.#outstandingBytes <= maxInFlightBytes * 0.75 &&
            this.#queued - this.#blockedQueued <= this.#maxQueued / 2,
          partitionRoom <= 0 ? PARTITION_STALL_MS : this.#limits.heartbeatIntervalMs,
        );
        if (!accepting()) return;
        if (!freed && state.outstanding >= maxInFlightPerPartition) {
          // This partition's consumer is stuck on it (an unsettled or delayed message at its head):
          // pause just this partition so the others keep flowing; the rest of the batch is
          // fetched again after the resume.
          this.#pause(state);
          return;
        }
        continue;
      }
      // The byte budget is checked per record, so one record larger than it still gets through.
      const { next, queued, bytes } = state.enqueue(messages, index, room, maxInFlightBytes - this.#outstandingBytes);
      // The fetch position moves over what was queued.
      if (next > index) resolveOffset((messages[next - 1] as KafkaMessage).offset);
      index = next;
      this.#outstanding += queued;
      this.#outstandingBytes += bytes;
      this.#queued += queued;
      if (queued > 0) this.#host.wake();
    }
    await this.#host.heartbeat(heartbeat);
  }

  /**
   * Acks `record` in `state`'s tracker and says whether the committable prefix moved. Frees room
   * (and resumes paused partitions of `partitions`) when it did.
   */
  acked(state: PartitionState, record: TrackedOffset, partitions: readonly PartitionState[]): boolean {
    const before = state.outstanding;
    const beforeBytes = state.outstandingBytes;
    if (!state.tracker.ack(record)) return false;
    this.#outstanding -= before - state.outstanding;
    this.#outstandingBytes -= beforeBytes - state.outstandingBytes;
    if (this.#roomCheck?.() === true) this.release();
    if (this.#paused > 0) this.#resumeIfRoom(partitions);
    return true;
  }

  /** Books a fetched record handed out for the first time (redeliveries are not queued fetches). */
  handedOut(): void {
    this.#queued--;
    if (this.#roomCheck?.() === true) this.release();
  }

  /** Releases every batch waiting for room (they check again whether they are still wanted). */
  release(): void {
    const waiters = this.#roomWaiters;
    if (waiters.length === 0) return;
    this.#roomWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Starts from nothing held (a new generation; every old partition was retired). */
  reset(): void {
    this.#outstanding = 0;
    this.#outstandingBytes = 0;
    this.#queued = 0;
    this.#blockedQueued = 0;
    this.#paused = 0;
  }

  /** Stops counting what `state` holds (it was revoked, or the member stops). */
  retire(state: PartitionState): void {
    if (state.retired) return;
    this.#outstanding -= state.outstanding;
    this.#outstandingBytes -= state.outstandingBytes;
    this.#queued -= state.queued;
    if (state.paused) {
      state.paused = false;
      this.#paused--;
    }
    state.retire();
  }

  /**
   * Room for fetched records under {@link FETCH_AHEAD_RECORDS}. Records of a partition that waits
   * for a delayed redelivery are not counted: they cannot be handed out, and must not hold the
   * other partitions back (that partition is bounded by `maxInFlightPerPartition`).
   */
  #queueRoom(): number {
    if (this.#queued < this.#maxQueued) return this.#maxQueued - this.#queued;
    let blocked = 0;
    for (const state of this.#host.partitions) if (state.queued > 0 && state.blocked) blocked += state.queued;
    this.#blockedQueued = blocked;
    return this.#maxQueued - (this.#queued - blocked);
  }

  #pause(state: PartitionState): void {
    if (state.paused) return;
    state.paused = true;
    this.#paused++;
    this.#host.pause(state);
  }

  /**
   * Waits until `hasRoom()` holds after an ack (true), or `timeoutMs` passed (false). Heartbeats
   * afterwards, which throws when the group is rebalancing, as kafkajs expects from `eachBatch`.
   */
  async #waitForRoom(heartbeat: () => Promise<void>, hasRoom: () => boolean, timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const freed = await new Promise<boolean>((resolve) => {
      this.#roomCheck = hasRoom;
      this.#roomWaiters.push(() => resolve(true));
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    clearTimeout(timer);
    this.#roomCheck = undefined;
    if (this.#host.accepting) await this.#host.heartbeat(heartbeat);
    return freed;
  }

  #resumeIfRoom(partitions: readonly PartitionState[]): void {
    // Resume at half the limit, so a partition is not paused and resumed on every ack.
    const limit = this.#limits.maxInFlightPerPartition / 2;
    const resume: number[] = [];
    for (const state of partitions) {
      if (state.paused && !state.retired && state.outstanding <= limit) {
        state.paused = false;
        this.#paused--;
        resume.push(state.partition);
      }
    }
    if (resume.length > 0) this.#host.resume(resume);
  }
}
