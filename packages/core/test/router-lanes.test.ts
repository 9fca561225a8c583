import { describe, expect, it } from 'vitest';
import { LaneScheduler } from '../src/router/internal/lane-scheduler.ts';

describe('LaneScheduler', () => {
  it('drops empty lanes, so many distinct keys do not accumulate', async () => {
    const order = new Map<string, number[]>();
    let finished = 0;
    const scheduler = new LaneScheduler<{ lane: string; n: number }>(
      8,
      async (item) => {
        await Promise.resolve();
        const list = order.get(item.lane) ?? [];
        list.push(item.n);
        order.set(item.lane, list);
      },
      () => finished++,
    );
    for (let n = 0; n < 20_000; n++) {
      const lane = `key-${n % 5_000}`;
      scheduler.push({ lane, n }, lane);
    }
    expect(scheduler.laneCount).toBe(5_000);
    while (finished < 20_000) await new Promise<void>((r) => setImmediate(r));
    expect(scheduler.laneCount).toBe(0);
    expect(scheduler.running + scheduler.waiting).toBe(0);
    for (const values of order.values()) expect(values).toEqual([...values].sort((a, b) => a - b));
  });

  it('runs unordered items in parallel and hands back waiting items when paused', async () => {
    const gates: (() => void)[] = [];
    const scheduler = new LaneScheduler<number>(
      2,
      (item) => new Promise<void>((resolve) => gates.push(() => resolve(void item))),
      () => {},
    );
    for (let i = 0; i < 5; i++) scheduler.push(i, undefined);
    scheduler.push(5, 'a');
    scheduler.push(6, 'a');
    expect(scheduler.running).toBe(2);
    expect(scheduler.pauseAndTakeWaiting().sort()).toEqual([2, 3, 4, 5, 6]);
    expect(scheduler.waiting).toBe(0);
    for (const open of gates.splice(0)) open();
    await new Promise<void>((r) => setImmediate(r));
    expect(scheduler.running).toBe(0);
    expect(gates).toHaveLength(0);
  });
});
