import { isUtf8 } from 'node:buffer';
import type { KafkaMessage } from 'kafkajs';
import { CommitTracker, type TrackedOffset } from './commit-tracker.js';

/**
 * Memory a held record takes besides its key, value and header text: the record, message and
 * header objects and the buffer views. Counted against `maxInFlightBytes`, so the byte budget
 * bounds what is retained, not just the payloads.
 */
export const RECORD_OVERHEAD_BYTES = 256;

const EMPTY_BUFFER = Buffer.alloc(0);

type RawHeaders = NonNullable<KafkaMessage['headers']>;

/**
 * A copy of a fetched record that owns its bytes, and its size as held in memory.
 *
 * kafkajs hands out keys, values and headers as views of the whole fetch response (up to
 * `fetchMaxBytesPerPartition` per partition). One record kept while later ones are processed would
 * keep that whole response alive, and once the record lives long enough to be promoted to V8's old
 * space, until the next full collection: a subscription holding a few thousand records pinned
 * hundreds of MB of responses. Key and value are copied into one small buffer (from Node's pool for
 * small records), header values become strings (which is how they are read), or owned bytes when not UTF-8.
 */
export function detach(raw: KafkaMessage): { message: KafkaMessage; size: number } {
  const key = raw.key ?? null;
  const value = raw.value ?? null;
  const keyLength = key === null ? 0 : key.byteLength;
  const valueLength = value === null ? 0 : value.byteLength;
  // An empty key or value (not null) of a record with no other bytes is a view of the empty buffer.
  let own = EMPTY_BUFFER;
  if (keyLength + valueLength > 0) {
    own = Buffer.allocUnsafe(keyLength + valueLength);
    if (key !== null) key.copy(own, 0);
    if (value !== null) value.copy(own, keyLength);
  }
  let headers: RawHeaders | undefined;
  let headerBytes = 0;
  const rawHeaders = raw.headers;
  if (rawHeaders !== undefined) {
    headers = {};
    for (const name in rawHeaders) {
      const header = rawHeaders[name];
      if (header === undefined || header === null) continue;
      if (Array.isArray(header)) {
        const values = header.map(ownValue);
        headers[name] = values;
        for (const value of values) headerBytes += name.length + value.length;
      } else {
        const value = ownValue(header);
        headers[name] = value;
        headerBytes += name.length + value.length;
      }
    }
  }
  const message: KafkaMessage = {
    offset: raw.offset,
    timestamp: raw.timestamp,
    attributes: raw.attributes,
    size: raw.size,
    key: key === null ? null : own.subarray(0, keyLength),
    value: value === null ? null : own.subarray(keyLength, keyLength + valueLength),
    headers,
  } as KafkaMessage;
  return { message, size: keyLength + valueLength + headerBytes + RECORD_OVERHEAD_BYTES };
}

/**
 * A header value that no longer refers to the fetch response: the text (how it is read) when it is
 * valid UTF-8, else a copy of the bytes (rare: binary headers of foreign producers).
 */
function ownValue(value: Buffer | string | null): string | Buffer {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  const text = value.toString();
  return !text.includes('\uFFFD') || isUtf8(value) ? text : Buffer.from(value);
}

/** A fetched record, from fetch until commit; it is also its own commit-tracker entry. */
export interface PendingRecord extends TrackedOffset {
  readonly raw: KafkaMessage;
  /** Deliveries so far. */
  attempts: number;
  /** For a redelivery: not before this time (ms since epoch). */
  dueAt: number;
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
   * Registers and queues a fetched record, as a copy that owns its bytes (see {@link detach});
   * returns `false` for one already registered.
   */
  enqueue(fetched: KafkaMessage, offset: number): boolean {
    const { message: raw, size } = detach(fetched);
    const record: PendingRecord = { offset, size, acked: false, raw, attempts: 0, dueAt: 0 };
    if (!this.tracker.add(record)) return false;
    this.#queue.push(record);
    return true;
  }

  /** Records registered and not yet committable: queued, in flight, or acked after an unsettled one. */
  get outstanding(): number {
    return this.tracker.outstanding;
  }

  /** Bytes of the {@link outstanding} records. */
  get outstandingBytes(): number {
    return this.tracker.outstandingBytes;
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
