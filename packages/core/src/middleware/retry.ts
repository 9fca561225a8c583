import { ConfigIssues } from '../config.js';
import { BusError, HandlerError, toError } from '../errors.js';
import type { Handler, HandlerContext, Middleware, ReceivedMessage } from '../pubsub.js';
import { abortableSleep } from './internal/abortable-sleep.js';
import { reportEvent } from './internal/report-event.js';
import { recordFailure, recordRetries } from './internal/retry-count.js';

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 3; 0 disables retrying. */
  maxRetries?: number;
  /** Wait before the first retry, in milliseconds. Default 100. */
  initialIntervalMs?: number;
  /** Each wait is the previous one times this. Default 2. */
  multiplier?: number;
  /** Upper bound of one wait, in milliseconds. Default 10 000. */
  maxIntervalMs?: number;
  /**
   * Jitter: each wait is drawn uniformly from `interval × [1 − f, 1 + f]`. Default 0.5; 0 disables it.
   * Spreads retries of many failing consumers so they do not hit a recovering dependency at once.
   */
  randomizationFactor?: number;
  /** Give up when the next wait would end later than this after the first attempt. Default: no limit. */
  maxElapsedMs?: number;
  /**
   * Whether `error` is worth retrying. Default: every error except bus errors that declare
   * `isRetryable: false` (a rejected configuration, say), which fail the same way every time.
   */
  shouldRetry?: (error: Error, message: ReceivedMessage) => boolean;
  /** Called before each wait, e.g. for logging. (The handler context's `onEvent` is told too.) */
  onRetry?: (event: RetryEvent) => void;
  /** Source of randomness in [0, 1), for deterministic tests. Default `Math.random`. */
  random?: () => number;
}

/** What {@link RetryOptions.onRetry} is told. */
export interface RetryEvent {
  /** The failure that causes the retry. */
  readonly error: Error;
  /** 1 for the first retry. */
  readonly retry: number;
  /** How long the middleware waits before it. */
  readonly delayMs: number;
  readonly message: ReceivedMessage;
}

/**
 * Retries a failing handler in process with exponential backoff and jitter, before the router ever
 * nacks the message. When retries run out (or `shouldRetry` says no, or the handler's signal aborts
 * during a wait) the last error is thrown, so outer middleware (say `deadLetter`) or the router take over.
 *
 * Trade-offs: in-process retries keep the message's lane busy, so later messages with the same key
 * wait (ordering is kept, throughput of that key drops) and the total can exceed a `timeout` placed
 * outside it. Place `timeout` inside `retry` to bound each attempt, outside to bound them all.
 * Retried handlers must be idempotent: an attempt that failed may have had side effects.
 * @throws {ConfigError} for invalid options, at construction.
 */
export function retry(options: RetryOptions = {}): Middleware {
  const issues = new ConfigIssues('retry');
  issues.integer(options.maxRetries, 'maxRetries', { min: 0, max: 1_000 });
  issues.number(options.initialIntervalMs, 'initialIntervalMs', { min: 0 });
  issues.number(options.multiplier, 'multiplier', { min: 1 });
  issues.number(options.maxIntervalMs, 'maxIntervalMs', { min: 0 });
  issues.number(options.randomizationFactor, 'randomizationFactor', { min: 0, max: 1 });
  issues.number(options.maxElapsedMs, 'maxElapsedMs', { min: 0 });
  for (const fn of ['shouldRetry', 'onRetry', 'random'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') issues.add(fn, 'must be a function');
  }
  issues.throwIfAny();
  const maxRetries = options.maxRetries ?? 3;
  const initialIntervalMs = options.initialIntervalMs ?? 100;
  const multiplier = options.multiplier ?? 2;
  const maxIntervalMs = options.maxIntervalMs ?? 10_000;
  const jitter = options.randomizationFactor ?? 0.5;
  const { maxElapsedMs, shouldRetry, onRetry } = options;
  const random = options.random ?? Math.random;

  const delayFor = (retryNumber: number): number => {
    const base = Math.min(maxIntervalMs, initialIntervalMs * multiplier ** (retryNumber - 1));
    return Math.round(base * (1 - jitter + 2 * jitter * random()));
  };

  // The first attempt is called directly: a handler that succeeds synchronously stays synchronous
  // (the router then settles it without a promise), and one that succeeds asynchronously costs one
  // continuation. Only a failure enters the async retry loop.
  const retryAfter = async (
    thrown: unknown,
    next: Handler,
    message: ReceivedMessage,
    context: HandlerContext,
    startedAt: number,
  ): Promise<HandlerOutput> => {
    let failure = thrown;
    for (let attempt = 0; ; attempt++) {
      const error = toError(failure);
      if (attempt === 0) recordFailure(message, Date.now());
      const retryNumber = attempt + 1;
      if (retryNumber > maxRetries || context.signal.aborted) throw error;
      if (!(shouldRetry ?? retryableByDefault)(error, message)) throw error;
      const delayMs = delayFor(retryNumber);
      if (maxElapsedMs !== undefined && Date.now() + delayMs - startedAt > maxElapsedMs) throw error;
      onRetry?.({ error, retry: retryNumber, delayMs, message });
      reportEvent(context, { type: 'retry', error, retry: retryNumber, delayMs, message });
      context.logger.debug({ err: error, retry: retryNumber, delayMs }, 'retrying handler');
      try {
        await abortableSleep(delayMs, context.signal);
      } catch {
        throw error;
      }
      recordRetries(message, retryNumber);
      try {
        return await next(message, context);
      } catch (again) {
        failure = again;
      }
    }
  };

  return (next) => (message, context: HandlerContext) => {
    const startedAt = Date.now();
    let output: HandlerOutput | PromiseLike<HandlerOutput>;
    try {
      output = next(message, context);
    } catch (thrown) {
      return retryAfter(thrown, next, message, context, startedAt);
    }
    if (!isThenable(output)) return output;
    return Promise.resolve(output).then(undefined, (thrown: unknown) =>
      retryAfter(thrown, next, message, context, startedAt),
    );
  };
}

type HandlerOutput = Awaited<ReturnType<Handler>>;

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Bus errors say whether retrying can help; a wrapped non-Error throw says nothing, so it is retried. */
function retryableByDefault(error: Error): boolean {
  return !BusError.isInstance(error) || error.isRetryable || HandlerError.isInstance(error);
}
