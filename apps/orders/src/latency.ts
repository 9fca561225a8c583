/** Collects durations and answers percentiles (nearest rank), for the apps' summaries. */
export class LatencyRecorder {
  readonly #samples: number[] = [];

  /** Records one duration in milliseconds. */
  record(ms: number): void {
    this.#samples.push(ms);
  }

  /** Number of samples. */
  get count(): number {
    return this.#samples.length;
  }

  /** The `p`-th percentile (0–100) in milliseconds, or `undefined` without samples. */
  percentile(p: number): number | undefined {
    if (this.#samples.length === 0) return undefined;
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank];
  }

  /** `p50 1.2 ms, p99 4.5 ms`, or `no samples`. */
  describe(): string {
    const p50 = this.percentile(50);
    const p99 = this.percentile(99);
    if (p50 === undefined || p99 === undefined) return 'no samples';
    return `p50 ${formatMs(p50)}, p99 ${formatMs(p99)}`;
  }
}

/** `3 ms` (whole milliseconds stay whole), `0.42 ms`, `12.3 ms`, `1,234 ms`. */
export function formatMs(ms: number): string {
  if (Number.isInteger(ms)) return `${ms.toLocaleString('en-US')} ms`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}
