import { BusError, type Middleware, toError } from '@bus/core';
import type { LastError, ProcessorStats } from '../stats.js';

/** Counts what a processor's handlers do; its middleware wrap them. */
export class StatsRecorder {
  handled = 0;
  failed = 0;
  retried = 0;
  deadLettered = 0;
  skipped = 0;
  inFlight = 0;
  lastError: LastError | undefined;

  /** Outermost: counts messages in flight. */
  readonly outer: Middleware = (next) => async (message, context) => {
    this.inFlight++;
    try {
      return await next(message, context);
    } finally {
      this.inFlight--;
    }
  };

  /** Innermost: counts each attempt's outcome. */
  readonly inner: Middleware = (next) => async (message, context) => {
    try {
      return await next(message, context);
    } catch (thrown) {
      this.failure(thrown);
      throw thrown;
    }
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
