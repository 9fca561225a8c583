/**
 * The books of a sequence-numbered stream: which message was acknowledged to the publisher, which was
 * delivered to the consumer and how often, per-key order of first deliveries, and stalls.
 *
 * A stall of a key is a time during which at least one acknowledged message of that key waited and no
 * new message of that key was delivered. Redeliveries are not progress. Keys map to partitions, so the
 * longest stall over all keys bounds how long any partition's consumption stood still while it had work.
 */

export interface LedgerFigures {
  /** Messages whose publish() resolved. */
  acked: number;
  /** Acknowledged messages never delivered. */
  ackedNotDelivered: number;
  /** Distinct messages delivered (acknowledged or not). */
  deliveredDistinct: number;
  /** Deliveries beyond the first of a message. */
  duplicateDeliveries: number;
  /** First deliveries of a key's message after a later message of the same key. */
  orderViolations: number;
  /** The first few order violations, described. */
  orderViolationSamples: string[];
  /** Longest stall of any key, in seconds (still running stalls included). */
  maxStallS: number;
  /** The key of that stall and when it ended, in seconds since the ledger started. */
  maxStallKey: string;
  maxStallEndS: number;
}

export class Ledger {
  readonly keys: string[];
  private readonly keyOf: Uint16Array;
  private readonly keySeqOf: Uint32Array;
  private readonly ackedFlag: Uint8Array;
  private readonly deliveries: Uint16Array;
  private readonly maxFirstKeySeq: Int32Array;
  /** Per key: acknowledged messages not yet delivered. */
  private readonly pending: Int32Array;
  /** Per key: since when acknowledged messages wait without progress (NaN when none wait). */
  private readonly waitingSince: Float64Array;
  private registered = 0;
  private ackedCountValue = 0;
  private distinct = 0;
  private duplicates = 0;
  private violations = 0;
  private readonly violationSamples: string[] = [];
  private readonly t0 = performance.now();
  private maxStall = { ms: 0, key: -1, endMs: 0 };

  constructor(keys: number, capacity: number) {
    this.keys = Array.from({ length: keys }, (_, i) => `k${i}`);
    this.keyOf = new Uint16Array(capacity);
    this.keySeqOf = new Uint32Array(capacity);
    this.ackedFlag = new Uint8Array(capacity);
    this.deliveries = new Uint16Array(capacity);
    this.maxFirstKeySeq = new Int32Array(keys).fill(-1);
    this.pending = new Int32Array(keys);
    this.waitingSince = new Float64Array(keys).fill(Number.NaN);
  }

  get capacity(): number {
    return this.keyOf.length;
  }

  /** Milliseconds since the ledger started. */
  now(): number {
    return performance.now() - this.t0;
  }

  /** A new message: its global sequence number, key index and per-key sequence number. */
  register(seq: number, key: number, keySeq: number): void {
    this.keyOf[seq] = key;
    this.keySeqOf[seq] = keySeq;
    this.registered = Math.max(this.registered, seq + 1);
  }

  /** The publish() of these messages resolved. */
  acked(seqs: readonly number[]): void {
    const now = this.now();
    for (const seq of seqs) {
      if (this.ackedFlag[seq]) continue;
      this.ackedFlag[seq] = 1;
      this.ackedCountValue++;
      if (this.deliveries[seq]! > 0) continue;
      const key = this.keyOf[seq]!;
      if (this.pending[key]!++ === 0) this.waitingSince[key] = now;
    }
  }

  /** A message was delivered to the consumer. */
  delivered(seq: number, key: number, keySeq: number): void {
    if (
      !Number.isInteger(seq) ||
      seq < 0 ||
      seq >= this.registered ||
      this.keyOf[seq] !== key ||
      this.keySeqOf[seq] !== keySeq
    ) {
      throw new Error(`delivered a message that was never published: ${seq}:${key}:${keySeq}`);
    }
    if (this.deliveries[seq]! > 0) {
      this.deliveries[seq] = Math.min(this.deliveries[seq]! + 1, 65_535);
      this.duplicates++;
      return;
    }
    this.deliveries[seq] = 1;
    this.distinct++;
    if (keySeq < this.maxFirstKeySeq[key]!) {
      this.violations++;
      if (this.violationSamples.length < 5) {
        this.violationSamples.push(`k${key}: #${keySeq} first delivered after #${this.maxFirstKeySeq[key]}`);
      }
    } else {
      this.maxFirstKeySeq[key] = keySeq;
    }
    const now = this.now();
    if (!Number.isNaN(this.waitingSince[key]!)) this.noteStall(key, now - this.waitingSince[key]!, now);
    if (this.ackedFlag[seq]) this.pending[key]!--;
    this.waitingSince[key] = this.pending[key]! > 0 ? now : Number.NaN;
  }

  /** Forget the stalls so far (e.g. the consumer's first join), measuring from now on. */
  resetStalls(): void {
    const now = this.now();
    this.maxStall = { ms: 0, key: -1, endMs: 0 };
    for (let key = 0; key < this.keys.length; key++) {
      if (this.pending[key]! > 0) this.waitingSince[key] = now;
    }
  }

  /** Whether every acknowledged message was delivered. */
  allAckedDelivered(): boolean {
    return this.pending.every((n) => n === 0);
  }

  /** Whether every key had at least one message delivered. */
  everyKeyDelivered(): boolean {
    return this.maxFirstKeySeq.every((n) => n >= 0);
  }

  /** Whether the message was acknowledged. */
  isAcked(seq: number): boolean {
    return this.ackedFlag[seq] === 1;
  }

  /** Key index and per-key sequence of a registered message. */
  identity(seq: number): { key: number; keySeq: number } {
    return { key: this.keyOf[seq]!, keySeq: this.keySeqOf[seq]! };
  }

  /** Messages acknowledged so far. */
  get ackedCount(): number {
    return this.ackedCountValue;
  }

  get registeredCount(): number {
    return this.registered;
  }

  private noteStall(key: number, ms: number, endMs: number): void {
    if (ms > this.maxStall.ms) this.maxStall = { ms, key, endMs };
  }

  figures(): LedgerFigures {
    const now = this.now();
    for (let key = 0; key < this.keys.length; key++) {
      if (!Number.isNaN(this.waitingSince[key]!)) this.noteStall(key, now - this.waitingSince[key]!, now);
    }
    let ackedNotDelivered = 0;
    for (let seq = 0; seq < this.registered; seq++) {
      if (this.ackedFlag[seq] && this.deliveries[seq] === 0) ackedNotDelivered++;
    }
    return {
      acked: this.ackedCountValue,
      ackedNotDelivered,
      deliveredDistinct: this.distinct,
      duplicateDeliveries: this.duplicates,
      orderViolations: this.violations,
      orderViolationSamples: [...this.violationSamples],
      maxStallS: round(this.maxStall.ms / 1000),
      maxStallKey: this.maxStall.key >= 0 ? `k${this.maxStall.key}` : '-',
      maxStallEndS: round(this.maxStall.endMs / 1000),
    };
  }
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
