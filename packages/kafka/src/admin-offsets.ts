import { ConfigIssues } from '@bus/core';
import { KafkaErrorCode, KafkaTransportError } from './errors.js';
import type { AdminDriver } from './internal/driver/admin-driver.js';

/** One partition's offset. */
export interface PartitionOffset {
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
}

/**
 * Where {@link KafkaAdmin.resetOffsets} moves a group: the earliest or latest offset of every
 * partition, the first offset at/after a timestamp, or explicit offsets of some partitions (the
 * others keep theirs).
 */
export type ResetTarget = 'earliest' | 'latest' | { timestamp: number } | { offsets: readonly PartitionOffset[] };

/** A partition's first held offset and next offset to be written. */
export interface PartitionWatermarks {
  /** Partition. */
  partition: number;
  /** First offset still held (log start). */
  low: number;
  /** Next offset to be written (high watermark). */
  high: number;
}

/** Checks a {@link ResetTarget}'s shape (`ConfigError` listing every problem). */
export function validateResetTarget(to: unknown): void {
  const issues = new ConfigIssues('resetOffsets');
  if (to === 'earliest' || to === 'latest') return;
  if (typeof to === 'object' && to !== null && 'timestamp' in to) {
    const { timestamp } = to as { timestamp: unknown };
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) {
      issues.add('to.timestamp', 'must be a number of milliseconds since the epoch');
    }
  } else if (typeof to === 'object' && to !== null && 'offsets' in to) {
    const { offsets } = to as { offsets: unknown };
    if (!Array.isArray(offsets) || offsets.length === 0) {
      issues.add('to.offsets', 'must be a non-empty array of { partition, offset }');
    } else {
      const seen = new Set<unknown>();
      offsets.forEach((entry: Partial<PartitionOffset> | undefined, i) => {
        issues.integer(entry?.partition, `to.offsets[${i}].partition`, { min: 0 });
        issues.require(entry?.partition !== undefined, `to.offsets[${i}].partition`, 'is required');
        issues.integer(entry?.offset, `to.offsets[${i}].offset`, { min: 0 });
        issues.require(entry?.offset !== undefined, `to.offsets[${i}].offset`, 'is required');
        if (seen.has(entry?.partition)) issues.add(`to.offsets[${i}].partition`, 'is listed twice');
        seen.add(entry?.partition);
      });
    }
  } else {
    issues.add('to', 'must be "earliest", "latest", { timestamp } or { offsets: [{ partition, offset }] }');
  }
  issues.throwIfAny();
}

/** Watermarks of every partition of `topic`, in partition order. */
export async function watermarksOf(admin: AdminDriver, topic: string): Promise<PartitionWatermarks[]> {
  const offsets = await admin.watermarks(topic);
  return offsets
    .map(({ partition, low, high }) => ({ partition, low, high }))
    .sort((a, b) => a.partition - b.partition);
}

/**
 * The offsets a reset of `topic` commits, in partition order. Explicit offsets must name existing partitions and lie
 * within `[low, high]`: otherwise `KAFKA_INVALID_OFFSETS`, naming every bad entry.
 */
export async function resolveResetTarget(
  admin: AdminDriver,
  topic: string,
  to: ResetTarget,
): Promise<PartitionOffset[]> {
  if (to === 'earliest' || to === 'latest') {
    return (await watermarksOf(admin, topic)).map((w) => ({
      partition: w.partition,
      offset: to === 'earliest' ? w.low : w.high,
    }));
  }
  if ('timestamp' in to) {
    const found = await admin.offsetsAtTime(topic, to.timestamp);
    return found.map(({ partition, offset }) => ({ partition, offset })).sort((a, b) => a.partition - b.partition);
  }
  const watermarks = new Map((await watermarksOf(admin, topic)).map((w) => [w.partition, w]));
  const problems: string[] = [];
  for (const { partition, offset } of to.offsets) {
    const w = watermarks.get(partition);
    if (w === undefined) problems.push(`partition ${partition} does not exist`);
    else if (offset < w.low || offset > w.high) {
      problems.push(`offset ${offset} of partition ${partition} is outside ${w.low}..${w.high}`);
    }
  }
  if (problems.length > 0) {
    throw new KafkaTransportError(`Cannot reset offsets on "${topic}": ${problems.join('; ')}`, {
      code: KafkaErrorCode.INVALID_OFFSETS,
      topic,
    });
  }
  return to.offsets.map(({ partition, offset }) => ({ partition, offset }));
}
