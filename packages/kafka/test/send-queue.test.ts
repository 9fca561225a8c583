// The publisher's send queue on its own, with fake timers: batching, linger, in-flight limit,
// backpressure and deadlines. The `send` handler here is the test's; Kafka is not involved.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type QueuedCall, SendQueue, type SendQueueLimits } from '../src/internal/send-queue.ts';

const LIMITS: SendQueueLimits = {
  lingerMs: 5,
  batchMaxMessages: 10,
  batchMaxBytes: 1_000_000,
  maxInFlightBatches: 2,
  maxPendingMessages: 20,
  maxPendingBytes: 1_000_000,
  timeoutMs: 1_000,
};

function harness(limits: Partial<SendQueueLimits> = {}) {
  const batches: { calls: QueuedCall[]; done: PromiseWithResolvers<void> }[] = [];
  const outcomes: string[] = [];
  const queue: SendQueue = new SendQueue(
    { ...LIMITS, ...limits },
    {
      send: (calls) => {
        const done = Promise.withResolvers<void>();
        batches.push({ calls, done });
        return done.promise;
      },
      timeoutError: (call) => new Error(`timeout ${call.topic}`),
      settled: () => {},
    },
  );
  /** Acknowledges batch `i`: settles its calls, then completes the send. */
  const ack = async (i: number) => {
    const batch = batches[i]!;
    for (const call of batch.calls) queue.settle(call);
    batch.done.resolve();
    await vi.advanceTimersByTimeAsync(0);
  };
  const add = (name: string, count = 1) =>
    queue
      .add(
        name,
        Array.from({ length: count }, () => ({ value: name })),
        count * 10,
      )
      .then(
        () => outcomes.push(`${name} ok`),
        (error: Error) => outcomes.push(`${name} ${error.message}`),
      );
  return { queue, batches, outcomes, ack, add };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SendQueue', () => {
  it('coalesces the calls of one linger window into one batch, sent when lingerMs passes', async () => {
    const { batches, ack, add, outcomes } = harness();
    void add('a');
    void add('b', 2);
    await vi.advanceTimersByTimeAsync(4);
    expect(batches).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(batches.map((b) => b.calls.map((c) => c.topic))).toEqual([['a', 'b']]);
    await ack(0);
    expect(outcomes).toEqual(['a ok', 'b ok']);
  });

  it('sends a full batch at once, without lingering', async () => {
    const { batches, add } = harness();
    void add('big', 10);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toHaveLength(1);
  });

  it('keeps at most maxInFlightBatches sending; the rest goes, without lingering, when one completes', async () => {
    const { batches, ack, add, queue } = harness();
    for (const name of ['a', 'b', 'c']) void add(name, 10);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toHaveLength(2);
    expect(queue.stats()).toMatchObject({ inFlightBatches: 2, pendingMessages: 10 });
    await ack(0);
    expect(batches).toHaveLength(3);
    expect(batches[2]!.calls[0]!.topic).toBe('c');
  });

  it('makes calls beyond maxPendingMessages wait, in call order, until dispatch frees room', async () => {
    const { batches, add, queue, ack } = harness({ maxInFlightBatches: 1 });
    void add('first', 10); // sent at once (full batch)
    await vi.advanceTimersByTimeAsync(0);
    void add('p1', 10);
    void add('p2', 10);
    void add('w1', 5); // 25 > 20: waits
    void add('w2', 1); // behind w1 even though it would fit
    expect(queue.stats()).toMatchObject({ pendingMessages: 20, waitingCalls: 2, peakPendingMessages: 20 });
    await ack(0);
    // p1 went out; w1 and w2 were admitted into the room it left.
    expect(batches[1]!.calls.map((c) => c.topic)).toEqual(['p1']);
    expect(queue.stats()).toMatchObject({ pendingMessages: 16, waitingCalls: 0 });
  });

  it('withdraws a call still unsent at its deadline: rejected, and never handed to send', async () => {
    const { batches, add, outcomes, ack } = harness({ maxInFlightBatches: 1 });
    void add('blocker', 10);
    await vi.advanceTimersByTimeAsync(0);
    void add('late');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(outcomes).toEqual(['blocker timeout blocker', 'late timeout late']);
    await ack(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(batches).toHaveLength(1);
  });

  it('ends each call at its own deadline (one timer serves calls added at different times)', async () => {
    const { add, outcomes } = harness({ maxInFlightBatches: 1 });
    void add('first', 10);
    await vi.advanceTimersByTimeAsync(400);
    void add('second');
    await vi.advanceTimersByTimeAsync(599);
    expect(outcomes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcomes).toEqual(['first timeout first']);
    await vi.advanceTimersByTimeAsync(399);
    expect(outcomes).toEqual(['first timeout first']);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcomes).toEqual(['first timeout first', 'second timeout second']);
  });

  it('still ends the oldest call at its deadline after thousands of later calls settled before it', async () => {
    const { add, outcomes, ack, batches } = harness({
      batchMaxMessages: 1,
      maxInFlightBatches: 5_000,
      maxPendingMessages: 5_000,
    });
    void add('slow');
    for (let i = 0; i < 3_000; i++) void add(`c${i}`);
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toHaveLength(3_001);
    // Every call but the oldest is acknowledged: they settle out of order, behind an open one.
    for (let i = 1; i < batches.length; i++) await ack(i);
    expect(outcomes).toHaveLength(3_000);
    expect(outcomes.every((outcome) => outcome.endsWith(' ok'))).toBe(true);
    void add('later');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(outcomes.slice(3_000)).toEqual(['slow timeout slow', 'later timeout later']);
  });

  it('flush() sends what lingers at once and resolves when every call has settled', async () => {
    const { batches, add, queue, ack } = harness({ lingerMs: 60_000 });
    void add('a');
    let flushed = false;
    void queue.flush().then(() => {
      flushed = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(batches).toHaveLength(1);
    expect(flushed).toBe(false);
    await ack(0);
    expect(flushed).toBe(true);
  });

  it('abandon() rejects unsent calls and sent ones with their own errors, and unblocks flush()', async () => {
    const { add, queue, outcomes } = harness({ maxInFlightBatches: 1 });
    void add('sent', 10);
    void add('unsent');
    await vi.advanceTimersByTimeAsync(0);
    const flushed = queue.flush();
    queue.abandon(
      () => new Error('closed'),
      () => new Error('cut short'),
    );
    await flushed;
    await vi.advanceTimersByTimeAsync(0);
    expect(outcomes.sort()).toEqual(['sent cut short', 'unsent closed']);
  });

  it('settles the calls of a send that rejects without settling them', async () => {
    const outcomes: string[] = [];
    const queue = new SendQueue(LIMITS, {
      send: async () => {
        throw new Error('boom');
      },
      timeoutError: () => new Error('timeout'),
      settled: () => {},
    });
    const call = queue.add('t', [{ value: 'x' }], 1).catch((error: Error) => outcomes.push(error.message));
    await vi.advanceTimersByTimeAsync(5);
    await call;
    expect(outcomes).toEqual(['boom']);
  });
});
