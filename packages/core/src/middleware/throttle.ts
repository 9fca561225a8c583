import { ConfigIssues } from '../config.js';
import type { Middleware } from '../pubsub.js';
import { abortableSleep } from './internal/abortable-sleep.js';

/** Options of {@link throttle}. */
export interface ThrottleOptions {
  /** Sustained rate: handler calls per second. */
  perSecond: number;
  /** Calls allowed back to back after an idle period (bucket size). Default 1: evenly spaced calls. */
  burst?: number;
  /** Clock in milliseconds, for tests. Default `performance.now`. */
  now?: () => number;
}

/**
 * Limits handler calls to `perSecond` with a token bucket shared by every message of the handlers it
 * wraps (create one per handler for per-handler limits). Calls that exceed the rate wait their turn,
 * first come first served; a wait ends early, failing the call, when the handler's signal aborts.
 *
 * Trade-offs: waiting messages hold their concurrency slots and the router's buffer, so a throttled
 * handler pulls slower (backpressure) instead of piling up memory. The limit is per process: N
 * consumers allow N × `perSecond` in total.
 * @throws {ConfigError} for invalid options, at construction.
 */
export function throttle(options: ThrottleOptions): Middleware {
  const issues = new ConfigIssues('throttle');
  issues.require(options?.perSecond !== undefined, 'perSecond', 'is required');
  issues.number(options?.perSecond, 'perSecond', { min: Number.MIN_VALUE, max: 1_000_000 });
  issues.integer(options?.burst, 'burst', { min: 1, max: 1_000_000 });
  if (options?.now !== undefined && typeof options.now !== 'function') issues.add('now', 'must be a function');
  issues.throwIfAny();
  const perMs = options.perSecond / 1_000;
  const burst = options.burst ?? 1;
  const now = options.now ?? (() => performance.now());
  let tokens = burst;
  let updatedAt = now();

  /** Takes a token now, possibly going into debt; returns how long the caller must wait for it. */
  const reserve = (): number => {
    const at = now();
    tokens = Math.min(burst, tokens + (at - updatedAt) * perMs);
    updatedAt = at;
    tokens -= 1;
    return tokens >= 0 ? 0 : -tokens / perMs;
  };

  return (next) => async (message, context) => {
    const waitMs = reserve();
    if (waitMs > 0) {
      try {
        await abortableSleep(Math.ceil(waitMs), context.signal);
      } catch (error) {
        tokens += 1; // the reservation was not used: give it back to the callers behind
        throw error;
      }
    }
    return next(message, context);
  };
}
