import { isUtf8 } from 'node:buffer';
import { type NackOptions, nackDelayMs, type ReceivedMessage, type Settlement } from '@bus/core';
import { CLOUDEVENTS_ID_HEADER } from '../subscriber-options.js';
import type { PendingRecord } from './held-record.js';
import type { PartitionState } from './partition-state.js';

/** How a fetched record is read into a {@link ReceivedMessage}. */
export interface DecodeOptions {
  /** Header carrying the bus message id; removed from `headers`. */
  readonly messageIdHeader: string;
  /** Header marking a key that was published as bytes; removed from `headers`. */
  readonly binaryKeyHeader: string;
}

export type RawHeader = Buffer | string | null | (Buffer | string | null)[] | undefined;

/**
 * A header's value (the last one, when Kafka carries the name more than once: a record keeps the
 * last, as a map would): text when it is valid UTF-8, else its bytes (core's rule for every transport).
 */
export function headerValue(value: RawHeader): string | Uint8Array | undefined {
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  if (last === undefined || last === null) return undefined;
  if (typeof last === 'string') return last;
  // toString() without arguments is Buffer's UTF-8 fast path (no encoding lookup).
  const text = last.toString();
  // Decoding replaces invalid UTF-8 with U+FFFD; only then is the (rarer) validity check needed.
  return !text.includes('\uFFFD') || isUtf8(last) ? text : view(last);
}

/**
 * Kafka stores keys as bytes and does not record whether they were text. A key comes back as a
 * string when it is valid UTF-8 and the producer did not mark it binary; otherwise as bytes.
 */
export function decodeKey(key: Buffer, binary: boolean): string | Uint8Array {
  return keyAt(key, 0, key.byteLength, binary);
}

/** {@link decodeKey} for the `length` bytes of `bytes` from `start` on. */
function keyAt(bytes: Buffer, start: number, length: number, binary: boolean): string | Uint8Array {
  if (!binary) {
    if (length <= SHORT_KEY) {
      const ascii = shortAscii(bytes, start, length);
      if (ascii !== undefined) return ascii;
    }
    const text = bytes.toString('utf8', start, start + length);
    if (isText(text, bytes, start, length)) return text;
  }
  return viewAt(bytes, start, length);
}

/**
 * Keys up to this length are decoded in JavaScript when they are ASCII: keys are often a few characters,
 * and a call into Node's UTF-8 decoder costs several times the decoding of a few bytes. V8 keeps
 * strings this short flat when they are concatenated (a rope starts at 13 characters), and past
 * about 8 characters the allocation per character costs more than the call saves.
 */
const SHORT_KEY = 8;

/** The `length` bytes of `bytes` at `start` as a string, or `undefined` if one of them is not ASCII. */
function shortAscii(bytes: Buffer, start: number, length: number): string | undefined {
  let text = '';
  for (let i = start; i < start + length; i++) {
    const byte = bytes[i] as number;
    if (byte > 0x7f) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}

/** Whether `text`, decoded from `length` bytes of `bytes` at `start`, is what they hold (valid UTF-8). */
function isText(text: string, bytes: Buffer, start: number, length: number): boolean {
  // Decoding replaces invalid UTF-8 with U+FFFD; only then is the (rarer) validity check needed.
  return !text.includes('\uFFFD') || isUtf8(bytes.subarray(start, start + length));
}

/** A plain `Uint8Array` over bytes (no copy), so it compares equal to other byte arrays. */
function view(buffer: Buffer): Uint8Array {
  return viewAt(buffer, 0, buffer.byteLength);
}

function viewAt(bytes: Buffer, start: number, length: number): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset + start, length);
}

const EMPTY = new Uint8Array(0);

/**
 * The last text value read at each header position, with its header's name: most headers carry the
 * same value on record after record (`ce_specversion`, `ce_type`, `content-type`, ...), and a
 * record's headers come in the same order as its neighbours'. A value whose bytes match the last
 * one's is that string again: no UTF-8 decoding, no validity scan, no new string. Only ASCII
 * values are kept (byte i is then character i, so the match needs no decoding), up to
 * {@link MAX_REMEMBERED_LENGTH} bytes (a value that changes on every record, like an id, costs a
 * short compare before it is decoded). Names are interned when records are copied (held-record,
 * platformatic-records), so they compare by identity.
 */
const POSITIONS = 16;
const MAX_REMEMBERED_LENGTH = 64;
const lastNames: string[] = new Array(POSITIONS).fill('');
const lastTexts: string[] = new Array(POSITIONS).fill('');

/** Whether the `length` bytes of `bytes` at `from` are the ASCII string `text`. */
function sameAscii(bytes: Buffer, from: number, length: number, text: string): boolean {
  if (text.length !== length) return false;
  for (let i = 0; i < length; i++) if (bytes[from + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** The `length` bytes at `from` as text, or `undefined` when they are not valid UTF-8. */
function decodedText(bytes: Buffer, from: number, length: number): string | undefined {
  const text = bytes.toString('utf8', from, from + length);
  return isText(text, bytes, from, length) ? text : undefined;
}

/**
 * Header value `name` of `length` bytes at `from` (header number `position` of its record) as
 * text, or `undefined` when it is not valid UTF-8.
 */
function headerText(bytes: Buffer, from: number, length: number, name: string, position: number): string | undefined {
  const slot = position < POSITIONS ? position : POSITIONS - 1;
  const last = lastTexts[slot] as string;
  if (lastNames[slot] === name && sameAscii(bytes, from, length, last)) return last;
  const text = decodedText(bytes, from, length);
  if (text === undefined) return undefined;
  // As many characters as bytes: all ASCII (any other character takes more bytes than UTF-16 units).
  if (text.length === length && length <= MAX_REMEMBERED_LENGTH) {
    lastNames[slot] = name;
    lastTexts[slot] = text;
  }
  return text;
}

/** The headers of every message that has none besides the id: one shared object, not one per message. */
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** What a received message reports its settlement to. */
export interface SettlementSink {
  /** An ack took effect. */
  acked(record: PendingRecord, state: PartitionState): void;
  /** A nack took effect. */
  nacked(record: PendingRecord, state: PartitionState, options: NackOptions): void;
}

/**
 * A fetched record handed to a consumer; settled once by `ack()` or `nack()`. Every message field
 * is an own property (so `{ ...message }` keeps id and headers); the payload and a binary key are
 * views of the bytes held for the record, not copies.
 */
export class KafkaReceivedMessage implements ReceivedMessage {
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
  #settlement: Settlement = 'pending';
  /** Settled after its partition was revoked: the settlement did not take effect, and stays `pending`. */
  #tooLate = false;
  readonly #record: PendingRecord;
  readonly #state: PartitionState;
  readonly #sink: SettlementSink;

  constructor(record: PendingRecord, state: PartitionState, sink: SettlementSink, options: DecodeOptions) {
    const bytes = record.bytes as Buffer;
    const { start, keyLength, valueLength } = record;
    let headers: Record<string, string> | undefined;
    let binaryHeaders: Record<string, Uint8Array> | undefined;
    let id: string | undefined;
    let binaryKey = false;
    const layout = record.headers;
    if (layout !== undefined) {
      // The header values follow the key and the value (see HeaderLayout).
      let at = start + Math.max(keyLength, 0) + Math.max(valueLength, 0);
      for (let i = 0; i < layout.length; i += 2) {
        const name = layout[i] as string;
        const length = layout[i + 1] as number;
        if (length < 0) continue;
        const from = at;
        at += length;
        if (name === options.binaryKeyHeader) {
          binaryKey = true;
          continue;
        }
        // An id never repeats: comparing it with the last one and remembering it would be wasted work.
        const text =
          name === options.messageIdHeader || name === CLOUDEVENTS_ID_HEADER
            ? decodedText(bytes, from, length)
            : headerText(bytes, from, length, name, i >> 1);
        if (text === undefined) {
          // Not valid UTF-8 (rare): never an id, which is text.
          if (name === options.messageIdHeader) continue;
          binaryHeaders ??= {};
          binaryHeaders[name] = viewAt(bytes, from, length);
        } else if (name === options.messageIdHeader) id = text;
        else {
          headers ??= {};
          headers[name] = text;
        }
      }
    }
    // Without the id header, a CloudEvent's id (kept in the headers too), else an id derived from the
    // record's position: stable across redeliveries.
    this.id = id ?? headers?.[CLOUDEVENTS_ID_HEADER] ?? `${state.topic}-${state.partition}-${record.offset}`;
    this.payload = valueLength < 0 ? EMPTY : viewAt(bytes, start + Math.max(keyLength, 0), valueLength);
    this.headers = headers ?? NO_HEADERS;
    if (binaryHeaders !== undefined) this.binaryHeaders = binaryHeaders;
    if (keyLength >= 0) this.key = keyAt(bytes, start, keyLength, binaryKey);
    this.timestamp = record.timestamp;
    this.topic = state.topic;
    this.partition = state.partition;
    this.offset = record.offset;
    this.deliveryAttempt = record.attempts;
    this.#record = record;
    this.#state = state;
    this.#sink = sink;
  }

  get settlement(): Settlement {
    return this.#settlement;
  }

  /** Returns `false`, as on every transport, once settled or once its partition was revoked. */
  ack(): boolean {
    if (this.#settlement !== 'pending' || this.#tooLate) return false;
    // The sink still hears of it (it counts what is in flight) but commits nothing for a revoked partition.
    if (this.#state.retired) this.#tooLate = true;
    else this.#settlement = 'acked';
    // Never delivered again: its bytes may go once this message and the others sharing them do.
    this.#record.bytes = undefined;
    this.#sink.acked(this.#record, this.#state);
    return !this.#tooLate;
  }

  /**
   * Returns `false` once settled or once its partition was revoked.
   * @throws {ConfigError} for a `delayMs` outside 0..2^31−1 (core's rule); the message stays unsettled.
   */
  nack(options: NackOptions = {}): boolean {
    nackDelayMs(options);
    if (this.#settlement !== 'pending' || this.#tooLate) return false;
    if (this.#state.retired) this.#tooLate = true;
    else this.#settlement = 'nacked';
    this.#sink.nacked(this.#record, this.#state, options);
    return !this.#tooLate;
  }
}
