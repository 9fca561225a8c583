import { type HeaderLayout, type PendingRecord, RECORD_OVERHEAD_BYTES } from '../held-record.js';

/** A record as @platformatic/kafka's fetch response holds it (before its stream makes a message of it). */
export interface RawRecord {
  readonly timestampDelta: bigint;
  readonly offsetDelta: number;
  readonly key: Buffer | null | undefined;
  readonly value: Buffer | null | undefined;
  readonly headers: readonly (readonly [Buffer | null | undefined, Buffer | null | undefined])[];
}

/** A record batch of a fetch response (aborted transactions already filtered out by the client). */
export interface RawBatch {
  readonly firstOffset: bigint;
  readonly firstTimestamp: bigint;
  readonly lastOffsetDelta: number;
  readonly attributes: number;
  readonly records: readonly RawRecord[];
}

/** A transaction marker batch: it moves the fetch position, but holds no message. */
const IS_CONTROL = 0b10_0000;
/** As held-record's: memory of one header entry in a held record's layout. */
const HEADER_OVERHEAD_BYTES = 16;

/** Header names seen, by their bytes read as latin1, so held records share one string per name. */
const names = new Map<string, string>();
const MAX_NAMES = 1_024;
/**
 * The last name looked up at each header position, so a run of records with the same headers costs
 * no string per header (a record's headers usually come in the same order as its neighbours').
 */
const POSITIONS = 8;
const lastBytes: (Buffer | undefined)[] = new Array(POSITIONS).fill(undefined);
const lastNames: string[] = new Array(POSITIONS).fill('');

function sameBytes(a: Buffer, b: Buffer): boolean {
  const length = a.length;
  if (length !== b.length) return false;
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function headerName(bytes: Buffer | null | undefined, position: number): string {
  if (bytes === null || bytes === undefined) return '';
  const slot = position < POSITIONS ? position : POSITIONS - 1;
  const last = lastBytes[slot];
  if (last !== undefined && sameBytes(bytes, last)) return lastNames[slot] as string;
  const key = bytes.toString('latin1');
  let name = names.get(key);
  if (name === undefined) {
    name = bytes.toString();
    if (names.size < MAX_NAMES) names.set(key, name);
  }
  // A copy: the record's own bytes are a view of the fetch response, which must not be kept alive.
  lastBytes[slot] = Buffer.from(bytes);
  lastNames[slot] = name;
  return name;
}

/** Whether header `index` is given again later in `headers` (a message keeps the last value, as a map would). */
function superseded(headers: RawRecord['headers'], index: number): boolean {
  const name = headers[index]![0];
  for (let i = index + 1; i < headers.length; i++) {
    const other = headers[i]![0];
    // Compared here rather than by Buffer#equals (a call into C++ per pair): names are short and mostly differ in length.
    if (other === name || (other != null && name != null && sameBytes(other, name))) return true;
  }
  return false;
}

function recordData(record: RawRecord): number {
  let bytes = (record.key?.length ?? 0) + (record.value?.length ?? 0);
  for (const header of record.headers) bytes += header[1]?.length ?? 0;
  return bytes;
}

/** What {@link takeRecords} took from one partition's batches. */
export interface Taken {
  /** The offset to fetch next: the first record not taken, or past the last batch. */
  readonly next: number;
  readonly queued: number;
  /** Memory the held records take (see `RECORD_OVERHEAD_BYTES`). */
  readonly bytes: number;
}

/**
 * Copies the records of one partition's `batches` from offset `from` on (and past `after`, the
 * last offset already registered) into held records, appended to `into`: at most `room` of them,
 * while their held bytes stay below `bytesRoom` (checked before each, so one record larger than
 * the budget still gets through alone). Their bytes go into one buffer for the lot, so a fetch's
 * records of a partition cost one copy, and the response (with the client's per-record objects)
 * is not kept alive by them.
 */
export function takeRecords(
  batches: readonly RawBatch[],
  from: number,
  after: number,
  room: number,
  bytesRoom: number,
  into: PendingRecord[],
): Taken {
  // First pass: how many records, and how many bytes, fit.
  let queued = 0;
  let held = 0;
  let data = 0;
  let next = from;
  let full = false;
  for (const batch of batches) {
    const first = Number(batch.firstOffset);
    if ((batch.attributes & IS_CONTROL) === 0) {
      for (const record of batch.records) {
        const offset = first + record.offsetDelta;
        if (offset < from || offset <= after) continue;
        if (queued >= room || held >= bytesRoom) {
          full = true;
          next = offset;
          break;
        }
        const size = recordData(record);
        data += size;
        held += size + RECORD_OVERHEAD_BYTES + record.headers.length * HEADER_OVERHEAD_BYTES;
        queued++;
        next = offset + 1;
      }
      if (full) break;
    }
    next = Math.max(next, first + batch.lastOffsetDelta + 1);
  }
  if (queued === 0) return { next, queued, bytes: 0 };
  // Second pass: copy them.
  const bytes = Buffer.allocUnsafe(data);
  let at = 0;
  let left = queued;
  for (const batch of batches) {
    if ((batch.attributes & IS_CONTROL) !== 0) continue;
    const first = Number(batch.firstOffset);
    const firstTimestamp = Number(batch.firstTimestamp);
    for (const record of batch.records) {
      const offset = first + record.offsetDelta;
      if (offset < from || offset <= after) continue;
      if (left-- === 0) break;
      const start = at;
      const key = record.key;
      let keyLength = -1;
      if (key !== null && key !== undefined) {
        bytes.set(key, at);
        keyLength = key.length;
        at += keyLength;
      }
      const value = record.value;
      let valueLength = -1;
      if (value !== null && value !== undefined) {
        bytes.set(value, at);
        valueLength = value.length;
        at += valueLength;
      }
      let layout: HeaderLayout | undefined;
      let size = at - start + RECORD_OVERHEAD_BYTES;
      const headers = record.headers;
      for (let h = 0; h < headers.length; h++) {
        if (headers.length > 1 && superseded(headers, h)) continue;
        const header = headers[h]!;
        const name = header[0];
        const headerValue = header[1];
        let length = -1;
        if (headerValue !== null && headerValue !== undefined) {
          bytes.set(headerValue, at);
          length = headerValue.length;
          at += length;
          size += length;
        }
        size += HEADER_OVERHEAD_BYTES;
        if (layout === undefined) layout = [headerName(name, h), length];
        else layout.push(headerName(name, h), length);
      }
      into.push({
        offset,
        size,
        acked: false,
        bytes,
        start,
        keyLength,
        valueLength,
        headers: layout,
        timestamp: firstTimestamp + Number(record.timestampDelta),
        attempts: 0,
        dueAt: 0,
      });
    }
    if (left <= 0) break;
  }
  return { next, queued, bytes: held };
}
