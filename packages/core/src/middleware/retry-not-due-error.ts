import { BusError } from '../errors.js';

/**
 * A message of a retry topic that is not due yet. The router nacks it with `retryAfterMs`, so its
 * partition waits (nothing behind it overtakes it) while the other partitions and topics flow.
 */
export class RetryNotDueError extends BusError {
  /** How long until it is due. */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number) {
    // Not retryable: an in-process `retry` must not sleep on it; the router's delayed nack defers it.
    super(`Retry not due for ${retryAfterMs} ms`, { code: 'RETRY_NOT_DUE', isRetryable: false });
    this.name = 'RetryNotDueError';
    this.retryAfterMs = retryAfterMs;
    this.mark('bus.error.retry-not-due');
  }

  static override isInstance(error: unknown): error is RetryNotDueError {
    return BusError.hasMarker(error, 'bus.error.retry-not-due');
  }
}
