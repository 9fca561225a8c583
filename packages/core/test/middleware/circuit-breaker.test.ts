import { CircuitOpenError, type CircuitState, ConfigError, circuitBreaker } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { context, received } from '../support/received.ts';

describe('circuitBreaker', () => {
  function setup(options: { isFailure?: (e: Error) => boolean } = {}) {
    let now = 0;
    const changes: [CircuitState, CircuitState][] = [];
    let fail = true;
    let calls = 0;
    const breaker = circuitBreaker({
      failureThreshold: 3,
      resetTimeoutMs: 1_000,
      now: () => now,
      onStateChange: (s, p) => changes.push([s, p]),
      ...options,
    });
    const handler = breaker(() => {
      calls++;
      if (fail) throw new Error('dependency down');
    });
    const call = () => Promise.resolve(handler(received(), context({ handlerName: 'payments' })));
    return {
      breaker,
      call,
      changes,
      calls: () => calls,
      setFail: (f: boolean) => {
        fail = f;
      },
      advance: (ms: number) => {
        now += ms;
      },
    };
  }

  it('opens after consecutive failures and then fails fast with a retryable CircuitOpenError', async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) await expect(t.call()).rejects.toThrow('dependency down');
    expect(t.breaker.state).toBe('open');
    t.advance(400);
    const error = await t.call().catch((e: unknown) => e);
    expect(CircuitOpenError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'CIRCUIT_OPEN', isRetryable: true, retryAfterMs: 600 });
    expect(t.calls()).toBe(3);
  });

  it('half-opens after the reset timeout: a successful trial closes it, a failed one reopens it', async () => {
    const t = setup();
    for (let i = 0; i < 3; i++) await t.call().catch(() => {});
    t.advance(1_000);
    expect(t.breaker.state).toBe('half-open');
    await expect(t.call()).rejects.toThrow('dependency down');
    expect(t.breaker.state).toBe('open');
    t.advance(1_000);
    t.setFail(false);
    await t.call();
    expect(t.breaker.state).toBe('closed');
    expect(t.changes).toEqual([
      ['open', 'closed'],
      ['half-open', 'open'],
      ['open', 'half-open'],
      ['half-open', 'open'],
      ['closed', 'half-open'],
    ]);
  });

  it('lets only halfOpenMaxCalls trials through at once', async () => {
    let release!: () => void;
    let now = 0;
    const breaker = circuitBreaker({ failureThreshold: 1, resetTimeoutMs: 10, now: () => now });
    let first = true;
    const handler = breaker(async () => {
      if (first) {
        first = false;
        throw new Error('x');
      }
      await new Promise<void>((r) => {
        release = r;
      });
    });
    await Promise.resolve(handler(received(), context())).catch(() => {});
    now = 10;
    const trial = handler(received(), context());
    await expect(Promise.resolve(handler(received(), context()))).rejects.toSatisfy((e) =>
      CircuitOpenError.isInstance(e),
    );
    release();
    await trial;
    expect(breaker.state).toBe('closed');
  });

  it('ignores errors isFailure does not count, and success resets the failure count', async () => {
    const t = setup({ isFailure: (e) => e.message !== 'dependency down' });
    for (let i = 0; i < 5; i++) await t.call().catch(() => {});
    expect(t.breaker.state).toBe('closed');
    expect(() => circuitBreaker({ failureThreshold: 0, resetTimeoutMs: -1 })).toThrow(ConfigError);
  });
});
