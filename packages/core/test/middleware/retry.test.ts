import { ConfigError, PublishError, type RetryEvent, retry } from '@bus/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { context, received } from '../support/received.ts';

describe('retry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries with exponential backoff until the handler succeeds', async () => {
    const events: RetryEvent[] = [];
    let calls = 0;
    const handler = retry({
      maxRetries: 5,
      initialIntervalMs: 10,
      multiplier: 3,
      randomizationFactor: 0.5,
      random: () => 0.5, // the middle of the jitter range: exactly the base interval
      onRetry: (e) => events.push(e),
    })(() => {
      if (++calls < 4) throw new Error(`fail ${calls}`);
      return [];
    });
    const result = handler(received(), context());
    await vi.advanceTimersByTimeAsync(10 + 30 + 90);
    await expect(result).resolves.toEqual([]);
    expect(calls).toBe(4);
    expect(events.map((e) => [e.retry, e.delayMs, e.error.message])).toEqual([
      [1, 10, 'fail 1'],
      [2, 30, 'fail 2'],
      [3, 90, 'fail 3'],
    ]);
  });

  it('returns a synchronous success as it is, without a promise, and an async one resolved', async () => {
    const output = [] as const;
    expect(retry()(() => output)(received(), context())).toBe(output);
    expect(retry()(() => undefined)(received(), context())).toBeUndefined();
    await expect(retry()(async () => output)(received(), context())).resolves.toBe(output);
  });

  it('retries an asynchronous failure of the first attempt', async () => {
    let calls = 0;
    const handler = retry({ initialIntervalMs: 10, randomizationFactor: 0 })(async () => {
      if (++calls === 1) throw new Error('first');
      return [];
    });
    const result = handler(received(), context());
    await vi.advanceTimersByTimeAsync(10);
    await expect(result).resolves.toEqual([]);
    expect(calls).toBe(2);
  });

  it('caps each wait at maxIntervalMs and spreads it by the randomization factor', async () => {
    const delays: number[] = [];
    const low = retry({
      maxRetries: 4,
      initialIntervalMs: 100,
      multiplier: 10,
      maxIntervalMs: 1_000,
      randomizationFactor: 0.2,
      random: () => 0,
      onRetry: (e) => delays.push(e.delayMs),
    })(() => {
      throw new Error('down');
    });
    const outcome = expect(low(received(), context())).rejects.toThrow('down');
    await vi.runAllTimersAsync();
    await outcome;
    // 100, 1000, 1000 (capped), 1000 — each at the bottom of a ±20 % range.
    expect(delays).toEqual([80, 800, 800, 800]);
  });

  it('throws the last error when retries run out, without retrying errors shouldRetry refuses', async () => {
    let calls = 0;
    const handler = retry({
      maxRetries: 2,
      initialIntervalMs: 1,
      shouldRetry: (error) => error.message !== 'fatal',
    })(() => {
      calls++;
      throw new Error(calls === 2 ? 'fatal' : 'transient');
    });
    const outcome = expect(handler(received(), context())).rejects.toThrow('fatal');
    await vi.runAllTimersAsync();
    await outcome;
    expect(calls).toBe(2);
  });

  it('by default does not retry bus errors that declare themselves non-retryable', async () => {
    const thrown = [
      new PublishError('t', 'not authorized'),
      new PublishError('t', 'leader moved', { isRetryable: true }),
    ];
    for (const error of thrown) {
      let calls = 0;
      const handler = retry({ maxRetries: 1, initialIntervalMs: 1 })(() => {
        calls++;
        throw error;
      });
      const outcome = expect(handler(received(), context())).rejects.toBe(error);
      await vi.runAllTimersAsync();
      await outcome;
      expect(calls).toBe(error.isRetryable ? 2 : 1);
    }
  });

  it('stops before maxElapsedMs would be exceeded', async () => {
    let calls = 0;
    const handler = retry({
      maxRetries: 10,
      initialIntervalMs: 40,
      multiplier: 1,
      randomizationFactor: 0,
      maxElapsedMs: 100,
    })(() => {
      calls++;
      throw new Error('slow down');
    });
    const outcome = expect(handler(received(), context())).rejects.toThrow('slow down');
    await vi.runAllTimersAsync();
    await outcome;
    // Attempts at 0, 40, 80 ms; the next would end at 120 ms > 100 ms.
    expect(calls).toBe(3);
  });

  it('ends a wait as soon as the handler signal aborts, rethrowing the handler error', async () => {
    const controller = new AbortController();
    let calls = 0;
    const handler = retry({ maxRetries: 3, initialIntervalMs: 60_000 })(() => {
      calls++;
      throw new Error('unavailable');
    });
    const outcome = expect(handler(received(), context({ signal: controller.signal }))).rejects.toThrow('unavailable');
    await vi.advanceTimersByTimeAsync(1);
    controller.abort();
    await outcome;
    expect(calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('wraps non-Error throws and validates every option at once', async () => {
    const handler = retry({ maxRetries: 0 })(() => {
      throw 42;
    });
    await expect(handler(received(), context())).rejects.toMatchObject({ code: 'HANDLER_THREW_NON_ERROR', thrown: 42 });
    let error: unknown;
    try {
      retry({ maxRetries: -1, multiplier: 0.5, randomizationFactor: 2, onRetry: 'x' as never });
    } catch (e) {
      error = e;
    }
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual([
      'maxRetries',
      'multiplier',
      'randomizationFactor',
      'onRetry',
    ]);
  });
});
