import { ConfigError, throttle } from '@bus/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { context, received } from '../support/received.ts';

describe('throttle', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets a burst through, then spaces calls at the configured rate, first come first served', async () => {
    const startedAt: number[] = [];
    const handler = throttle({ perSecond: 10, burst: 2, now: () => Date.now() })((m) => {
      startedAt.push(Date.now());
      return [m];
    });
    const t0 = Date.now();
    const calls = Array.from({ length: 5 }, () => handler(received(), context()));
    await vi.advanceTimersByTimeAsync(0);
    expect(startedAt.map((t) => t - t0)).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(300);
    await Promise.all(calls);
    expect(startedAt.map((t) => t - t0)).toEqual([0, 0, 100, 200, 300]);
  });

  it('abandons a wait when the signal aborts and returns the reserved token', async () => {
    let calls = 0;
    const handler = throttle({ perSecond: 1, now: () => Date.now() })(() => {
      calls++;
    });
    await handler(received(), context());
    const controller = new AbortController();
    const waiting = handler(received(), context({ signal: controller.signal }));
    controller.abort(new Error('closing'));
    await expect(waiting).rejects.toThrow('closing');
    expect(calls).toBe(1);
    // The abandoned reservation was returned: the next caller waits one interval, not two.
    const next = handler(received(), context());
    await vi.advanceTimersByTimeAsync(1_000);
    await next;
    expect(calls).toBe(2);
  });

  it('validates its options', () => {
    expect(() => throttle({ perSecond: 0, burst: 0 })).toThrow(
      expect.objectContaining({
        issues: [expect.objectContaining({ path: 'perSecond' }), expect.objectContaining({ path: 'burst' })],
      }),
    );
    expect(() => throttle({} as never)).toThrow(ConfigError);
  });
});
