import type { Codec } from '@bus/codecs';
import { avroSchemaFormat } from '@bus/codecs/avro';
import { jsonCodec } from '@bus/codecs/json';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { registryCodec } from '@bus/codecs/registry';
import { ClosedError } from '@bus/core';
import { AbortError, defineRoute, RemoteError, RpcTimeoutError } from '@bus/rpc';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { deferred, OutOfStock } from './fixtures.ts';
import { createTopics, kafkaClient, kafkaServer, realRegistry, uniquePrefix } from './support/kafka.ts';

const registry = realRegistry();
afterAll(() => registry.close());

interface Ask {
  sku: string;
  qty: number;
}
interface Answer {
  sku: string;
  total: number;
}

const askSchema = z.object({ sku: z.string(), qty: z.number().int() });
const answerSchema = z.object({ sku: z.string(), total: z.number() });

function jsonRoute(name: string) {
  return defineRoute({ name, request: jsonCodec({ schema: askSchema }), reply: jsonCodec({ schema: answerSchema }) });
}

const codecs: Record<string, () => { request: Codec<Ask>; reply: Codec<Answer> }> = {
  json: () => ({ request: jsonCodec({ schema: askSchema }), reply: jsonCodec({ schema: answerSchema }) }),
  avro: () => ({
    request: registryCodec({
      registry,
      format: avroSchemaFormat<Ask>({
        schema: {
          type: 'record',
          name: 'Ask',
          namespace: 'rpc.test',
          fields: [
            { name: 'sku', type: 'string' },
            { name: 'qty', type: 'int' },
          ],
        },
      }),
    }),
    reply: registryCodec({
      registry,
      format: avroSchemaFormat<Answer>({
        schema: {
          type: 'record',
          name: 'Answer',
          namespace: 'rpc.test',
          fields: [
            { name: 'sku', type: 'string' },
            { name: 'total', type: 'double' },
          ],
        },
      }),
    }),
  }),
  protobuf: () => {
    const proto = `syntax = "proto3"; package rpc.test;
      message Ask { string sku = 1; int32 qty = 2; }
      message Answer { string sku = 1; double total = 2; }`;
    return {
      request: registryCodec({ registry, format: protobufSchemaFormat<Ask>({ proto, typeName: 'rpc.test.Ask' }) }),
      reply: registryCodec({ registry, format: protobufSchemaFormat<Answer>({ proto, typeName: 'rpc.test.Answer' }) }),
    };
  },
};

/** Waits until every server of `servers` has answered at least one request: the group is settled. */
async function warmUp(request: (n: number) => Promise<unknown>, answered: () => readonly number[]): Promise<void> {
  let n = 0;
  await vi.waitFor(
    async () => {
      await Promise.all(Array.from({ length: 12 }, () => request(n++)));
      expect(answered().every((count) => count > 0)).toBe(true);
    },
    { timeout: 60_000, interval: 100 },
  );
}

describe('@bus/rpc on the real Kafka broker and registry', () => {
  for (const [name, make] of Object.entries(codecs)) {
    it(`round-trips a request and its reply with ${name}`, async () => {
      const prefix = uniquePrefix(`rt-${name}`);
      const route = defineRoute({ name: `${prefix}.quote`, ...make() });
      await createTopics([route.topic], 3);
      await using s = kafkaServer({ group: `${prefix}.servers` });
      s.server.handle(route, ({ sku, qty }) => ({ sku, total: qty * 1.5 }));
      await using c = kafkaClient(prefix);
      await expect(c.client.request(route, { sku: 'a', qty: 2 })).resolves.toEqual({ sku: 'a', total: 3 });
      await expect(c.client.request(route, { sku: 'b', qty: 4 }, { key: 'b' })).resolves.toEqual({
        sku: 'b',
        total: 6,
      });
      if (name !== 'json') {
        expect(await registry.versions(`${route.topic}-value`)).toEqual([1]);
        expect(await registry.versions(`${c.client.replyTopic}-value`)).toEqual([1]);
      }
    });
  }

  it('3 servers in one group share 3,000 requests, each answered once', async () => {
    const prefix = uniquePrefix('share');
    const route = jsonRoute(`${prefix}.quote`);
    await createTopics([route.topic], 6);
    const counts = [0, 0, 0];
    const seen = new Map<string, number>();
    const servers = [0, 1, 2].map((i) => {
      const s = kafkaServer({ group: `${prefix}.servers` });
      s.server.handle(route, ({ sku }) => {
        counts[i] = (counts[i] ?? 0) + 1;
        seen.set(sku, (seen.get(sku) ?? 0) + 1);
        return { sku, total: i };
      });
      return s;
    });
    try {
      await using c = kafkaClient(prefix, 60_000);
      await warmUp(
        (n) => c.client.request(route, { sku: `warm-${n}`, qty: 1 }, { key: `warm-${n}` }),
        () => counts,
      );
      counts.fill(0);
      seen.clear();
      const replies = await Promise.all(
        Array.from({ length: 3_000 }, (_, n) => c.client.request(route, { sku: `r${n}`, qty: 1 }, { key: `k${n}` })),
      );
      expect(replies.map((r) => r.sku)).toEqual(Array.from({ length: 3_000 }, (_, n) => `r${n}`));
      expect(seen.size).toBe(3_000);
      expect([...seen.values()].every((times) => times === 1)).toBe(true);
      expect(counts.reduce((a, b) => a + b)).toBe(3_000);
      expect(counts.every((count) => count > 0)).toBe(true);
      expect(c.client.stats.dropped).toBe(0);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('a server killed mid-request: the client times out with RpcTimeoutError and a retry reaches another server', async () => {
    const prefix = uniquePrefix('kill');
    const route = jsonRoute(`${prefix}.quote`);
    await createTopics([route.topic], 2);
    const entered = deferred<number>();
    const counts = [0, 0];
    let hung = false;
    const servers = [0, 1].map((i) => {
      const s = kafkaServer({ group: `${prefix}.servers` });
      s.server.handle(route, async ({ sku }) => {
        counts[i] = (counts[i] ?? 0) + 1;
        if (sku === 'hang' && !hung) {
          hung = true;
          entered.resolve(i);
          // Never answers: only the server's close ends it, without a reply.
          await new Promise((resolve) => s.closing.addEventListener('abort', resolve));
        }
        return { sku, total: i };
      });
      return s;
    });
    try {
      await using c = kafkaClient(prefix);
      await warmUp(
        (n) => c.client.request(route, { sku: `warm-${n}`, qty: 1 }, { key: `warm-${n}` }),
        () => counts,
      );
      const first = c.client.request(route, { sku: 'hang', qty: 1 }, { timeoutMs: 1_500 }).catch((e: unknown) => e);
      const victim = await entered.promise;
      const error = await first;
      expect(RpcTimeoutError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'RPC_TIMEOUT', isRetryable: true });
      await servers[victim]?.close();
      // The unanswered request is redelivered to the survivor, already past its deadline: dropped.
      const survivor = servers[1 - victim];
      await vi.waitFor(() => expect(survivor?.server.stats.expired).toBe(1), { timeout: 30_000 });
      const retried = await c.client.request(route, { sku: 'hang', qty: 1 }, { timeoutMs: 30_000 });
      expect(retried.total).toBe(1 - victim);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('error replies keep their code and isRetryable', async () => {
    const prefix = uniquePrefix('err');
    const route = jsonRoute(`${prefix}.quote`);
    await createTopics([route.topic], 1);
    await using s = kafkaServer({ group: `${prefix}.servers` });
    s.server.handle(route, ({ sku }) => {
      if (sku === 'plain') throw new Error('plain failure');
      throw new OutOfStock(`${sku} is out of stock`);
    });
    await using c = kafkaClient(prefix);
    const typed = await c.client.request(route, { sku: 'a', qty: 1 }).catch((e: unknown) => e);
    expect(RemoteError.isInstance(typed)).toBe(true);
    expect(typed).toMatchObject({ code: 'OUT_OF_STOCK', isRetryable: true, message: 'a is out of stock' });
    const plain = await c.client.request(route, { sku: 'plain', qty: 1 }).catch((e: unknown) => e);
    expect(plain).toMatchObject({
      name: 'RemoteError',
      code: 'HANDLER_ERROR',
      isRetryable: false,
      message: 'plain failure',
    });
  });

  it('a slow server drops a request already past its deadline, and counts it', async () => {
    const prefix = uniquePrefix('deadline');
    const route = jsonRoute(`${prefix}.quote`);
    await createTopics([route.topic], 1);
    await using s = kafkaServer({ group: `${prefix}.servers`, concurrency: 1 });
    const release = deferred();
    const entered = deferred();
    const handled: string[] = [];
    s.server.handle(route, async ({ sku }) => {
      handled.push(sku);
      if (sku === 'slow') {
        entered.resolve();
        await release.promise;
      }
      return { sku, total: 1 };
    });
    await using c = kafkaClient(prefix);
    const slow = c.client.request(route, { sku: 'slow', qty: 1 });
    await entered.promise;
    const late = await c.client.request(route, { sku: 'late', qty: 1 }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(RpcTimeoutError.isInstance(late)).toBe(true);
    release.resolve();
    await expect(slow).resolves.toEqual({ sku: 'slow', total: 1 });
    await vi.waitFor(() => expect(s.server.stats.expired).toBe(1), { timeout: 20_000 });
    expect(handled).toEqual(['slow']);
  });

  it('abort rejects with AbortError; close fails pending requests at once', async () => {
    const prefix = uniquePrefix('abort');
    const route = jsonRoute(`${prefix}.quote`);
    await createTopics([route.topic], 1);
    await using s = kafkaServer({ group: `${prefix}.servers` });
    const entered = deferred();
    s.server.handle(route, async ({ sku }, ctx) => {
      entered.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      return { sku, total: 0 };
    });
    await using c = kafkaClient(prefix);
    const controller = new AbortController();
    const aborted = c.client
      .request(route, { sku: 'a', qty: 1 }, { signal: controller.signal })
      .catch((e: unknown) => e);
    await entered.promise;
    controller.abort();
    expect(AbortError.isInstance(await aborted)).toBe(true);
    const pending = [1, 2, 3].map((qty) => c.client.request(route, { sku: 'b', qty }).catch((e: unknown) => e));
    await vi.waitFor(() => expect(c.client.stats.sent).toBe(4));
    await c.client.close();
    for (const error of await Promise.all(pending)) expect(ClosedError.isInstance(error)).toBe(true);
  });

  it('two clients with separate reply topics never see each other’s replies', async () => {
    const prefix = uniquePrefix('two');
    const route = jsonRoute(`${prefix}.quote`);
    await createTopics([route.topic], 3);
    await using s = kafkaServer({ group: `${prefix}.servers` });
    s.server.handle(route, ({ sku, qty }) => ({ sku, total: qty }));
    await using a = kafkaClient(`${prefix}_a`);
    await using b = kafkaClient(`${prefix}_b`);
    expect(a.client.replyTopic).not.toBe(b.client.replyTopic);
    const [fromA, fromB] = await Promise.all(
      [a, b].map((c, who) =>
        Promise.all(
          Array.from({ length: 200 }, (_, n) =>
            c.client.request(route, { sku: `${who}-${n}`, qty: n }, { key: `${n}` }),
          ),
        ),
      ),
    );
    expect(fromA).toEqual(Array.from({ length: 200 }, (_, n) => ({ sku: `0-${n}`, total: n })));
    expect(fromB).toEqual(Array.from({ length: 200 }, (_, n) => ({ sku: `1-${n}`, total: n })));
    expect(a.client.stats).toMatchObject({ matched: 200, dropped: 0 });
    expect(b.client.stats).toMatchObject({ matched: 200, dropped: 0 });
  });
});
