import type { KafkaMessage } from 'kafkajs';
import { CommitTracker } from './commit-tracker.js';
import { copyRecords, dataBytes, heldSize, type PendingRecord, parseDecimal } from './held-record.js';

/**
 * The offset of `messages[from]` when the records from there to the end of the batch have
 * consecutive offsets (the common case: no compaction gaps, no transaction markers), else NaN.
 * Offsets in a fetch only ascend, so a span whose last offset is as far from its first as it has
 * records has no gap: each record's offset is then its position, with no string to parse (kafkajs
 * hands offsets out as strings, and parsing one costs more than anything else done per record here).
 */
function consecutiveFrom(messages: readonly KafkaMessage[], from: number): number {
  const lastIndex = messages.length - 1;
  if (from > lastIndex) return Number.NaN;
  const first = parseDecimal((messages[from] as KafkaMessage).offset);
  return parseDecimal((messages[lastIndex] as KafkaMessage).offset) - first === lastIndex - from ? first : Number.NaN;
}

/**
 * What one group member holds for one assigned partition during one generation: the records
 * fetched but not handed out, nacked records awaiting redelivery, and the commit tracker.
 *
 * Nacked records are redelivered from memory, ahead of every record fetched after them, so a
 * key's order holds without seeking the consumer (a kafkajs seek outlives a rebalance and would
 * let a later generation start past unacked records).
 */
export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  readonly tracker = new CommitTracker();
  /** Set when the partition is revoked or the member stops: nothing more is handed out or committed. */
  retired = false;
  /** Whether this member paused fetching of the partition for backpressure. */
  paused = false;
  #queue: PendingRecord[] = [];
  #queueHead = 0;
  /** Nacked records, in offset order. */
  #redeliveries: PendingRecord[] = [];

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  /**
   * Copies records of a fetched batch, from `messages[from]` on, into one buffer and queues them:
   * at most `room` records, while the bytes they hold stay below `bytesRoom` (checked before each
   * record, so a record larger than the budget still gets through alone). Records at or below the
   * last registered offset (fetched again) are passed over. Returns the index of the first record
   * not taken, how many were queued, and the bytes they hold.
   */
  enqueue(
    messages: readonly KafkaMessage[],
    from: number,
    room: number,
    bytesRoom: number,
  ): { next: number; queued: number; bytes: number } {
    const after = this.tracker.lastRegistered;
    const firstOffset = consecutiveFrom(messages, from);
    let last = after;
    let queued = 0;
    let bytes = 0;
    let data = 0;
    let index = from;
    for (; index < messages.length && queued < room && bytes < bytesRoom; index++) {
      const message = messages[index] as KafkaMessage;
      const offset = Number.isNaN(firstOffset) ? parseDecimal(message.offset) : firstOffset + (index - from);
      if (offset <= last) continue;
      last = offset;
      const recordData = dataBytes(message);
      data += recordData;
      bytes += heldSize(recordData);
      queued++;
    }
    if (queued > 0) {
      const queue = this.#queue;
      const first = queue.length;
      // One buffer for the lot: small ones come from Node's shared pool.
      copyRecords(messages, from, index, after, firstOffset, Buffer.allocUnsafe(data), queue);
      for (let i = first; i < queue.length; i++) this.tracker.add(queue[i] as PendingRecord);
    }
    return { next: index, queued, bytes };
  }

  /** Queues records already held elsewhere (in offset order); those at or below the last registered offset are passed over. */
  queueHeld(records: readonly PendingRecord[]): void {
    for (const record of records) if (this.tracker.add(record)) this.#queue.push(record);
  }

  /** Records registered and not yet committable: queued, in flight, or acked after an unsettled one. */
  get outstanding(): number {
    return this.tracker.outstanding;
  }

  /** Bytes of the {@link outstanding} records. */
  get outstandingBytes(): number {
    return this.tracker.outstandingBytes;
  }

  /** Fetched records not handed out yet (nacked ones aside). */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /** Whether hand-out waits for a delayed redelivery (its queued records stay until it is due). */
  get blocked(): boolean {
    const head = this.#redeliveries[0];
    return head !== undefined && head.dueAt > Date.now();
  }

  /** Records waiting to be handed out (fetched or nacked). */
  get waiting(): number {
    return this.#queue.length - this.#queueHead + this.#redeliveries.length;
  }

  /**
   * The next record to hand out, or `undefined`. When a redelivery is not due yet the partition
   * waits for it (later records must not overtake it); `dueAt()` tells until when.
   */
  take(): PendingRecord | undefined {
    if (this.retired) return undefined;
    const redelivery = this.#redeliveries[0];
    if (redelivery !== undefined) {
      if (redelivery.dueAt > Date.now()) return undefined;
      this.#redeliveries.shift();
      return redelivery;
    }
    if (this.#queueHead >= this.#queue.length) return undefined;
    const record = this.#queue[this.#queueHead] as PendingRecord;
    this.#queue[this.#queueHead] = undefined as unknown as PendingRecord;
    this.#queueHead++;
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 4096) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    return record;
  }

  /** When the head redelivery becomes due, if the partition is waiting for one. */
  dueAt(): number | undefined {
    return this.#redeliveries[0]?.dueAt;
  }

  /** Queues a nacked record for redelivery at `dueAt`, ahead of later-fetched records. */
  redeliver(record: PendingRecord, dueAt: number): void {
    if (this.retired) return;
    record.dueAt = dueAt;
    const list = this.#redeliveries;
    let index = list.length;
    while (index > 0 && (list[index - 1] as PendingRecord).offset > record.offset) index--;
    list.splice(index, 0, record);
  }

  /** Stops the partition: drops every waiting record (they stay uncommitted, so they are fetched again). */
  retire(): void {
    this.retired = true;
    this.#queue = [];
    this.#queueHead = 0;
    this.#redeliveries = [];
  }
}
