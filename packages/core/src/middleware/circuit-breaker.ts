import { ConfigIssues } from '../config.js';
import { BusError, toError } from '../errors.js';
import type { Middleware } from '../pubsub.js';

const CIRCUIT_OPEN_MARKER = 'bus.error.circuit-open';

/**
 * The circuit breaker is open: the handler was not called. Retryable; `retryAfterMs` tells the router
 * to nack with that delay, so the message comes back when the breaker may let it through.
 */
export class CircuitOpenError extends BusError {
  /** Milliseconds until the breaker lets a trial call through. */
  readonly retryAfterMs: number;

  constructor(handlerName: string, retryAfterMs: number) {
    super(`Circuit breaker of handler "${handlerName}" is open; retry in ${retryAfterMs} ms`, {
      code: 'CIRCUIT_OPEN',
      isRetryable: true,
    });
    this.name = 'CircuitOpenError';
    this.retryAfterMs = retryAfterMs;
    this.mark(CIRCUIT_OPEN_MARKER);
  }

  static override isInstance(error: unknown): error is CircuitOpenError {
    return BusError.hasMarker(error, CIRCUIT_OPEN_MARKER);
  }
}

/** States of a {@link circuitBreaker}. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. Default 5. */
  failureThreshold?: number;
  /** How long the breaker stays open before letting trial calls through, in milliseconds. Default 30 000. */
  resetTimeoutMs?: number;
  /** Trial calls allowed at once while half-open. Default 1. */
  halfOpenMaxCalls?: number;
  /** Whether an error counts as a failure of the dependency. Default: every error. */
  isFailure?: (error: Error) => boolean;
  /** Called on every state change. */
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

/** A circuit breaker middleware, with its current state for health checks. */
export interface CircuitBreakerMiddleware extends Middleware {
  /** The breaker's state now. */
  readonly state: CircuitState;
}

/**
 * Stops calling a handler whose dependency keeps failing. `closed`: calls pass, consecutive failures
 * are counted; at `failureThreshold` the breaker opens. `open`: calls fail at once with a
 * {@link CircuitOpenError} (the message is nacked with a delay, never lost) until `resetTimeoutMs` has
 * passed. `half-open`: up to `halfOpenMaxCalls` trial calls pass; a success closes the breaker, a
 * failure opens it again.
 *
 * Trade-offs: the breaker is shared by every message of the handlers it wraps (create one per
 * dependency). While it is open, messages cycle through nack and redelivery, which on Kafka re-reads
 * them from the broker; a long `resetTimeoutMs` with many messages costs that traffic.
 * @throws {ConfigError} for invalid options, at construction.
 */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreakerMiddleware {
  const issues = new ConfigIssues('circuitBreaker');
  issues.integer(options.failureThreshold, 'failureThreshold', { min: 1 });
  issues.integer(options.resetTimeoutMs, 'resetTimeoutMs', { min: 0 });
  issues.integer(options.halfOpenMaxCalls, 'halfOpenMaxCalls', { min: 1 });
  for (const fn of ['isFailure', 'onStateChange', 'now'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') issues.add(fn, 'must be a function');
  }
  issues.throwIfAny();
  const failureThreshold = options.failureThreshold ?? 5;
  const resetTimeoutMs = options.resetTimeoutMs ?? 30_000;
  const halfOpenMaxCalls = options.halfOpenMaxCalls ?? 1;
  const { isFailure, onStateChange } = options;
  const now = options.now ?? Date.now;

  let state: CircuitState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let trials = 0;

  const moveTo = (next: CircuitState): void => {
    if (next === state) return;
    const previous = state;
    state = next;
    if (next === 'open') openedAt = now();
    if (next !== 'half-open') trials = 0;
    if (next === 'closed') failures = 0;
    onStateChange?.(next, previous);
  };

  const current = (): CircuitState => {
    if (state === 'open' && now() - openedAt >= resetTimeoutMs) moveTo('half-open');
    return state;
  };

  const middleware: Middleware = (next) => async (message, context) => {
    const at = current();
    if (at === 'open') {
      throw new CircuitOpenError(context.handlerName, Math.max(1, resetTimeoutMs - (now() - openedAt)));
    }
    const trial = at === 'half-open';
    if (trial) {
      if (trials >= halfOpenMaxCalls) {
        throw new CircuitOpenError(context.handlerName, Math.max(1, Math.min(resetTimeoutMs, 1_000)));
      }
      trials++;
    }
    try {
      const output = await next(message, context);
      failures = 0;
      if (state === 'half-open') moveTo('closed');
      return output;
    } catch (thrown) {
      const error = toError(thrown);
      if (isFailure === undefined || isFailure(error)) {
        if (state === 'half-open') moveTo('open');
        else if (state === 'closed' && ++failures >= failureThreshold) moveTo('open');
      }
      throw error;
    } finally {
      // A trial that ended without a verdict (an error that does not count) frees its slot.
      if (trial && state === 'half-open') trials--;
    }
  };
  return Object.defineProperty(middleware, 'state', { get: current, enumerable: true }) as CircuitBreakerMiddleware;
}
