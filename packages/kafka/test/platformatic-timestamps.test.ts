import { describe, expect, it } from 'vitest';
import { timestampRuns } from '../src/internal/driver/platformatic-driver.ts';
import type { DriverRecord } from '../src/internal/driver/types.ts';

const DAY = 86_400_000;

describe('timestampRuns (records sent to @platformatic/kafka)', () => {
  it('keeps a send of recent or absent timestamps whole, giving the absent ones one "now"', () => {
    const records: DriverRecord[] = [
      { value: 'a' },
      { value: 'b', timestamp: String(Date.now() - DAY) },
      { value: 'c' },
    ];
    const runs = timestampRuns(records);
    expect(runs).toEqual([records]);
    expect(records[0]!.timestamp).toBe(records[2]!.timestamp);
  });

  it('splits, in order, where timestamps lie 2^31 ms or more apart (the client corrupts such deltas)', () => {
    const old = String(1_700_000_000_123);
    const records: DriverRecord[] = [
      { value: 'a' },
      { value: 'b', timestamp: old },
      { value: 'c', timestamp: old },
      { value: 'd' },
    ];
    const runs = timestampRuns(records);
    expect(runs.map((run) => run.map((r) => r.value))).toEqual([['a'], ['b', 'c'], ['d']]);
  });
});
