import { ConfigError } from '../errors.js';
import type { NackOptions, ReceivedMessage, Settlement } from '../message.js';
import type { CursorEntry, PartitionCursor } from './memory-cursor.js';
import type { StoredRecord } from './memory-log.js';

const MAX_DELAY_MS = 2_147_483_647;

/** A delivery of the in-memory broker. Its payload and key are the consumer's own copies. */
export class MemoryReceivedMessage implements ReceivedMessage {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly key?: string | Uint8Array;
  readonly timestamp: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly deliveryAttempt: number;
  readonly #cursor: PartitionCursor;
  readonly #entry: CursorEntry;
  #settlement: Settlement = 'pending';

  constructor(record: StoredRecord, cursor: PartitionCursor, entry: CursorEntry) {
    this.id = record.id;
    this.payload = record.payload.slice();
    this.headers = record.headers;
    if (record.key !== undefined) this.key = typeof record.key === 'string' ? record.key : record.key.slice();
    this.timestamp = record.timestamp;
    this.topic = cursor.topic;
    this.partition = cursor.partition;
    this.offset = entry.offset;
    this.deliveryAttempt = entry.attempts;
    this.#cursor = cursor;
    this.#entry = entry;
  }

  get settlement(): Settlement {
    return this.#settlement;
  }

  ack(): boolean {
    if (this.#settlement !== 'pending' || !this.#cursor.settle(this, this.#entry, undefined)) return false;
    this.#settlement = 'acked';
    return true;
  }

  nack(options?: NackOptions): boolean {
    const delayMs = options?.delayMs ?? 0;
    // Node timers cannot wait longer than 2^31-1 ms; longer delays would fire at once.
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
      throw new ConfigError('nack', [
        { path: 'delayMs', message: `must be a number of milliseconds from 0 to ${MAX_DELAY_MS}` },
      ]);
    }
    if (this.#settlement !== 'pending' || !this.#cursor.settle(this, this.#entry, { delayMs })) return false;
    this.#settlement = 'nacked';
    return true;
  }
}
