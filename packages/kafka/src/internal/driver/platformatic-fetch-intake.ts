import type * as Platformatic from '@platformatic/kafka';
import { FETCH_AHEAD_RECORDS } from '../fetch-gate.js';
import type { PendingRecord } from '../held-record.js';
import type { PartitionState } from '../partition-state.js';
import { watchFetchLeaders } from './platformatic-fetch-leaders.js';
import { type RawBatch, takeRecords } from './platformatic-records.js';

type BytesConsumer = Platformatic.Consumer<Buffer, Buffer, Buffer, Buffer>;
type BytesStream = Platformatic.MessagesStream<Buffer, Buffer, Buffer, Buffer>;
type FetchOptions = Platformatic.FetchOptions<Buffer, Buffer, Buffer, Buffer>;
type FetchCallback = (error: Error | null, response?: FetchResponse) => void;
/** The parts of a fetch request and response the intake reads (see `FetchIntake.install`). */
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

/** The least a fetch asks of a partition: a batch or so (the broker sends at least one whole batch anyway). */
const MIN_FETCH_BYTES = 16 * 1024;

/** What the fetch intake needs from the session that owns it. */
export interface FetchIntakeHost {
  readonly topic: string;
  readonly maxInFlight: number;
  readonly maxInFlightPerPartition: number;
  readonly maxInFlightBytes: number;
  /** How long a request with no partition left in it waits before it is answered empty. */
  readonly fetchMaxWaitMs: number;
  /** Whether the session runs (records are taken and fetching resumed only then). */
  readonly running: () => boolean;
  /** The partitions the session serves now (a new map with every assignment). */
  readonly partitions: () => ReadonlyMap<number, PartitionState>;
  /** The session's current message stream, which the intake pauses, resumes and positions. */
  readonly stream: () => BytesStream | undefined;
  /** A response brought a partition the session does not serve: the client moved partitions without a join. */
  readonly unassigned: () => void;
  /** Records were queued for hand-out. */
  readonly queued: () => void;
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
 * The platformatic session's fetch intake: it sits between the client's message stream and its
 * fetches and owns what the session holds in memory and how far ahead it fetches. Fetching goes
 * on as the stream drives it, but every response's records are taken here, straight from the
 * parsed batches, into the partitions' states (the stream then pushes nothing): one copy per
 * partition and fetch, no message object per record, and the fetch position is the intake's to
 * set. The stream is paused while the subscription holds its limit (records or bytes) or is
 * `FETCH_AHEAD_RECORDS` ahead of the consumer, and resumed once acks and hand-outs bring it to
 * three quarters (half ahead); a full partition is held alone (the client cannot pause one).
 *
 * The session tells it of a new assignment (`reset`), a stream left behind (`invalidate`), a new
 * stream (`streamOpened`), positions the client moved (`positionsMoved`), records handed out for
 * the first time (`handedOut`) and acks that released records (`released`).
 */
export class FetchIntake {
  readonly #host: FetchIntakeHost;
  /** Records (and their bytes) taken from fetches and not acked yet, over all partitions. */
  #outstanding = 0;
  #outstandingBytes = 0;
  /** Whether the message stream is paused by the intake. */
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

  constructor(host: FetchIntakeHost) {
    this.#host = host;
  }

  /**
   * Hooks the consumer's fetch. A partition holding `maxInFlightPerPartition` is left out of the
   * requests until it drained to half, so it cannot hold the others back; what a response brings
   * beyond the room left is not taken, and is fetched again from the first record not taken. A
   * fetch requested under an earlier assignment is not taken at all: its partitions' positions
   * were reset to the committed offsets by the join (or to where a kept partition resumes), and
   * taking it would skip records.
   */
  install(consumer: BytesConsumer): void {
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
        this.#host.topic,
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
   * A new assignment: nothing is outstanding, held or positioned any more, a fetch requested
   * before it is not taken, and a paused stream flows again.
   */
  reset(): void {
    this.#outstanding = 0;
    this.#outstandingBytes = 0;
    this.#held.clear();
    this.#fetchFrom.clear();
    this.#generation++;
    this.#ahead = 0;
    if (this.#paused) {
      this.#paused = false;
      this.#host.stream()?.resume();
    }
  }

  /** The stream is being left behind (a restart): a fetch it still has in flight is not taken. */
  invalidate(): void {
    this.#generation++;
  }

  /** A new message stream flows (it starts unpaused). */
  streamOpened(): void {
    this.#paused = false;
  }

  /** The client moved fetch positions itself (committed offsets after a join, an offset out of range). */
  positionsMoved(): void {
    this.#fetchFrom.clear();
  }

  /** A record was handed out for the first time: one fewer ahead of the consumer. */
  handedOut(): void {
    if (--this.#ahead <= FETCH_AHEAD_RECORDS / 2 && this.#paused) this.#resumeIfRoom();
  }

  /** Acks released `records` outstanding records of `bytes` bytes (a prefix of a partition settled). */
  released(records: number, bytes: number): void {
    this.#outstanding -= records;
    this.#outstandingBytes -= bytes;
    if (this.#paused || this.#held.size > 0) this.#resumeIfRoom();
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
    const { maxInFlightPerPartition, maxInFlight } = this.#host;
    const share = Math.max(1, Math.floor((maxInFlight - this.#outstanding) / count));
    const perRecord = this.#bytesPerRecord;
    const states = this.#host.partitions();
    const result: FetchRequestTopic[] = [];
    for (const topic of topics) {
      const partitions: FetchRequestPartition[] = [];
      for (const p of topic.partitions) {
        if (this.#held.has(p.partition)) continue;
        if (perRecord === 0) {
          partitions.push(p);
          continue;
        }
        const state = states.get(p.partition);
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
    this.#idleFetch = { timer: setTimeout(answer, this.#host.fetchMaxWaitMs), answer };
  }

  /** Takes the records of one fetch response (then removed from it, so the stream pushes none). */
  #onFetched(response: FetchResponse, requested: readonly FetchRequestTopic[], generation: number): void {
    const host = this.#host;
    let taking = generation === this.#generation && host.running();
    const { maxInFlightPerPartition, maxInFlight, maxInFlightBytes, topic } = host;
    let queuedAny = false;
    for (const topicResponse of response.responses) {
      for (const part of topicResponse.partitions) {
        const batches = part.records;
        if (batches === undefined) continue;
        part.records = undefined;
        const asked = requestedPartition(requested, topicResponse.topicId, part.partitionIndex);
        // A partition the request did not name lingers in the broker's fetch session: stale data.
        if (!taking || asked === undefined) continue;
        // Looked up per partition: `unassigned` below replaces the session's map.
        const state = host.partitions().get(part.partitionIndex);
        if (state === undefined) {
          // The client moved partitions without a join (KIP-848 adds them incrementally): take its
          // assignment; this response was requested before it, so it is fetched again. None of the
          // rest of it is taken either: a kept partition is fetched again from where the new
          // assignment resumes it, and records taken past that would be committed over the gap.
          host.unassigned();
          taking = false;
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
        host.stream()?.offsetsToFetch.set(`${topic}:${state.partition}`, BigInt(taken.next));
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
      this.#host.stream()?.pause();
    }
    if (queuedAny) host.queued();
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
    if (!this.#host.running()) return;
    if (this.#held.size > 0) {
      // Resume at half the limit, so a partition is not held and released on every ack.
      const limit = this.#host.maxInFlightPerPartition / 2;
      const states = this.#host.partitions();
      for (const partition of this.#held) {
        const state = states.get(partition);
        if (state === undefined || state.retired || state.outstanding <= limit) this.#held.delete(partition);
      }
      // A fetch loop left idle by held partitions goes on at once.
      if (this.#idleFetch !== undefined && this.#held.size < states.size) {
        const { answer } = this.#idleFetch;
        queueMicrotask(answer);
      }
    }
    if (!this.#paused) return;
    const { maxInFlight, maxInFlightBytes } = this.#host;
    if (this.#outstanding > maxInFlight * 0.75 || this.#outstandingBytes > maxInFlightBytes * 0.75) return;
    if (this.#aheadOfConsumer() > FETCH_AHEAD_RECORDS / 2) return;
    this.#paused = false;
    this.#host.stream()?.resume();
  }

  /**
   * Records queued ahead of the consumer, as the kafkajs session counts them: those of a partition
   * waiting for a delayed redelivery aside, so they cannot hold the other partitions back.
   */
  #aheadOfConsumer(): number {
    if (this.#ahead < FETCH_AHEAD_RECORDS / 2) return this.#ahead;
    let ahead = 0;
    for (const state of this.#host.partitions().values()) if (!state.blocked && !state.retired) ahead += state.queued;
    return ahead;
  }
}
