import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CodecError } from '@bus/codecs';
import { SchemaRegistry } from '@bus/codecs/registry';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * A local HTTP server on 127.0.0.1 that misbehaves the way a broken proxy in front of a registry can:
 * it never finishes a response. It stands in for the proxy, not for the registry.
 */
async function misbehavingServer(
  behaviour: 'drip' | 'silent-after-connect',
): Promise<{ url: string; drips: () => number; close: () => Promise<void> }> {
  let drips = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((_request, response) => {
    if (behaviour === 'silent-after-connect') return;
    response.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    response.write('{"schema":"');
    // A byte every 20 ms keeps the socket busy, so an idle-socket timeout never fires.
    const timer = setInterval(() => {
      drips += 1;
      response.write(' ');
    }, 20);
    timers.add(timer);
    response.on('close', () => {
      clearInterval(timer);
      timers.delete(timer);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    drips: () => drips,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<CodecError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!CodecError.isInstance(error)) throw new Error(`expected a CodecError, got ${String(error)}`);
  return error;
}

describe('registry request deadline', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('timeoutMs bounds a response that keeps dripping bytes (issue 9 defect 9)', async () => {
    const server = await misbehavingServer('drip');
    cleanups.push(server.close);
    await using registry = new SchemaRegistry({ url: server.url, timeoutMs: 300 });
    const error = await rejection(registry.getSchema(1));
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(error.message).toContain('no complete response within 300 ms');
    // The body really was arriving while the deadline ran out.
    expect(server.drips()).toBeGreaterThan(0);
  });

  it('timeoutMs bounds a server that accepts the connection and never answers', async () => {
    const server = await misbehavingServer('silent-after-connect');
    cleanups.push(server.close);
    await using registry = new SchemaRegistry({ url: server.url, timeoutMs: 300 });
    const error = await rejection(registry.subjects());
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
  });

  it('an abort signal still ends a dripping response before the deadline', async () => {
    const server = await misbehavingServer('drip');
    cleanups.push(server.close);
    await using registry = new SchemaRegistry({ url: server.url, timeoutMs: 600_000 });
    const controller = new AbortController();
    const pending = rejection(registry.getSchema(2, { signal: controller.signal }));
    await expect.poll(server.drips).toBeGreaterThan(2);
    controller.abort();
    expect((await pending).message).toContain('aborted');
  });
});
