import type { NackOptions, ReceivedMessage, Settlement } from '../pubsub.js';
import type { CursorEntry, PartitionCursor } from './memory-cursor.js';
import { nackDelayMs } from '../validation.js';
import type { StoredRecord } from './memory-log.js';

/** A delivery of the in-memory broker. Its payload and key are the consumer's own copies. */
export class MemoryReceivedMessage implements ReceivedMessage {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly binaryHeaders?: Readonly<Record<string, Uint8Array>>;
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
    if (record.binaryHeaders !== undefined) this.binaryHeaders = copyBinary(record.binaryHeaders);
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
    const delayMs = nackDelayMs(options);
    if (this.#settlement !== 'pending' || !this.#cursor.settle(this, this.#entry, { delayMs })) return false;
    this.#settlement = 'nacked';
    return true;
  }
}

/** The consumer's own copies, like the payload's: nobody can alter the log through them. */
function copyBinary(binary: Readonly<Record<string, Uint8Array>>): Readonly<Record<string, Uint8Array>> {
  const copy: Record<string, Uint8Array> = {};
  for (const name in binary) copy[name] = (binary[name] as Uint8Array).slice();
  return copy;
}
