import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

/** A local HTTP(S) proxy in front of the real registry that records every request it forwards. */
export interface CountingProxy extends AsyncDisposable {
  /** The proxy's registry URL (same path as the target). */
  readonly url: string;
  /** `METHOD path` of every forwarded request, in order. */
  readonly requests: string[];
  /** The `authorization` header of every forwarded request (undefined when absent). */
  readonly authorizations: (string | undefined)[];
  /** Number of forwarded requests whose `METHOD path` contains `fragment`. */
  count(fragment: string): number;
  /** While set, answer every request with this HTTP status instead of forwarding (fault injection). */
  failWith: number | undefined;
}

/** Serve HTTPS instead of HTTP; with `requireClientCert`, only clients with a cert signed by `ca` get through. */
export interface ProxyTls {
  key: string;
  cert: string;
  ca: string;
  requireClientCert?: boolean;
}

/** Starts a proxy forwarding to `target` (an http: registry base URL) on an ephemeral port. */
export async function startCountingProxy(target: string, tls?: ProxyTls): Promise<CountingProxy> {
  const upstream = new URL(target);
  const requests: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const control: { failWith: number | undefined } = { failWith: undefined };
  const handler: http.RequestListener = (incoming, outgoing) => {
    requests.push(`${incoming.method} ${incoming.url}`);
    authorizations.push(incoming.headers.authorization);
    if (control.failWith !== undefined) {
      incoming.resume();
      outgoing.writeHead(control.failWith, { 'content-type': 'application/json' });
      outgoing.end(JSON.stringify({ error_code: control.failWith, message: 'injected failure' }));
      return;
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: upstream.host },
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    forward.on('error', () => {
      outgoing.writeHead(502);
      outgoing.end();
    });
    incoming.pipe(forward);
  };
  const server =
    tls === undefined
      ? http.createServer(handler)
      : https.createServer(
          {
            key: tls.key,
            cert: tls.cert,
            ca: tls.ca,
            requestCert: tls.requireClientCert === true,
            rejectUnauthorized: tls.requireClientCert === true,
          },
          handler,
        );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}${upstream.pathname}`,
    requests,
    authorizations,
    count: (fragment) => requests.filter((request) => request.includes(fragment)).length,
    get failWith() {
      return control.failWith;
    },
    set failWith(status: number | undefined) {
      control.failWith = status;
    },
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
