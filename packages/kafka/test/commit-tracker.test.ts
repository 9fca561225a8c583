import { describe, expect, it } from 'vitest';
import { CommitScheduler } from '../src/internal/commit-scheduler.js';
import { CommitTracker, type TrackedOffset } from '../src/internal/commit-tracker.js';

function registerAll(tracker: CommitTracker, offsets: number[]): TrackedOffset[] {
  return offsets.map((offset) => {
    const entry = tracker.register(offset);
    if (entry === undefined) throw new Error(`offset ${offset} was not registered`);
    return entry;
  });
}

describe('CommitTracker', () => {
  it('resumes at the first record not yet committable, else past the last registered one', () => {
    const tracker = new CommitTracker();
    expect(tracker.resumeOffset).toBe(-1);
    const [a, b, c] = [10, 11, 13].map((offset) => tracker.register(offset)!) as [
      TrackedOffset,
      TrackedOffset,
      TrackedOffset,
    ];
    expect(tracker.resumeOffset).toBe(10);
    tracker.ack(b);
    expect(tracker.resumeOffset).toBe(10);
    tracker.ack(a);
    expect(tracker.resumeOffset).toBe(13);
    tracker.ack(c);
    expect(tracker.resumeOffset).toBe(14);
  });

  it('commits only the contiguous acked prefix', () => {
    const tracker = new CommitTracker();
    const [e0, e1, e2, e3] = registerAll(tracker, [10, 11, 12, 13]) as [
      TrackedOffset,
      TrackedOffset,
      TrackedOffset,
      TrackedOffset,
    ];
    expect(tracker.pendingCommit()).toBeUndefined();
    expect(tracker.ack(e1)).toBe(false);
    expect(tracker.ack(e2)).toBe(false);
    expect(tracker.pendingCommit()).toBeUndefined();
    expect(tracker.outstanding).toBe(4);
    expect(tracker.ack(e0)).toBe(true);
    expect(tracker.pendingCommit()).toBe(13);
    expect(tracker.outstanding).toBe(1);
    tracker.markCommitted(13);
    expect(tracker.pendingCommit()).toBeUndefined();
    tracker.ack(e3);
    expect(tracker.pendingCommit()).toBe(14);
    expect(tracker.outstanding).toBe(0);
  });

  it('skips offset gaps (transaction markers, compaction) without committing past unacked records', () => {
    const tracker = new CommitTracker();
    const [a, b, c] = registerAll(tracker, [3, 7, 20]) as [TrackedOffset, TrackedOffset, TrackedOffset];
    tracker.ack(a);
    expect(tracker.pendingCommit()).toBe(4);
    tracker.ack(c);
    expect(tracker.pendingCommit()).toBe(4);
    tracker.ack(b);
    expect(tracker.pendingCommit()).toBe(21);
  });

  it('ignores offsets registered twice or out of order', () => {
    const tracker = new CommitTracker();
    expect(tracker.register(5)).toBeDefined();
    expect(tracker.register(5)).toBeUndefined();
    expect(tracker.register(4)).toBeUndefined();
    expect(tracker.outstanding).toBe(1);
  });

  it('never moves the committed position backwards', () => {
    const tracker = new CommitTracker();
    const [a] = registerAll(tracker, [0]) as [TrackedOffset];
    tracker.ack(a);
    tracker.markCommitted(1);
    tracker.markCommitted(0);
    expect(tracker.committed).toBe(1);
  });

  it('stays correct across compaction of a long history', () => {
    const tracker = new CommitTracker();
    const entries = registerAll(
      tracker,
      Array.from({ length: 10_000 }, (_, i) => i),
    );
    // Ack in reverse within windows of 100, so the prefix moves in steps.
    for (let start = 0; start < entries.length; start += 100) {
      for (let i = start + 99; i >= start; i--) tracker.ack(entries[i] as TrackedOffset);
      expect(tracker.pendingCommit()).toBe(start + 100);
    }
    expect(tracker.outstanding).toBe(0);
    const next = tracker.register(10_000) as TrackedOffset;
    tracker.ack(next);
    expect(tracker.pendingCommit()).toBe(10_001);
  });
});

describe('CommitScheduler', () => {
  it('commits once per batch of acks, not per ack', async () => {
    let commits = 0;
    const scheduler = new CommitScheduler({ everyAcks: 10, intervalMs: undefined }, async () => {
      commits++;
    });
    for (let i = 0; i < 95; i++) scheduler.noteAck();
    await scheduler.flush();
    // 9 count-triggered commits plus the explicit flush; the running ones fold follow-ups together.
    expect(commits).toBeGreaterThanOrEqual(2);
    expect(commits).toBeLessThanOrEqual(10);
    scheduler.stop();
  });

  it('commits after the interval when few acks arrive', async () => {
    let resolveCommit!: () => void;
    const committed = new Promise<void>((resolve) => {
      resolveCommit = resolve;
    });
    const scheduler = new CommitScheduler({ everyAcks: 100, intervalMs: 20 }, async () => resolveCommit());
    const started = Date.now();
    scheduler.noteAck();
    await committed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    scheduler.stop();
  });

  it('serializes commits: a flush during a running commit runs once more afterwards', async () => {
    const order: string[] = [];
    let release!: () => void;
    let calls = 0;
    const scheduler = new CommitScheduler({ everyAcks: undefined, intervalMs: undefined }, async () => {
      calls++;
      order.push(`start${calls}`);
      if (calls === 1) {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      }
      order.push(`end${calls}`);
    });
    const first = scheduler.flush();
    const second = scheduler.flush();
    const third = scheduler.flush();
    release();
    await Promise.all([first, second, third]);
    expect(order).toEqual(['start1', 'end1', 'start2', 'end2']);
  });

  it('schedules nothing after stop()', async () => {
    let commits = 0;
    const scheduler = new CommitScheduler({ everyAcks: 1, intervalMs: 1 }, async () => {
      commits++;
    });
    scheduler.stop();
    scheduler.noteAck();
    expect(commits).toBe(0);
  });
});
