import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP proxy in front of the real registry that records every request it forwards. */
export interface CountingProxy extends AsyncDisposable {
  /** The proxy's registry URL (same path as the target). */
  readonly url: string;
  /** `METHOD path` of every forwarded request, in order. */
  readonly requests: string[];
  /** Number of forwarded requests whose `METHOD path` contains `fragment`. */
  count(fragment: string): number;
}

/** Starts a proxy forwarding to `target` (a registry base URL) on an ephemeral port. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const requests: string[] = [];
  const server = http.createServer((incoming, outgoing) => {
    requests.push(`${incoming.method} ${incoming.url}`);
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
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    requests,
    count: (fragment) => requests.filter((request) => request.includes(fragment)).length,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
