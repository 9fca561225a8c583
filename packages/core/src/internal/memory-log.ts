import { OffsetWindow } from './memory-window.js';

/** One stored message. Fields are private copies, so neither producers nor consumers can alter the log. */
export interface StoredRecord {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** Header values that are not valid UTF-8; absent when there are none. */
  readonly binaryHeaders?: Readonly<Record<string, Uint8Array>>;
  readonly key: string | Uint8Array | undefined;
  readonly timestamp: number;
  /** When the broker appended it (for age retention). */
  readonly appendedAt: number;
  /** Payload, key and header sizes, for byte retention. */
  readonly size: number;
}

/** Retention limits of one partition log; `Infinity` disables a limit. */
export interface RetentionLimits {
  readonly messages: number;
  readonly bytes: number;
  readonly ageMs: number;
}

/**
 * The log of one partition: records at consecutive offsets from `start` (the oldest retained) to
 * `end` (the next offset to append). Retention drops from the front; the newest record always stays.
 */
export class PartitionLog {
  readonly #records: OffsetWindow<StoredRecord>;
  readonly #limits: RetentionLimits;
  #bytes = 0;

  constructor(limits: RetentionLimits) {
    this.#limits = limits;
    this.#records = new OffsetWindow(0);
  }

  /** The oldest retained offset. */
  get start(): number {
    this.#expire(Date.now());
    return this.#records.start;
  }

  /** The offset the next record gets. */
  get end(): number {
    return this.#records.end;
  }

  /** Appends a record and returns its offset. */
  append(record: StoredRecord): number {
    const offset = this.#records.end;
    this.#records.push(record);
    this.#bytes += record.size;
    const limits = this.#limits;
    while (this.#records.length > 1 && (this.#records.length > limits.messages || this.#bytes > limits.bytes)) {
      this.#dropFirst();
    }
    this.#expire(record.appendedAt);
    return offset;
  }

  /** The record at `offset`, or undefined when retention dropped it (or it does not exist yet). */
  get(offset: number): StoredRecord | undefined {
    if (this.#limits.ageMs !== Number.POSITIVE_INFINITY) this.#expire(Date.now());
    return this.#records.get(offset);
  }

  /** Drops every record before `offset` (at most `end`), as Kafka's DeleteRecords does; returns how many. */
  deleteBefore(offset: number): number {
    let deleted = 0;
    while (this.#records.length > 0 && this.#records.start < offset) {
      this.#dropFirst();
      deleted++;
    }
    return deleted;
  }

  #expire(now: number): void {
    const ageMs = this.#limits.ageMs;
    if (ageMs === Number.POSITIVE_INFINITY) return;
    for (let first = this.#records.first(); first && this.#records.length > 1; first = this.#records.first()) {
      if (now - first.appendedAt <= ageMs) break;
      this.#dropFirst();
    }
  }

  #dropFirst(): void {
    const dropped = this.#records.shift();
    if (dropped) this.#bytes -= dropped.size;
  }
}
