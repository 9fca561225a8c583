import { ConfigIssues } from '@bus/core';
import { KafkaErrorCode, KafkaTransportError } from './errors.js';
import { headerValue } from './internal/consumer-message.js';
import type { AdminDriver, FetchedRecord } from './internal/driver/admin-driver.js';

/** What {@link KafkaAdmin.peek} reads. */
export interface PeekOptions {
  /** The partition. */
  partition: number;
  /** First offset to read. Below the partition's first held offset, reading starts there. */
  from: number;
  /** End of the range (exclusive). Default: the partition's high watermark when the peek starts. */
  to?: number;
  /** Most records returned. Default 100, at most 10,000. */
  limit?: number;
  /**
   * When nothing is there to read yet, how long the broker may wait for new records (for tailing).
   * With a wait and no `to`, the peek returns what the first non-empty fetch got. Default 0.
   */
  waitMs?: number;
  /** Aborts the peek between fetches (rejects with the signal's reason); a waiting fetch ends first. */
  signal?: AbortSignal;
}

/** A record read by {@link KafkaAdmin.peek}: raw key and value bytes, headers as UTF-8 text. */
export interface PeekedRecord {
  /** The topic. */
  readonly topic: string;
  /** The partition. */
  readonly partition: number;
  /** The record's offset. */
  readonly offset: number;
  /** The record's timestamp (ms since the epoch). */
  readonly timestamp: number;
  /** The key's bytes, `null` when it has none. */
  readonly key: Uint8Array | null;
  /** The value's bytes, `null` for a tombstone. */
  readonly value: Uint8Array | null;
  /** Headers as UTF-8 text; a name given more than once keeps its last value. */
  readonly headers: Record<string, string>;
  /** Header values that are not valid UTF-8, as bytes (core's rule); absent when there are none. */
  readonly binaryHeaders?: Record<string, Uint8Array>;
}

/** What {@link KafkaAdmin.peek} read, and where to go on. */
export interface PeekResult {
  /** Committed records in offset order (control records and aborted transactions left out). */
  records: PeekedRecord[];
  /** The offset to read next to continue after these records. */
  nextOffset: number;
  /** The partition's first held offset when the peek started. */
  lowWatermark: number;
  /** The partition's high watermark (next offset to be written) at the last fetch. */
  highWatermark: number;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
const MAX_WAIT_MS = 60_000;

/** Checks {@link PeekOptions}, every problem at once (`ConfigError`). */
export function validatePeekOptions(options: PeekOptions): void {
  const issues = new ConfigIssues('peek');
  issues.require(options?.partition !== undefined, 'partition', 'is required');
  issues.integer(options?.partition, 'partition', { min: 0 });
  issues.require(options?.from !== undefined, 'from', 'is required');
  issues.integer(options?.from, 'from', { min: 0 });
  issues.integer(options?.to, 'to', { min: 0 });
  if (Number.isInteger(options?.to) && Number.isInteger(options?.from) && options.to! < options.from) {
    issues.add('to', 'must not be below from');
  }
  issues.integer(options?.limit, 'limit', { min: 1, max: MAX_LIMIT });
  issues.integer(options?.waitMs, 'waitMs', { min: 0, max: MAX_WAIT_MS });
  issues.throwIfAny();
}

/** Reads a bounded range of one partition without a consumer group (see {@link KafkaAdmin.peek}). */
export async function peekPartition(admin: AdminDriver, topic: string, options: PeekOptions): Promise<PeekResult> {
  const { partition, signal } = options;
  const limit = options.limit ?? DEFAULT_LIMIT;
  const waitMs = options.waitMs ?? 0;
  const bounds = (await admin.retryStaleLeader(() => admin.watermarks(topic))).find((o) => o.partition === partition);
  if (bounds === undefined) {
    throw new KafkaTransportError(`Topic "${topic}" has no partition ${partition}`, {
      code: KafkaErrorCode.INVALID_OFFSETS,
      topic,
    });
  }
  const low = Number(bounds.low);
  let high = Number(bounds.high);
  if (options.from > high) {
    throw new KafkaTransportError(
      `Offset ${options.from} is past the end of "${topic}" partition ${partition} (next offset ${high})`,
      { code: KafkaErrorCode.INVALID_OFFSETS, topic },
    );
  }
  const waiting = waitMs > 0 && options.to === undefined;
  const end = options.to ?? (waiting ? Number.POSITIVE_INFINITY : high);
  const records: PeekedRecord[] = [];
  let next = Math.max(options.from, low);
  while (records.length < limit && next < end) {
    signal?.throwIfAborted();
    const fetchedFrom = next;
    const fetched = await admin.fetchPartition(topic, partition, next, waiting ? waitMs : 0);
    high = fetched.highWatermark;
    for (const record of fetched.records) {
      if (record.offset >= end || records.length >= limit) break;
      records.push(peekedRecord(topic, partition, record));
      next = record.offset + 1;
    }
    if (records.length < limit) next = Math.min(Math.max(next, fetched.nextOffset), end);
    // Nothing more to read now (an open transaction holds the stable offset back), or a wait ended.
    if (fetched.nextOffset <= fetchedFrom || waiting) break;
  }
  return { records, nextOffset: next, lowWatermark: low, highWatermark: high };
}

function peekedRecord(topic: string, partition: number, record: FetchedRecord): PeekedRecord {
  const headers: Record<string, string> = {};
  let binaryHeaders: Record<string, Uint8Array> | undefined;
  for (const name in record.headers) {
    const value = headerValue(record.headers[name]);
    if (typeof value === 'string') headers[name] = value;
    else if (value !== undefined) {
      binaryHeaders ??= {};
      binaryHeaders[name] = value;
    }
  }
  return {
    topic,
    partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : bytes(record.key),
    value: record.value === null ? null : bytes(record.value),
    headers,
    ...(binaryHeaders === undefined ? {} : { binaryHeaders }),
  };
}

function bytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
