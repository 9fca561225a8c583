import type { DriverRecord, PartitionAck } from './driver/types.js';

// kafkajs 2.2.4's sendBatch, on a retry, only re-sends to brokers that have not answered yet
// (src/producer/sendMessages.js keeps one response per broker). A partition whose leadership moved
// to a broker that already answered is never sent, yet sendBatch resolves (tulios/kafkajs#1303).
// So bus checks the per-partition results against the partitions it sent to, and resends the rest,
// whatever the driver: a client's answer is trusted only partition by partition.

/** Partitions of `records` without a successful result in `results` (for one topic), or `undefined`. */
export function unacknowledgedPartitions(
  records: readonly DriverRecord[],
  results: readonly PartitionAck[],
): Set<number> | undefined {
  const acknowledged = new Set<number>();
  for (const result of results) if (!result.errorCode) acknowledged.add(result.partition);
  let missing: Set<number> | undefined;
  let last = -1;
  for (const record of records) {
    const partition = record.partition ?? -1;
    // Records of one partition usually sit together: skip the set lookups for runs of them.
    if (partition === last && partition >= 0) continue;
    last = partition;
    if (partition >= 0 && acknowledged.has(partition)) continue;
    missing ??= new Set();
    missing.add(partition);
  }
  return missing;
}

/** Whether any of `records` targets one of `partitions`. */
export function touches(records: readonly DriverRecord[], partitions: ReadonlySet<number>): boolean {
  for (const record of records) if (partitions.has(record.partition ?? -1)) return true;
  return false;
}

/** One caller's share of a batch: settled together, acknowledged only when all its records are. */
export interface AcknowledgedUnit {
  readonly records: readonly DriverRecord[];
}

/** What {@link sendUntilAcknowledged} needs from its caller. */
export interface AcknowledgedSendOptions<U extends AcknowledgedUnit> {
  /** The units to send; their records are sent in this order. */
  readonly units: readonly U[];
  /** Every unit's records in that order, when the caller has them already (sent as they are, not copied). */
  readonly records?: DriverRecord[];
  /** One driver send for one topic; rejects on a failure the client reports. */
  readonly send: (records: DriverRecord[]) => Promise<PartitionAck[]>;
  /** Whether someone still waits for `unit` (not timed out): only those are resent. */
  readonly isWaiting: (unit: U) => boolean;
  /**
   * Called for a unit acknowledged while others of the batch are still being resent. Units
   * acknowledged by the last attempt are not reported: every unit not in the result's
   * `unacknowledged` was acknowledged (so the common path settles its callers in one pass).
   */
  readonly acknowledged: (unit: U) => void;
  /** Called before each resend with the partitions left unacknowledged and how many units wait on them. */
  readonly resending: (partitions: ReadonlySet<number>, units: readonly U[], attempt: number) => void;
  /** `performance.now()` after which no resend starts. */
  readonly deadline: number;
  /** Pause before the first resend; doubles on each further one (capped by `maxRetryDelayMs`). */
  readonly retryDelayMs: number;
  /** Longest pause between resends. */
  readonly maxRetryDelayMs: number;
}

/** The outcome of {@link sendUntilAcknowledged}: units still unacknowledged, with their partitions. */
export interface AcknowledgedSendResult<U> {
  readonly unacknowledged: readonly U[];
  /** Partitions never acknowledged (`-1` for a record the driver did not place). Empty when all were. */
  readonly partitions: ReadonlySet<number>;
}

const NONE: ReadonlySet<number> = new Set();

/**
 * Sends every unit's records and resends the records of partitions that the client resolved without
 * acknowledging, until all are acknowledged, nobody waits any more, or `deadline` passes. Resends
 * only the missing partitions' records, in their original order, so per-key order holds. A
 * rejection of `send` propagates (the caller settles the units still waiting).
 */
export async function sendUntilAcknowledged<U extends AcknowledgedUnit>(
  options: AcknowledgedSendOptions<U>,
): Promise<AcknowledgedSendResult<U>> {
  let units = options.units;
  let records: DriverRecord[] = options.records ?? units.flatMap((u) => u.records);
  let delay = options.retryDelayMs;
  for (let attempt = 1; ; attempt++) {
    const results = await options.send(records);
    const missing = unacknowledgedPartitions(records, results);
    if (missing === undefined) return { unacknowledged: [], partitions: NONE };
    // The slow path (leadership moved mid-send): per-record work is fine here.
    const behind: U[] = [];
    for (const unit of units) {
      if (touches(unit.records, missing)) behind.push(unit);
      else options.acknowledged(unit);
    }
    units = behind.filter(options.isWaiting);
    if (units.length === 0) return { unacknowledged: behind, partitions: missing };
    if (performance.now() + delay >= options.deadline) return { unacknowledged: units, partitions: missing };
    options.resending(missing, units, attempt);
    await new Promise((resolve) => setTimeout(resolve, delay).unref());
    delay = Math.min(delay * 2, options.maxRetryDelayMs);
    units = units.filter(options.isWaiting);
    if (units.length === 0) return { unacknowledged: behind, partitions: missing };
    records = [];
    for (const unit of units) {
      for (const record of unit.records) if (missing.has(record.partition ?? -1)) records.push(record);
    }
  }
}
