import { type Message, TimeoutError } from '@bus/core';
import { CLOUDEVENTS_ID_HEADER } from '../subscriber-options.js';
import { decodeKey, headerValue } from './consumer-message.js';
import type { AdminDriver, FetchedRecord } from './driver/admin-driver.js';

/** Offsets `[from, to)` of one partition to read. */
export interface ReadRange {
  readonly partition: number;
  readonly from: number;
  readonly to: number;
}

/** A record read back as a bus message, with its offset. */
export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly message: Message;
}

/** How {@link readRanges} reads and decodes. */
export interface ReadOptions {
  readonly messageIdHeader: string;
  readonly binaryKeyHeader: string;
  /** Reading fails with a `TimeoutError` when the ranges are not read within this time. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Called for each record in range, in offset order per partition; reading waits for it. */
  readonly onRecord: (record: ReadRecord) => Promise<void> | void;
}

/** How long a fetch waits when a range's end is not readable yet (an open transaction holds it back). */
const WAIT_MS = 250;

/**
 * Reads offset ranges of a topic without committing anything and without a consumer group: each
 * range is fetched from its partition's leader, read-committed, one partition after another.
 */
export async function readRanges(
  admin: AdminDriver,
  topic: string,
  ranges: readonly ReadRange[],
  options: ReadOptions,
): Promise<void> {
  const wanted = ranges.filter((r) => r.to > r.from);
  if (wanted.length === 0) return;
  options.signal?.throwIfAborted();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const interrupted = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TimeoutError(`Reading dead letters of "${topic}"`, options.timeoutMs)),
      options.timeoutMs,
    );
    onAbort = () => reject(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  const read = async () => {
    for (const range of wanted) {
      let next = range.from;
      let waitMs = 0;
      while (next < range.to && !stopped) {
        const fetched = await admin.fetchPartition(topic, range.partition, next, waitMs);
        for (const record of fetched.records) {
          if (stopped || record.offset >= range.to) break;
          if (record.offset < next) continue;
          await options.onRecord({
            partition: range.partition,
            offset: record.offset,
            message: messageOf(record, topic, range.partition, options),
          });
        }
        // Control records and aborted transactions move the position on without a record.
        waitMs = fetched.nextOffset > next ? 0 : WAIT_MS;
        next = Math.max(next, fetched.nextOffset);
      }
    }
  };
  const reading = read();
  // After a timeout or an abort the read stops at its next step; its late failure is nobody's.
  reading.catch(() => {});
  try {
    await Promise.race([reading, interrupted]);
  } finally {
    stopped = true;
    clearTimeout(timer);
    if (onAbort !== undefined) options.signal?.removeEventListener('abort', onAbort);
  }
}

function messageOf(raw: FetchedRecord, topic: string, partition: number, options: ReadOptions): Message {
  const headers: Record<string, string> = {};
  let binaryHeaders: Record<string, Uint8Array> | undefined;
  let id: string | undefined;
  let binaryKey = false;
  for (const name in raw.headers) {
    const value = headerValue(raw.headers[name]);
    if (value === undefined) continue;
    if (name === options.binaryKeyHeader) binaryKey = true;
    else if (typeof value !== 'string') {
      if (name === options.messageIdHeader) continue;
      binaryHeaders ??= {};
      // A copy: the fetched bytes belong to the whole response.
      binaryHeaders[name] = new Uint8Array(value);
    } else if (name === options.messageIdHeader) id = value;
    else headers[name] = value;
  }
  return {
    id: id ?? headers[CLOUDEVENTS_ID_HEADER] ?? `${topic}-${partition}-${raw.offset}`,
    payload: raw.value === null ? new Uint8Array(0) : new Uint8Array(raw.value),
    headers,
    ...(binaryHeaders === undefined ? {} : { binaryHeaders }),
    ...(raw.key === null || raw.key === undefined ? {} : { key: decodeKey(raw.key, binaryKey) }),
    timestamp: Number(raw.timestamp),
  };
}
