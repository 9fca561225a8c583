import http from 'node:http';
import https from 'node:https';
import { CodecError } from '../errors.js';

/**
 * TLS settings for an `https:` registry URL. PEM strings or bytes (a `Buffer` is a `Uint8Array`;
 * the types say `Uint8Array` so that they need no @types/node).
 */
export interface RegistryTlsOptions {
  /** CA certificates to trust instead of the system store (e.g. a private CA). */
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  /** Client certificate, for mutual TLS. */
  cert?: string | Uint8Array;
  /** Client private key, for mutual TLS. */
  key?: string | Uint8Array;
  /** Passphrase of {@link key}. */
  passphrase?: string;
  /** Verify the server certificate. Default `true`; turning it off is for local experiments only. */
  rejectUnauthorized?: boolean;
  /** Server name for SNI and certificate checks, when it differs from the URL host. */
  servername?: string;
}

/** HTTP basic credentials. Never logged or included in error messages. */
export interface RegistryBasicAuth {
  /** User name (for Confluent Cloud: the API key). */
  username: string;
  /** Password (for Confluent Cloud: the API secret). */
  password: string;
}

/** How {@link RegistryHttp} reaches the registry. */
export interface RegistryHttpOptions {
  /** Base URL without credentials. */
  baseUrl: URL;
  /** Authorization header value, precomputed. */
  authorization: string | undefined;
  /** TLS settings. */
  tls: RegistryTlsOptions | undefined;
  /** Deadline for a whole request (connect, headers and body), in milliseconds. */
  timeoutMs: number;
}

/** A registry response: status and parsed JSON body (undefined when empty or not JSON). */
export interface RegistryResponse {
  status: number;
  body: unknown;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

const TLS_ERROR_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
]);

function isTlsRejection(error: NodeJS.ErrnoException): boolean {
  return error.code !== undefined && TLS_ERROR_CODES.has(error.code);
}

/** Minimal keep-alive JSON client over node:http(s): it supports private CAs and mTLS, which `fetch` cannot. */
export class RegistryHttp {
  readonly #options: RegistryHttpOptions;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;

  constructor(options: RegistryHttpOptions) {
    this.#options = options;
    const secure = options.baseUrl.protocol === 'https:';
    this.#request = secure ? https.request : http.request;
    this.#agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: 16, ...options.tls } as https.AgentOptions)
      : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** Where requests go, without credentials, for messages. */
  get where(): string {
    return this.#options.baseUrl.origin + this.#options.baseUrl.pathname;
  }

  /** Sends one request; network failures and timeouts are retryable `REGISTRY_UNAVAILABLE` errors. */
  send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<RegistryResponse> {
    const base = this.#options.baseUrl;
    const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: `${CONTENT_TYPE}, application/json` };
    if (payload !== undefined) {
      headers['content-type'] = CONTENT_TYPE;
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if (this.#options.authorization !== undefined) headers.authorization = this.#options.authorization;
    return new Promise<RegistryResponse>((resolve, reject) => {
      const unavailable = (reason: string, cause?: unknown) =>
        new CodecError(`Schema registry at ${this.where} is unavailable: ${reason} (${method} ${path})`, {
          code: 'REGISTRY_UNAVAILABLE',
          cause,
        });
      if (signal?.aborted) {
        reject(unavailable('aborted', signal.reason));
        return;
      }
      const request = this.#request(url, { method, headers, agent: this.#agent });
      let response: http.IncomingMessage | undefined;
      let settled = false;
      // One deadline for the whole exchange: connect, headers and body. A socket idle timeout would
      // never fire on a response that keeps dripping bytes.
      const timeoutMs = this.#options.timeoutMs;
      const deadline = setTimeout(() => fail(unavailable(`no complete response within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => fail(unavailable('aborted', signal?.reason));
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const fail = (error: Error) => {
        if (!settle()) return;
        reject(error);
        response?.destroy();
        request.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('error', (error: NodeJS.ErrnoException) => {
        if (CodecError.isInstance(error)) fail(error);
        else if (isTlsRejection(error)) {
          // A certificate problem does not heal by retrying: it needs configuration (tls.ca, ...).
          fail(
            new CodecError(`TLS connection to the schema registry at ${this.where} was refused: ${error.message}`, {
              code: 'REGISTRY_ERROR',
              cause: error,
            }),
          );
        } else fail(unavailable(error.message, error));
      });
      request.on('response', (incoming) => {
        response = incoming;
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', (error) => fail(unavailable(error.message, error)));
        incoming.on('aborted', () => fail(unavailable('the response was cut off')));
        incoming.on('end', () => {
          if (!settle()) return;
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text.length === 0 ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: incoming.statusCode ?? 0, body: parsed });
        });
      });
      if (payload !== undefined) request.write(payload);
      request.end();
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}
