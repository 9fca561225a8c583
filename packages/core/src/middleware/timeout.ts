import { ConfigIssues } from '../config.js';
import { TimeoutError } from '../errors.js';
import type { Middleware } from '../pubsub.js';

/** Options of {@link timeout}. */
export interface TimeoutOptions {
  /** How long one call of the wrapped handler may take, in milliseconds. */
  timeoutMs: number;
}

/**
 * Fails a handler call that takes longer than `timeoutMs` with a `TimeoutError` (so the message is
 * nacked, or retried by an outer `retry`) and aborts the `signal` the handler sees, with that error
 * as reason. The handler's own signal still aborts on the router's close deadline.
 *
 * Trade-offs: JavaScript cannot stop a function; a handler that ignores its signal keeps running in the
 * background after the timeout, possibly overlapping its own redelivery. Pass `context.signal` to every
 * I/O call (fetch, database drivers) so a timeout really stops the work.
 * @throws {ConfigError} for an invalid timeout, at construction.
 */
export function timeout(options: TimeoutOptions): Middleware {
  const issues = new ConfigIssues('timeout');
  issues.require(options?.timeoutMs !== undefined, 'timeoutMs', 'is required');
  issues.number(options?.timeoutMs, 'timeoutMs', { min: 1, max: 2_147_483_647 });
  issues.throwIfAny();
  const { timeoutMs } = options;

  return (next) => async (message, context) => {
    const controller = new AbortController();
    const forward = (): void => controller.abort(context.signal.reason);
    if (context.signal.aborted) forward();
    else context.signal.addEventListener('abort', forward, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TimeoutError(`Handler "${context.handlerName}"`, timeoutMs);
        controller.abort(error);
        reject(error);
      }, timeoutMs);
    });
    let running: Promise<Awaited<ReturnType<typeof next>>>;
    try {
      running = Promise.resolve(next(message, { ...context, signal: controller.signal }));
    } catch (error) {
      running = Promise.reject(error);
    }
    // A handler that fails after its timeout must not surface as an unhandled rejection.
    running.catch(() => {});
    try {
      return await Promise.race([running, expired]);
    } finally {
      clearTimeout(timer);
      context.signal.removeEventListener('abort', forward);
    }
  };
}
