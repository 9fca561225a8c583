import { BusError, type Middleware, toError } from '@bus/core';
import type { LastError, ProcessorStats } from '../stats.js';
import { isThenable } from './thenable.js';

/** Counts what a processor's handlers do; its middleware wrap them. */
export class StatsRecorder {
  handled = 0;
  failed = 0;
  retried = 0;
  deadLettered = 0;
  skipped = 0;
  inFlight = 0;
  lastError: LastError | undefined;

  /**
   * Outermost: counts messages in flight. Neither this nor {@link inner} is an async function: a
   * handler that finishes synchronously stays synchronous, so the router settles it without a promise.
   */
  readonly outer: Middleware = (next) => (message, context) => {
    this.inFlight++;
    let output: ReturnType<typeof next>;
    try {
      output = next(message, context);
    } catch (thrown) {
      this.inFlight--;
      throw thrown;
    }
    if (!isThenable(output)) {
      this.inFlight--;
      return output;
    }
    return Promise.resolve(output).then(
      (result) => {
        this.inFlight--;
        return result;
      },
      (thrown: unknown) => {
        this.inFlight--;
        throw thrown;
      },
    );
  };

  /** Innermost: counts each attempt's outcome. */
  readonly inner: Middleware = (next) => (message, context) => {
    let output: ReturnType<typeof next>;
    try {
      output = next(message, context);
    } catch (thrown) {
      this.failure(thrown);
      throw thrown;
    }
    if (!isThenable(output)) return output;
    return Promise.resolve(output).then(undefined, (thrown: unknown) => {
      this.failure(thrown);
      throw thrown;
    });
  };

  failure(thrown: unknown): void {
    const error = toError(thrown);
    this.failed++;
    const code = BusError.isInstance(error) ? error.code : (error as { code?: unknown }).code;
    this.lastError = {
      name: error.name,
      message: error.message,
      code: typeof code === 'string' ? code : undefined,
      at: new Date(),
    };
  }

  snapshot(): ProcessorStats {
    return {
      handled: this.handled,
      failed: this.failed,
      retried: this.retried,
      deadLettered: this.deadLettered,
      skipped: this.skipped,
      inFlight: this.inFlight,
      lastError: this.lastError,
    };
  }
}
