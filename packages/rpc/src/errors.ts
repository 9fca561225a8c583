import { BusError } from '@bus/core';

/** Stable codes of the errors @bus/rpc raises itself. A {@link RemoteError} carries the server's code instead. */
export type RpcErrorCode = 'RPC_TIMEOUT' | 'RPC_ABORTED' | 'RPC_CLOSED' | 'RPC_BAD_REQUEST' | 'RPC_BAD_REPLY';

const RPC_ERROR_MARKER = 'bus.error.rpc';
const TIMEOUT_MARKER = 'bus.error.rpc.timeout';
const ABORT_MARKER = 'bus.error.rpc.abort';
const REMOTE_MARKER = 'bus.error.rpc.remote';

/** Options of {@link RpcError}. */
export interface RpcErrorOptions {
  /** Stable code. */
  code: string;
  /** Whether sending the same request again may succeed. */
  isRetryable?: boolean | undefined;
  /** The route the request was for. */
  route?: string | undefined;
  /** The request's correlation id. */
  correlationId?: string | undefined;
  /** The underlying error. */
  cause?: unknown;
}

/** Every error @bus/rpc throws: a `BusError` with the route and correlation id of the request involved. */
export class RpcError extends BusError {
  /** The route the request was for. */
  readonly route: string | undefined;
  /** The request's correlation id, when one was assigned. */
  readonly correlationId: string | undefined;

  constructor(message: string, options: RpcErrorOptions) {
    super(message, { code: options.code, isRetryable: options.isRetryable ?? false, cause: options.cause });
    this.name = 'RpcError';
    this.route = options.route;
    this.correlationId = options.correlationId;
    this.mark(RPC_ERROR_MARKER);
  }

  /** Whether `error` is an rpc error from any installed copy of @bus/rpc. */
  static override isInstance(error: unknown): error is RpcError {
    return BusError.hasMarker(error, RPC_ERROR_MARKER);
  }
}

/** No reply arrived by the request's deadline. Retryable: the server may have died or been slow. */
export class RpcTimeoutError extends RpcError {
  declare readonly code: 'RPC_TIMEOUT';
  /** The timeout that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(route: string, correlationId: string, timeoutMs: number) {
    super(`No reply to "${route}" (correlation id ${correlationId}) within ${timeoutMs} ms`, {
      code: 'RPC_TIMEOUT',
      isRetryable: true,
      route,
      correlationId,
    });
    this.name = 'RpcTimeoutError';
    this.timeoutMs = timeoutMs;
    this.mark(TIMEOUT_MARKER);
  }

  static override isInstance(error: unknown): error is RpcTimeoutError {
    return BusError.hasMarker(error, TIMEOUT_MARKER);
  }
}

/** The caller's `signal` aborted the request; the abort reason is the `cause`. */
export class AbortError extends RpcError {
  declare readonly code: 'RPC_ABORTED';

  constructor(route: string, correlationId: string | undefined, reason: unknown) {
    super(`Request to "${route}" was aborted`, { code: 'RPC_ABORTED', route, correlationId, cause: reason });
    this.name = 'AbortError';
    this.mark(ABORT_MARKER);
  }

  static override isInstance(error: unknown): error is AbortError {
    return BusError.hasMarker(error, ABORT_MARKER);
  }
}

/** Options of {@link RemoteError}. */
export interface RemoteErrorOptions {
  /** The code the server's error carried (`HANDLER_ERROR` when it had none). */
  code: string;
  /** Whether the server's error said retrying may succeed. */
  isRetryable: boolean;
  /** The route. */
  route: string;
  /** The correlation id. */
  correlationId: string;
}

/**
 * The server's handler failed: its error's `code`, `message` and `isRetryable` crossed the wire in an
 * error reply. The remote stack never does.
 */
export class RemoteError extends RpcError {
  constructor(message: string, options: RemoteErrorOptions) {
    super(message, options);
    this.name = 'RemoteError';
    this.mark(REMOTE_MARKER);
  }

  static override isInstance(error: unknown): error is RemoteError {
    return BusError.hasMarker(error, REMOTE_MARKER);
  }
}
