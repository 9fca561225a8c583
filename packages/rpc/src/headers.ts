/** Headers of the default (`bus`) wire format. */
export const RpcHeaders = Object.freeze({
  /** Correlation id the client chose; the server copies it onto the reply. */
  correlationId: 'rpc-correlation-id',
  /** Comma-separated topics the reply goes to (topic names never contain a comma). */
  replyTo: 'rpc-reply-to',
  /** Epoch milliseconds after which the client no longer waits: a server drops the request. */
  deadline: 'rpc-deadline',
  /** `ok` or `error` on a reply. */
  status: 'rpc-status',
  /** The error's code, on an error reply. */
  errorCode: 'rpc-error-code',
} as const);

/**
 * Where a server looks for the correlation id of a request, in order: these headers, then the key
 * (the convention of several Kafka request/reply libraries). Our own header comes first.
 */
export const DEFAULT_CORRELATION_HEADERS: readonly string[] = Object.freeze([
  RpcHeaders.correlationId,
  'request_id',
  'correlation_id',
  'x-correlation-id',
]);

/** How a server finds the correlation id of a request. */
export interface CorrelationOptions {
  /** Headers read in order; the first present wins. Default {@link DEFAULT_CORRELATION_HEADERS}. */
  headers?: readonly string[];
  /** Whether the record key is the correlation id when no header has one. Default `true`. */
  fromKey?: boolean;
}

/** The correlation id of a request, or `undefined` when it has none. */
export function readCorrelationId(
  message: { readonly headers: Readonly<Record<string, string>>; readonly key?: string | Uint8Array | undefined },
  options: CorrelationOptions = {},
): string | undefined {
  for (const header of options.headers ?? DEFAULT_CORRELATION_HEADERS) {
    const value = message.headers[header];
    if (value !== undefined && value !== '') return value;
  }
  if (options.fromKey === false || message.key === undefined) return undefined;
  const key = typeof message.key === 'string' ? message.key : new TextDecoder().decode(message.key);
  return key === '' ? undefined : key;
}
