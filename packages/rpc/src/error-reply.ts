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

/** Turns an error reply's payload into a {@link RemoteError}; a malformed one still becomes one. */
export function remoteErrorFrom(
  payload: Uint8Array,
  fallbackCode: string | undefined,
  route: string,
  correlationId: string,
): RemoteError {
  let parsed: Partial<ErrorBody> = {};
  try {
    const value = JSON.parse(decoder.decode(payload)) as unknown;
    if (typeof value === 'object' && value !== null) parsed = value as Partial<ErrorBody>;
  } catch {
    // A server that is not bus may send a bare message: keep it as the message.
    parsed = { message: decoder.decode(payload) };
  }
  return new RemoteError(typeof parsed.message === 'string' ? parsed.message : 'Remote handler failed', {
    code: typeof parsed.code === 'string' ? parsed.code : (fallbackCode ?? HANDLER_ERROR_CODE),
    isRetryable: parsed.isRetryable === true,
    route,
    correlationId,
  });
}
