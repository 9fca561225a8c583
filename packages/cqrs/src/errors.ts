import { BusError } from '@bus/core';

/** Stable codes of {@link CqrsError}. New codes may be added in minor versions. */
export type CqrsErrorCode = 'NO_HANDLER' | 'DUPLICATE_HANDLER' | 'UNKNOWN_TYPE' | 'INVALID_ENVELOPE' | 'NOT_A_MESSAGE';

const CQRS_ERROR_MARKER = 'bus.error.cqrs';

/** Options of {@link CqrsError}. */
export interface CqrsErrorOptions {
  /** Stable code. */
  code: CqrsErrorCode;
  /** The event or command type involved, when there is one. */
  type?: string | undefined;
  /** The underlying error. */
  cause?: unknown;
  /**
   * When set, the router nacks the message with this delay instead of at once (used by the `nack`
   * unknown-type policy, so a message no member knows yet is not redelivered in a hot loop).
   */
  retryAfterMs?: number | undefined;
}

/**
 * Every error @bus/cqrs throws: a `BusError` with a stable {@link CqrsErrorCode} and the type involved.
 * None is retryable: the same message fails the same way until the code or the registrations change.
 */
export class CqrsError extends BusError {
  declare readonly code: CqrsErrorCode;
  /** The event or command type involved. */
  readonly type: string | undefined;
  /** Delay the router applies to the nack, when set. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: CqrsErrorOptions) {
    super(message, { code: options.code, cause: options.cause, isRetryable: false });
    this.name = 'CqrsError';
    this.type = options.type;
    this.retryAfterMs = options.retryAfterMs;
    this.mark(CQRS_ERROR_MARKER);
  }

  /** Whether `error` is a cqrs error from any installed copy of @bus/cqrs. */
  static override isInstance(error: unknown): error is CqrsError {
    return BusError.hasMarker(error, CQRS_ERROR_MARKER);
  }
}
