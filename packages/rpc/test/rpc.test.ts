import { jsonCodec } from '@bus/codecs/json';
import { ClosedError, ConfigError, headerBytes, MemoryBroker, noopLogger, type ReceivedMessage } from '@bus/core';
import {
  AbortError,
  defineRoute,
  RemoteError,
  readCorrelationId,
  RpcClient,
  NestKafkaHeaders,
  RpcHeaders,
  RpcServer,
  RpcTimeoutError,
  SpringKafkaHeaders,
} from '@bus/rpc';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { deferred, OutOfStock, Quote } from './fixtures.ts';

let broker: MemoryBroker;
afterEach(async () => {
  await broker?.close();
});

function setup() {
  broker = new MemoryBroker();
  const client = new RpcClient({ publisher: broker.publisher(), subscriber: broker.subscriber(), timeoutMs: 5_000 });
  const server = new RpcServer({ publisher: broker.publisher(), subscriber: broker.subscriber(), group: 'billing' });
  return { client, server };
}

describe('defineRoute', () => {
  it('lists every problem at once', () => {
    const error = (() => {
      try {
        defineRoute({ name: 'bad name!', request: {} as never, reply: undefined as never });
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['name', 'request', 'reply']);
  });
});

describe('RpcClient and RpcServer on the in-memory broker', () => {
  it('round-trips a typed request and reply', async () => {
    const { client, server } = setup();
    await using _c = client;
    await using _s = server;
    server.handle(Quote, ({ sku, qty }) => ({ sku, total: qty * 2.5 }));
    await expect(client.request(Quote, { sku: 'a', qty: 4 })).resolves.toEqual({ sku: 'a', total: 10 });
    expect(server.stats.replied).toBe(1);
  });

  it('turns a thrown error into a RemoteError with its code and isRetryable', async () => {
    const { client, server } = setup();
    await using _c = client;
    await using _s = server;
    server.handle(Quote, () => {
      throw new OutOfStock('sku a is out of stock');
    });
    const error = await client.request(Quote, { sku: 'a', qty: 1 }).catch((e: unknown) => e);
    expect(RemoteError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'OUT_OF_STOCK', isRetryable: true, message: 'sku a is out of stock' });
    expect(server.stats.failed).toBe(1);
  });

  it('an invalid request becomes an error reply with the codec error code', async () => {
    const { client, server } = setup();
    await using _c = client;
    await using _s = server;
    const Loose = defineRoute({ name: Quote.name, request: jsonCodec<unknown>(), reply: Quote.reply });
    server.handle(Quote, ({ sku }) => ({ sku, total: 1 }));
    const error = await client.request(Loose, { nope: true }).catch((e: unknown) => e);
    expect(RemoteError.isInstance(error)).toBe(true);
    expect((error as RemoteError).code).toMatch(/^[A-Z_]+$/);
    expect((error as RemoteError).code).not.toBe('HANDLER_ERROR');
  });

  it('times out with RpcTimeoutError when nobody answers, and the late request is dropped by the server', async () => {
    const { client, server } = setup();
    await using _c = client;
    await using _s = server;
    const error = await client.request(Quote, { sku: 'a', qty: 1 }, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(RpcTimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'RPC_TIMEOUT', isRetryable: true, route: 'billing.quote' });
    const handler = vi.fn(() => ({ sku: 'a', total: 1 }));
    server.handle(Quote, handler);
    await vi.waitFor(() => expect(server.stats.expired).toBe(1), { timeout: 5_000 });
    expect(handler).not.toHaveBeenCalled();
  });

  it('an abort rejects with AbortError and fails nothing else', async () => {
    const { client, server } = setup();
    await using _c = client;
    await using _s = server;
    const entered = deferred();
    server.handle(Quote, async (_req, ctx) => {
      entered.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      return { sku: 'x', total: 0 };
    });
    const controller = new AbortController();
    const call = client.request(Quote, { sku: 'a', qty: 1 }, { signal: controller.signal }).catch((e: unknown) => e);
    await entered.promise;
    controller.abort(new Error('user left'));
    const error = await call;
    expect(AbortError.isInstance(error)).toBe(true);
    expect((error as AbortError).cause).toEqual(new Error('user left'));
    expect(client.pending).toBe(0);
  });

  it('close fails every pending request at once with ClosedError', async () => {
    const { client, server } = setup();
    await using _s = server;
    const entered = deferred();
    server.handle(Quote, async (_req, ctx) => {
      entered.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      return { sku: 'x', total: 0 };
    });
    const calls = [1, 2, 3].map((qty) => client.request(Quote, { sku: 'a', qty }).catch((e: unknown) => e));
    await entered.promise;
    await client.close();
    for (const error of await Promise.all(calls)) expect(ClosedError.isInstance(error)).toBe(true);
    await expect(client.request(Quote, { sku: 'a', qty: 1 })).rejects.toSatisfy(ClosedError.isInstance);
  });

  it('replies to every reply-to topic and another client drops replies that are not its own, undecoded', async () => {
    const { client, server } = setup();
    await using _c = client;
    await using _s = server;
    await using other = new RpcClient({ publisher: broker.publisher(), subscriber: broker.subscriber() });
    await other.start();
    server.handle(Quote, ({ sku }) => ({ sku, total: 1 }));
    await expect(client.request(Quote, { sku: 'a', qty: 1 }, { alsoReplyTo: [other.replyTopic] })).resolves.toEqual({
      sku: 'a',
      total: 1,
    });
    await vi.waitFor(() => expect(other.stats.dropped).toBe(1));
    expect(client.replyTopic).not.toBe(other.replyTopic);
    expect(client.group).not.toBe(other.group);
  });

  it('propagates the deadline to the handler', async () => {
    const { client, server } = setup();
    await using _c = client;
    await using _s = server;
    let seen: number | undefined;
    server.handle(Quote, ({ sku }, ctx) => {
      seen = ctx.deadline;
      return { sku, total: 1 };
    });
    const before = Date.now();
    await client.request(Quote, { sku: 'a', qty: 1 }, { timeoutMs: 2_000 });
    expect(seen).toBeGreaterThanOrEqual(before + 2_000);
    expect(seen).toBeLessThanOrEqual(Date.now() + 2_000);
  });

  it('servers of one group share requests, each answered once', async () => {
    broker = new MemoryBroker({ defaultPartitions: 6 });
    await using client = new RpcClient({ publisher: broker.publisher(), subscriber: broker.subscriber() });
    const servers = [0, 1, 2].map(
      () => new RpcServer({ publisher: broker.publisher(), subscriber: broker.subscriber() }),
    );
    const counts = [0, 0, 0];
    for (const [i, server] of servers.entries()) {
      server.handle(Quote, ({ sku }) => {
        counts[i] = (counts[i] ?? 0) + 1;
        return { sku, total: i };
      });
    }
    const replies = await Promise.all(
      Array.from({ length: 300 }, (_, n) => client.request(Quote, { sku: `s${n}`, qty: 1 }, { key: `k${n}` })),
    );
    expect(replies.map((r) => r.sku)).toEqual(Array.from({ length: 300 }, (_, n) => `s${n}`));
    expect(counts.reduce((a, b) => a + b)).toBe(300);
    expect(counts.filter((c) => c > 0).length).toBeGreaterThan(1);
    await Promise.all(servers.map((s) => s.close()));
  });
});

describe('readCorrelationId', () => {
  it('reads our header, then request_id, correlation_id, x-correlation-id, then the key', () => {
    expect(readCorrelationId({ headers: { [RpcHeaders.correlationId]: 'a', request_id: 'b' } })).toBe('a');
    expect(readCorrelationId({ headers: { request_id: 'b', correlation_id: 'c' } })).toBe('b');
    expect(readCorrelationId({ headers: { correlation_id: 'c', 'x-correlation-id': 'd' } })).toBe('c');
    expect(readCorrelationId({ headers: { 'x-correlation-id': 'd' }, key: 'k' })).toBe('d');
    expect(readCorrelationId({ headers: {}, key: new TextEncoder().encode('k') })).toBe('k');
    expect(readCorrelationId({ headers: {}, key: 'k' }, { fromKey: false })).toBeUndefined();
    expect(readCorrelationId({ headers: { mine: 'm', request_id: 'b' } }, { headers: ['mine'] })).toBe('m');
  });
});

describe('options', () => {
  it('RpcClient lists every problem at once', () => {
    expect(
      () => new RpcClient({ publisher: {} as never, subscriber: {} as never, replyTopic: 'a b', timeoutMs: 0 }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', issues: expect.arrayContaining([expect.anything()]) }));
    try {
      new RpcClient({ publisher: {} as never, subscriber: {} as never, replyTopic: 'a b', timeoutMs: 0 });
    } catch (e) {
      expect((e as ConfigError).issues.map((i) => i.path)).toEqual([
        'publisher',
        'subscriber',
        'replyTopic',
        'timeoutMs',
      ]);
    }
  });
});

describe('the nest profile on the in-memory broker', () => {
  it('a nest-profile client talks to our server with Nest headers, errors included', async () => {
    broker = new MemoryBroker();
    await using client = new RpcClient({
      publisher: broker.publisher(),
      subscriber: broker.subscriber(),
      profile: 'nest',
    });
    await using server = new RpcServer({ publisher: broker.publisher(), subscriber: broker.subscriber() });
    let headers: Readonly<Record<string, string>> = {};
    server.handle(Quote, ({ sku }, ctx) => {
      headers = ctx.headers;
      if (sku === 'gone') throw new OutOfStock('gone');
      return { sku, total: 1 };
    });
    await expect(client.request(Quote, { sku: 'a', qty: 1 })).resolves.toEqual({ sku: 'a', total: 1 });
    expect(headers[NestKafkaHeaders.replyTopic]).toBe(client.replyTopic);
    expect(headers[NestKafkaHeaders.replyPartition]).toBe('0');
    expect(headers[RpcHeaders.correlationId]).toBeUndefined();
    const error = await client.request(Quote, { sku: 'gone', qty: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RemoteError', code: 'OUT_OF_STOCK', isRetryable: true, message: 'gone' });
  });

  it('replies to the partition a Nest client named, given the reply topic’s partition count', async () => {
    broker = new MemoryBroker();
    broker.createTopic('quote.reply', { partitions: 4 });
    await using server = new RpcServer({
      publisher: broker.publisher(),
      subscriber: broker.subscriber(),
      replyTopicPartitions: async () => 4,
    });
    server.handle(Quote, ({ sku }) => ({ sku, total: 1 }));
    const publisher = broker.publisher();
    for (const [n, partition] of [3, 1, 2].entries()) {
      await publisher.publish(Quote.topic, {
        id: `r${n}`,
        payload: new TextEncoder().encode(JSON.stringify({ sku: `s${n}`, qty: 1 })),
        headers: {
          [NestKafkaHeaders.correlationId]: `c${n}`,
          [NestKafkaHeaders.replyTopic]: 'quote.reply',
          [NestKafkaHeaders.replyPartition]: String(partition),
        },
      });
    }
    const replies = broker.subscriber().subscribe('quote.reply', { group: 'nest-client' });
    const seen: [string | undefined, number][] = [];
    for await (const reply of replies) {
      seen.push([reply.headers[NestKafkaHeaders.correlationId], reply.partition]);
      expect(reply.headers[NestKafkaHeaders.isDisposed]).toBeDefined();
      reply.ack();
      if (seen.length === 3) break;
    }
    expect(seen.sort()).toEqual([
      ['c0', 3],
      ['c1', 1],
      ['c2', 2],
    ]);
  });
});

describe('the spring profile on the in-memory broker', () => {
  it('a spring-profile client sends its correlation id as 16 bytes; our server echoes them; errors cross', async () => {
    broker = new MemoryBroker();
    await using client = new RpcClient({
      publisher: broker.publisher(),
      subscriber: broker.subscriber(),
      profile: 'spring',
    });
    await using server = new RpcServer({ publisher: broker.publisher(), subscriber: broker.subscriber() });
    const seen: { correlationId: string; bytes: Uint8Array | undefined; headers: Record<string, string> }[] = [];
    server.handle(Quote, ({ sku }, ctx) => {
      const bytes = headerBytes(ctx, SpringKafkaHeaders.correlationId);
      seen.push({ correlationId: ctx.correlationId, bytes, headers: { ...ctx.headers } });
      if (sku === 'gone') throw new OutOfStock('gone');
      return { sku, total: 1 };
    });
    const replies = broker.subscriber().subscribe(client.replyTopic, { group: 'spy' })[Symbol.asyncIterator]();
    await expect(client.request(Quote, { sku: 'a', qty: 1 })).resolves.toEqual({ sku: 'a', total: 1 });
    const [request] = seen;
    expect(request?.bytes?.byteLength).toBe(16);
    // The handler sees the id in UUID form: the 16 bytes' text.
    expect(Buffer.from(request?.bytes ?? []).toString('hex')).toBe(request?.correlationId.replaceAll('-', ''));
    expect(request?.headers[SpringKafkaHeaders.replyTopic]).toBe(client.replyTopic);
    expect(request?.headers[SpringKafkaHeaders.replyPartition]).toBeUndefined();
    const reply = (await replies.next()).value as ReceivedMessage;
    expect(headerBytes(reply, SpringKafkaHeaders.correlationId)).toEqual(request?.bytes);
    const error = await client.request(Quote, { sku: 'gone', qty: 1 }).catch((e: unknown) => e);
    expect(RemoteError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'OUT_OF_STOCK', isRetryable: true, message: 'gone' });
    await replies.return?.();
  });

  it('serves a Spring ReplyingKafkaTemplate: any correlation bytes echoed exactly, its 4-byte reply partition honoured', async () => {
    broker = new MemoryBroker();
    broker.createTopic('quote.replies', { partitions: 4 });
    await using server = new RpcServer({
      publisher: broker.publisher(),
      subscriber: broker.subscriber(),
      replyTopicPartitions: async () => 4,
    });
    server.handle(Quote, ({ sku }) => ({ sku, total: 1 }));
    const publisher = broker.publisher();
    // Spring's default 16 bytes; a custom CorrelationKey of 5 bytes; 16 bytes that are valid UTF-8.
    const correlations = [
      Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + (i % 16)),
      Uint8Array.from([0xff, 0, 1, 2, 0x80]),
      new TextEncoder().encode('sixteen-ascii-id'),
    ];
    for (const [n, correlation] of correlations.entries()) {
      const partition = new Uint8Array(4);
      new DataView(partition.buffer).setInt32(0, n + 1);
      await publisher.publish(Quote.topic, {
        id: `r${n}`,
        payload: new TextEncoder().encode(JSON.stringify({ sku: `s${n}`, qty: 1 })),
        headers: {},
        binaryHeaders: {
          [SpringKafkaHeaders.correlationId]: correlation,
          [SpringKafkaHeaders.replyTopic]: new TextEncoder().encode('quote.replies'),
          [SpringKafkaHeaders.replyPartition]: partition,
        },
      });
    }
    const seen: [string, number][] = [];
    for await (const reply of broker.subscriber().subscribe('quote.replies', { group: 'spring-client' })) {
      const bytes = headerBytes(reply, SpringKafkaHeaders.correlationId) ?? new Uint8Array(0);
      seen.push([Buffer.from(bytes).toString('hex'), reply.partition]);
      reply.ack();
      if (seen.length === 3) break;
    }
    expect(seen.sort()).toEqual(
      correlations.map((c, n) => [Buffer.from(c).toString('hex'), n + 1] as [string, number]).sort(),
    );
  });
});

describe('reply topic deletion', () => {
  it('deletes a generated reply topic on close, after leaving its group; never a configured one', async () => {
    broker = new MemoryBroker();
    const deleted: string[] = [];
    const deleteReplyTopic = async (topic: string) => {
      deleted.push(topic);
    };
    const base = { publisher: broker.publisher(), subscriber: broker.subscriber() };
    const unused = new RpcClient({ ...base, deleteReplyTopic });
    await unused.close();
    // Never started, so never created: nothing to delete.
    expect(deleted).toEqual([]);
    const client = new RpcClient({ ...base, deleteReplyTopic });
    await client.start();
    await Promise.all([client.close(), client.close()]);
    expect(deleted).toEqual([client.replyTopic]);
    const kept = new RpcClient({ ...base, deleteReplyTopic, keepReplyTopic: true });
    await kept.start();
    await kept.close();
    expect(deleted).toEqual([client.replyTopic]);
    const error = (() => {
      try {
        return new RpcClient({ ...base, replyTopic: 'fixed.replies', deleteReplyTopic, keepReplyTopic: 'no' as never });
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['deleteReplyTopic', 'keepReplyTopic']);
  });

  it('logs a failed deletion and still closes', async () => {
    broker = new MemoryBroker();
    const warnings: unknown[] = [];
    const logger = { ...noopLogger, warn: (...args: unknown[]) => warnings.push(args), child: () => logger };
    const client = new RpcClient({
      publisher: broker.publisher(),
      subscriber: broker.subscriber(),
      deleteReplyTopic: async () => {
        throw new Error('not authorized');
      },
      logger,
    });
    await client.start();
    await expect(client.close()).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
  });
});

describe('starting', () => {
  it('a failed reply topic creation fails the waiting request; the next request creates it again', async () => {
    broker = new MemoryBroker();
    let attempts = 0;
    await using client = new RpcClient({
      publisher: broker.publisher(),
      subscriber: broker.subscriber(),
      createReplyTopic: async () => {
        if (++attempts === 1) throw new Error('broker hiccup');
      },
      timeoutMs: 5_000,
    });
    await using server = new RpcServer({ publisher: broker.publisher(), subscriber: broker.subscriber() });
    server.handle(Quote, ({ sku }) => ({ sku, total: 1 }));
    await expect(client.request(Quote, { sku: 'a', qty: 1 })).rejects.toThrow('broker hiccup');
    await expect(client.request(Quote, { sku: 'b', qty: 1 })).resolves.toEqual({ sku: 'b', total: 1 });
    expect(attempts).toBe(2);
  });
});
