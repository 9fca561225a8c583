import { BusError } from '@bus/core';
import { RemoteError } from './errors.js';

/** What an error reply carries: never the stack, never the cause. */
export interface ErrorBody {
  code: string;
  message: string;
  isRetryable: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Code used when a handler threw something without a string `code`. */
export const HANDLER_ERROR_CODE = 'HANDLER_ERROR';

/** The wire form of what a handler threw. */
export function errorBody(error: unknown): ErrorBody {
  const e = error as { code?: unknown; message?: unknown; isRetryable?: unknown } | null;
  const code = typeof e?.code === 'string' && e.code !== '' ? e.code : HANDLER_ERROR_CODE;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const isRetryable = BusError.isInstance(error) ? error.isRetryable : e?.isRetryable === true;
  return { code, message, isRetryable };
}

/** Encodes an error body as JSON. */
export function encodeErrorBody(body: ErrorBody): Uint8Array {
  return encoder.encode(JSON.stringify(body));
}

/** UTF-8 text of a payload. */
export function textOf(payload: Uint8Array): string {
  return decoder.decode(payload);
}

/**
 * Turns an error reply's body (JSON `{ code, message, isRetryable }`, or Nest's error header: such an
 * object or a bare string) into a {@link RemoteError}; a malformed one still becomes one.
 */
export function remoteErrorFrom(
  text: string | undefined,
  fallbackCode: string | undefined,
  route: string,
  correlationId: string,
): RemoteError {
  let parsed: Partial<ErrorBody> = {};
  try {
    const value = JSON.parse(text ?? '') as unknown;
    if (typeof value === 'object' && value !== null) parsed = value as Partial<ErrorBody>;
    else if (typeof value === 'string') parsed = { message: value };
  } catch {
    // A server that is not bus may send a bare message: keep it as the message.
    if (text) parsed = { message: text };
  }
  return new RemoteError(typeof parsed.message === 'string' ? parsed.message : 'Remote handler failed', {
    code: typeof parsed.code === 'string' ? parsed.code : (fallbackCode ?? HANDLER_ERROR_CODE),
    isRetryable: parsed.isRetryable === true,
    route,
    correlationId,
  });
}
