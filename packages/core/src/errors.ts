/**
 * Errors thrown by bus carry a stable `code` and a `Symbol.for` marker, so `isInstance()` checks
 * keep working when two copies of a package are installed (where `instanceof` fails).
 */

const BUS_ERROR_MARKER = 'bus.error';

function hasMarker(value: unknown, marker: string): boolean {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[Symbol.for(marker)] === true;
}

/** Options shared by every bus error. */
export interface BusErrorOptions {
  /** Stable, machine-readable error code, e.g. `CONFIG_INVALID`. */
  code: string;
  /** Whether retrying the same operation may succeed. Defaults to `false`. */
  isRetryable?: boolean;
  /** The underlying error. */
  cause?: unknown;
}

/** Base class of every error bus throws. */
export class BusError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: string;
  /** Whether retrying the same operation may succeed. */
  readonly isRetryable: boolean;

  constructor(message: string, options: BusErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BusError';
    this.code = options.code;
    this.isRetryable = options.isRetryable ?? false;
    Object.defineProperty(this, Symbol.for(BUS_ERROR_MARKER), { value: true });
  }

  /** Whether `error` is a bus error from any installed copy of bus. */
  static isInstance(error: unknown): error is BusError {
    return hasMarker(error, BUS_ERROR_MARKER);
  }

  /** Marks an instance with a subclass marker; subclasses call this in their constructor. */
  protected mark(marker: string): void {
    Object.defineProperty(this, Symbol.for(marker), { value: true });
  }

  /** For subclasses' `isInstance()`: whether `error` carries `marker`. */
  protected static hasMarker(error: unknown, marker: string): boolean {
    return hasMarker(error, marker);
  }
}

/** One problem found while validating options. Never carries the offending value (it may be a secret). */
export interface ConfigIssue {
  /** Dotted path of the option, e.g. `sasl.mechanism`. */
  path: string;
  /** What is wrong and what is expected. */
  message: string;
}

const CONFIG_ERROR_MARKER = 'bus.error.config';

/** Invalid options. Lists every problem at once, so one run shows all that needs fixing. */
export class ConfigError extends BusError {
  /** Every problem found. */
  readonly issues: readonly ConfigIssue[];

  constructor(subject: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join('\n');
    super(`Invalid ${subject} options (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines}`, {
      code: 'CONFIG_INVALID',
    });
    this.name = 'ConfigError';
    this.issues = issues;
    this.mark(CONFIG_ERROR_MARKER);
  }

  static override isInstance(error: unknown): error is ConfigError {
    return BusError.hasMarker(error, CONFIG_ERROR_MARKER);
  }
}

const CLOSED_ERROR_MARKER = 'bus.error.closed';

/** The publisher, subscriber or router was closed before or during the operation. */
export class ClosedError extends BusError {
  constructor(what: string, options: { cause?: unknown } = {}) {
    super(`${what} is closed`, { code: 'CLOSED', cause: options.cause });
    this.name = 'ClosedError';
    this.mark(CLOSED_ERROR_MARKER);
  }

  static override isInstance(error: unknown): error is ClosedError {
    return BusError.hasMarker(error, CLOSED_ERROR_MARKER);
  }
}

const TIMEOUT_ERROR_MARKER = 'bus.error.timeout';

/** An operation did not complete within its deadline. Retryable. */
export class TimeoutError extends BusError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(what: string, timeoutMs: number, options: { cause?: unknown } = {}) {
    super(`${what} did not complete within ${timeoutMs} ms`, {
      code: 'TIMEOUT',
      isRetryable: true,
      cause: options.cause,
    });
    this.name = 'TimeoutError';
    this.timeoutMs = timeoutMs;
    this.mark(TIMEOUT_ERROR_MARKER);
  }

  static override isInstance(error: unknown): error is TimeoutError {
    return BusError.hasMarker(error, TIMEOUT_ERROR_MARKER);
  }
}

const PUBLISH_ERROR_MARKER = 'bus.error.publish';

/** A publish was not durably accepted by the transport. Nothing can be assumed about which messages were stored. */
export class PublishError extends BusError {
  /** The topic that was published to. */
  readonly topic: string;

  constructor(topic: string, message: string, options: { cause?: unknown; isRetryable?: boolean; code?: string } = {}) {
    super(`Publish to "${topic}" failed: ${message}`, {
      code: options.code ?? 'PUBLISH_FAILED',
      isRetryable: options.isRetryable ?? false,
      cause: options.cause,
    });
    this.name = 'PublishError';
    this.topic = topic;
    this.mark(PUBLISH_ERROR_MARKER);
  }

  static override isInstance(error: unknown): error is PublishError {
    return BusError.hasMarker(error, PUBLISH_ERROR_MARKER);
  }
}

const HANDLER_ERROR_MARKER = 'bus.error.handler';

/** Wraps a value a handler threw that was not an `Error`, so middleware always sees an `Error`. */
export class HandlerError extends BusError {
  /** What was thrown. */
  readonly thrown: unknown;

  constructor(thrown: unknown) {
    super(`Handler threw a non-Error value: ${describeThrown(thrown)}`, { code: 'HANDLER_THREW_NON_ERROR' });
    this.name = 'HandlerError';
    this.thrown = thrown;
    this.mark(HANDLER_ERROR_MARKER);
  }

  static override isInstance(error: unknown): error is HandlerError {
    return BusError.hasMarker(error, HANDLER_ERROR_MARKER);
  }
}

function describeThrown(thrown: unknown): string {
  if (typeof thrown === 'string') return JSON.stringify(thrown.length > 200 ? `${thrown.slice(0, 200)}…` : thrown);
  if (thrown === null || thrown === undefined || typeof thrown !== 'object') return String(thrown);
  return Object.prototype.toString.call(thrown);
}

/** Returns `error` if it is an `Error`, else wraps it in a {@link HandlerError}. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new HandlerError(error);
}
