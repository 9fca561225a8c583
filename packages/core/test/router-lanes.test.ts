import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LaneScheduler } from '../src/router/internal/lane-scheduler.ts';

/** A scheduler whose items run `work` and free their slot once its promise settles. */
function promised<T>(concurrency: number, work: (item: T) => Promise<void>, onFinished = () => {}): LaneScheduler<T> {
  const scheduler: LaneScheduler<T> = new LaneScheduler<T>(
    concurrency,
    (item, lane) => {
      work(item).then(
        () => scheduler.finished(lane),
        () => scheduler.finished(lane),
      );
      return false;
    },
    onFinished,
  );
  return scheduler;
}

describe('LaneScheduler', () => {
  it('drops empty lanes, so many distinct keys do not accumulate', async () => {
    const order = new Map<string, number[]>();
    let finished = 0;
    const scheduler = promised<{ lane: string; n: number }>(
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
    const scheduler = promised<number>(
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

  it('property: any arrival and completion order keeps lanes in order and never exceeds the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 200 }),
        async (concurrency, lanes, picks) => {
          const open: { item: number; finish: () => void }[] = [];
          const started: number[] = [];
          let maxRunning = 0;
          const scheduler: LaneScheduler<number> = promised<number>(
            concurrency,
            (item) =>
              new Promise<void>((resolve) => {
                started.push(item);
                open.push({ item, finish: resolve });
                maxRunning = Math.max(maxRunning, scheduler.running);
              }),
            () => {},
          );
          lanes.forEach((lane, item) => {
            scheduler.push(item, lane === undefined ? undefined : `lane-${lane}`);
          });
          // Finish running items in an arbitrary order chosen by `picks`.
          let pick = 0;
          while (open.length > 0) {
            const index = (picks[pick++ % picks.length] ?? 0) % open.length;
            const [next] = open.splice(index, 1);
            next?.finish();
            await Promise.resolve();
            await Promise.resolve();
          }
          expect(started.sort((a, b) => a - b)).toEqual(lanes.map((_, i) => i));
          expect(maxRunning).toBeLessThanOrEqual(concurrency);
          expect(scheduler.laneCount).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('property: items of one lane start strictly in arrival order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 4 }),
        async (lanes, concurrency) => {
          const startOrder = new Map<number, number[]>();
          const scheduler = promised<{ lane: number; seq: number }>(
            concurrency,
            async (item) => {
              const list = startOrder.get(item.lane) ?? [];
              list.push(item.seq);
              startOrder.set(item.lane, list);
              await Promise.resolve();
            },
            () => {},
          );
          lanes.forEach((lane, seq) => {
            scheduler.push({ lane, seq }, `l${lane}`);
          });
          while (scheduler.running + scheduler.waiting > 0) await new Promise<void>((r) => setImmediate(r));
          for (const seqs of startOrder.values()) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        },
      ),
      { numRuns: 200 },
    );
  });
  it('property: items finishing synchronously and later, mixed, keep lane order, the limit and no lanes left', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.record({ lane: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }), sync: fc.boolean() }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        async (concurrency, items) => {
          const open: (() => void)[] = [];
          const started: number[][] = [[], [], [], []];
          let finished = 0;
          let maxRunning = 0;
          const scheduler: LaneScheduler<number> = new LaneScheduler<number>(
            concurrency,
            (item, lane) => {
              const { lane: key, sync } = items[item] as { lane: number | undefined; sync: boolean };
              if (key !== undefined) started[key]?.push(item);
              maxRunning = Math.max(maxRunning, scheduler.running);
              if (sync) return true;
              open.push(() => scheduler.finished(lane));
              return false;
            },
            () => finished++,
          );
          for (const [item, { lane }] of items.entries())
            scheduler.push(item, lane === undefined ? undefined : `l${lane}`);
          while (open.length > 0) open.shift()?.();
          expect(finished).toBe(items.length);
          expect(maxRunning).toBeLessThanOrEqual(concurrency);
          expect(scheduler.running + scheduler.waiting).toBe(0);
          expect(scheduler.laneCount).toBe(0);
          for (const seqs of started) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        },
      ),
      { numRuns: 200 },
    );
  });
});
