import type { KafkaMessage } from 'kafkajs';
import type { TrackedOffset } from './commit-tracker.js';

/**
 * Memory a held record takes besides its bytes: the record object and its header layout. Counted
 * against `maxInFlightBytes`, so the byte budget bounds what is retained, not just the payloads.
 */
export const RECORD_OVERHEAD_BYTES = 128;

/** Memory of one header entry in a held record's layout (a name reference and a length). */
const HEADER_OVERHEAD_BYTES = 16;

/**
 * A record's header names and value lengths, in fetch order: name, length, name, length, ...
 * (length -1: a header without a value). Of a name given more than once only the last value is
 * kept. The values follow the record's value in its bytes.
 */
export type HeaderLayout = (string | number)[];

/**
 * A fetched record from fetch until commit (it is also its own commit-tracker entry): its offset,
 * and its key, value and header values copied out of the fetch response into `bytes`, a buffer
 * shared by the records copied with it.
 *
 * kafkajs hands out keys, values and headers as views of the whole fetch response, each a
 * JavaScript object of its own. Held as they are, one record kept while later ones are processed
 * keeps the whole response alive, and thousands of held records are thousands of objects that
 * survive V8's young-generation collections. Copied into one buffer per batch, a held record is a
 * single small object; its message objects are made when it is handed out, and die young.
 */
export interface PendingRecord extends TrackedOffset {
  /** The bytes of this record and of the others copied with it; `undefined` once acked. */
  bytes: Buffer | undefined;
  /** Where the key begins in `bytes`; the value, then the header values follow. */
  readonly start: number;
  /** -1 for a null key. */
  readonly keyLength: number;
  /** -1 for a null value. */
  readonly valueLength: number;
  readonly headers: HeaderLayout | undefined;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  /** Deliveries so far. */
  attempts: number;
  /** For a redelivery: not before this time (ms since epoch). */
  dueAt: number;
}

type HeaderValue = Buffer | string | null | undefined;

function valueBytes(value: HeaderValue): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'string' ? Buffer.byteLength(value) : value.byteLength;
}

/** Header values of the record {@link dataBytes} measured last (a scratch result, so sizing allocates nothing). */
let measuredHeaders = 0;

/** Bytes of a fetched record's key, value and header values: what copying it takes. */
export function dataBytes(message: KafkaMessage): number {
  let bytes = (message.key?.byteLength ?? 0) + (message.value?.byteLength ?? 0);
  let count = 0;
  const headers = message.headers;
  if (headers !== undefined) {
    for (const name in headers) {
      const header = headers[name] as HeaderValue | HeaderValue[];
      bytes += valueBytes(Array.isArray(header) ? header[header.length - 1] : header);
      count++;
    }
  }
  measuredHeaders = count;
  return bytes;
}

/** What a record of `dataBytes` (just measured by {@link dataBytes}) holds in memory once copied. */
export function heldSize(data: number): number {
  return data + RECORD_OVERHEAD_BYTES + measuredHeaders * HEADER_OVERHEAD_BYTES;
}

/** Header names seen, so held records share one string per name instead of one each. */
const names = new Map<string, string>();
const MAX_NAMES = 1_024;

function internName(name: string): string {
  const known = names.get(name);
  if (known !== undefined) return known;
  if (names.size < MAX_NAMES) names.set(name, name);
  return name;
}

/**
 * `text` (a decimal integer, as kafkajs gives offsets and timestamps) as a number. Up to 15 digits, which a
 * double holds exactly, it is read here: `Number()` of a 13-digit string is a call into the
 * runtime (not an array index V8 can read inline), and was the costliest step of copying a record.
 * Anything else (a sign, more digits, not a number) goes to `Number()`.
 */
export function parseDecimal(text: string): number {
  const length = text.length;
  if (length === 0 || length > 15) return Number(text);
  let value = 0;
  for (let i = 0; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number(text);
    value = value * 10 + digit;
  }
  return value;
}

/** Copies `value` into `into` at `at`; returns the bytes written, or -1 for no value. */
function copyValue(value: HeaderValue, into: Buffer, at: number): number {
  if (value === null || value === undefined) return -1;
  if (typeof value === 'string') return into.write(value, at);
  // TypedArray#set, not Buffer#copy: copy() makes a view of the source and checks its arguments
  // on every call, which costs more than the copy itself for the few bytes of a key or header.
  into.set(value, at);
  return value.byteLength;
}

/**
 * Copies the records of `messages[from..to)` whose offsets are above `after` into `bytes`, one
 * after another, and appends their held records to `into`. `bytes` holds {@link dataBytes} of them
 * all (the caller's sizing pass over the same records). `firstOffset` is the offset of
 * `messages[from]` when the offsets from there on are consecutive, else NaN (then each is parsed).
 */
export function copyRecords(
  messages: readonly KafkaMessage[],
  from: number,
  to: number,
  after: number,
  firstOffset: number,
  bytes: Buffer,
  into: PendingRecord[],
): void {
  let at = 0;
  let last = after;
  const parse = Number.isNaN(firstOffset);
  for (let i = from; i < to; i++) {
    const message = messages[i] as KafkaMessage;
    const offset = parse ? parseDecimal(message.offset) : firstOffset + (i - from);
    if (offset <= last) continue;
    last = offset;
    const start = at;
    let headerCount = 0;
    const key = message.key ?? null;
    const value = message.value ?? null;
    let keyLength = -1;
    if (key !== null) {
      bytes.set(key, at);
      keyLength = key.byteLength;
      at += keyLength;
    }
    let valueLength = -1;
    if (value !== null) {
      bytes.set(value, at);
      valueLength = value.byteLength;
      at += valueLength;
    }
    let layout: HeaderLayout | undefined;
    const headers = message.headers;
    if (headers !== undefined) {
      for (const name in headers) {
        const header = headers[name] as HeaderValue | HeaderValue[];
        // Kafka allows a name more than once; a message keeps the last value, as a map would.
        const last = Array.isArray(header) ? header[header.length - 1] : header;
        const length = copyValue(last, bytes, at);
        if (length > 0) at += length;
        headerCount++;
        // A literal for the first header: an array grown by push() reserves room for 17 entries.
        if (layout === undefined) layout = [internName(name), length];
        else layout.push(internName(name), length);
      }
    }
    into.push({
      offset,
      // What dataBytes() measured in the sizing pass: the bytes just copied, plus the overheads.
      size: at - start + RECORD_OVERHEAD_BYTES + headerCount * HEADER_OVERHEAD_BYTES,
      acked: false,
      bytes,
      start,
      keyLength,
      valueLength,
      headers: layout,
      timestamp: parseDecimal(message.timestamp),
      attempts: 0,
      dueAt: 0,
    });
  }
}
