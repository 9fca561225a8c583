import { ConfigError, TimeoutError, timeout } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { context, received } from '../support/received.ts';

describe('timeout', () => {
  it('fails a slow handler with TimeoutError and aborts its signal with that error', async () => {
    let handlerSignal: AbortSignal | undefined;
    const handler = timeout({ timeoutMs: 20 })(async (_m, { signal }) => {
      handlerSignal = signal;
      await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('stopped late'))));
    });
    const error = await Promise.resolve(handler(received(), context({ handlerName: 'slow' }))).catch((e: unknown) => e);
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect((error as TimeoutError).timeoutMs).toBe(20);
    expect((error as Error).message).toContain('"slow"');
    expect(handlerSignal?.aborted).toBe(true);
    expect(handlerSignal?.reason).toBe(error);
  });

  it('returns a fast handler result and leaves its signal alone', async () => {
    let handlerSignal: AbortSignal | undefined;
    const handler = timeout({ timeoutMs: 5_000 })((_m, { signal }) => {
      handlerSignal = signal;
      return [];
    });
    await expect(handler(received(), context())).resolves.toEqual([]);
    expect(handlerSignal?.aborted).toBe(false);
  });

  it('forwards an abort of the outer signal (router close) to the handler', async () => {
    const outer = new AbortController();
    const handler = timeout({ timeoutMs: 60_000 })(
      (_m, { signal }) =>
        new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    );
    const result = handler(received(), context({ signal: outer.signal }));
    outer.abort(new Error('router closing'));
    await expect(result).rejects.toThrow('router closing');
  });

  it('requires a positive timeoutMs', () => {
    expect(() => timeout({ timeoutMs: 0 })).toThrow(ConfigError);
    expect(() => timeout({} as never)).toThrow(ConfigError);
  });
});
