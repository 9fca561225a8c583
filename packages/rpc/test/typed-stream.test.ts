import { jsonCodec } from '@bus/codecs/json';
import { ConfigError, MemoryBroker } from '@bus/core';
import { subscribeTyped, TypedStreamError } from '@bus/rpc';
import { afterEach, describe, expect, it, vi } from 'vitest';

let broker: MemoryBroker;
afterEach(async () => {
  await broker?.close();
});

const encoder = new TextEncoder();

async function publish(topic: string, values: readonly unknown[], type = 'Price') {
  const publisher = broker.publisher();
  for (const [i, value] of values.entries()) {
    await publisher.publish(topic, {
      id: `${topic}-${type}-${i}`,
      payload: encoder.encode(JSON.stringify(value)),
      headers: { 'bus-type': type },
    });
  }
}

async function take<T>(iterator: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('subscribeTyped on the in-memory broker', () => {
  it('yields parsed values of its type from every topic and skips other types', async () => {
    broker = new MemoryBroker({ defaultPartitions: 1 });
    await publish('a', [{ p: 1 }, { p: 2 }]);
    await publish('a', [{ other: true }], 'Trade');
    await publish('b', [{ p: 3 }]);
    await using stream = subscribeTyped({
      subscriber: broker.subscriber(),
      topics: ['a', 'b'],
      group: 'g',
      type: 'Price',
      parse: jsonCodec<{ p: number }>(),
    });
    const values = await take(stream[Symbol.asyncIterator](), 3);
    expect(values.map((v) => v.p).sort()).toEqual([1, 2, 3]);
    await vi.waitFor(() => expect(stream.stats.skipped).toBe(1));
  });

  it('a full queue pauses reading (backpressure) and nothing is lost', async () => {
    broker = new MemoryBroker({ defaultPartitions: 1 });
    await publish(
      'prices',
      Array.from({ length: 10 }, (_, p) => ({ p })),
    );
    let parsed = 0;
    const stream = subscribeTyped({
      subscriber: broker.subscriber(),
      topics: ['prices'],
      group: 'g',
      type: 'Price',
      queueMaxSize: 2,
      parse: (message) => {
        parsed++;
        return JSON.parse(new TextDecoder().decode(message.payload)) as { p: number };
      },
    });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ p: 0 });
    // One taken, two queued, one parsed and waiting for room: the reader stops there.
    await vi.waitFor(() => expect(parsed).toBe(4));
    await ticks(20);
    expect(parsed).toBe(4);
    expect((await take(iterator, 3)).map((v) => v.p)).toEqual([1, 2, 3]);
    await stream.close();
    // Consumed values 0..2 were acked (3 is in hand: delivered again); a new stream reads on from there.
    expect(broker.committedOffsets('prices', 'g')).toEqual([3]);
    await using again = subscribeTyped({
      subscriber: broker.subscriber(),
      topics: ['prices'],
      group: 'g',
      type: 'Price',
      parse: jsonCodec<{ p: number }>(),
    });
    expect((await take(again[Symbol.asyncIterator](), 7)).map((v) => v.p)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('latestOnly keeps only the freshest value', async () => {
    broker = new MemoryBroker({ defaultPartitions: 1 });
    await publish(
      'prices',
      Array.from({ length: 5 }, (_, p) => ({ p })),
    );
    await using stream = subscribeTyped({
      subscriber: broker.subscriber(),
      topics: ['prices'],
      group: 'g',
      type: 'Price',
      latestOnly: true,
      parse: jsonCodec<{ p: number }>(),
    });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    // All 5 read: one taken, the freshest queued, the rest replaced.
    await vi.waitFor(() => expect(stream.stats.replaced + stream.stats.delivered).toBe(4));
    const second = await iterator.next();
    expect(second.value).toEqual({ p: 4 });
    expect(first.value?.p).toBeLessThan(4);
  });

  it('acks by count: every 3 consumed values', async () => {
    broker = new MemoryBroker({ defaultPartitions: 1 });
    await publish(
      'prices',
      Array.from({ length: 6 }, (_, p) => ({ p })),
    );
    await using stream = subscribeTyped({
      subscriber: broker.subscriber(),
      topics: ['prices'],
      group: 'g',
      type: 'Price',
      commit: { everyMessages: 3 },
      parse: jsonCodec<{ p: number }>(),
    });
    const iterator = stream[Symbol.asyncIterator]();
    await take(iterator, 3);
    expect(stream.stats.acked).toBe(0);
    await take(iterator, 1);
    expect(stream.stats.acked).toBe(3);
  });

  it('acks by interval', async () => {
    broker = new MemoryBroker({ defaultPartitions: 1 });
    await publish(
      'prices',
      Array.from({ length: 3 }, (_, p) => ({ p })),
    );
    await using stream = subscribeTyped({
      subscriber: broker.subscriber(),
      topics: ['prices'],
      group: 'g',
      type: 'Price',
      commit: { intervalMs: 20 },
      parse: jsonCodec<{ p: number }>(),
    });
    await take(stream[Symbol.asyncIterator](), 3);
    await vi.waitFor(() => expect(stream.stats.acked).toBe(2));
  });

  it('a message that does not parse ends the iteration with a typed error and stays unacked', async () => {
    broker = new MemoryBroker({ defaultPartitions: 1 });
    await broker.publisher().publish('prices', { id: 'x', payload: encoder.encode('{oops'), headers: {} });
    await using stream = subscribeTyped({
      subscriber: broker.subscriber(),
      topics: ['prices'],
      group: 'g',
      type: 'Price',
      parse: jsonCodec<{ p: number }>(),
    });
    const error = await stream[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(TypedStreamError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'STREAM_PARSE_FAILED', topic: 'prices', offset: 0 });
    expect(broker.committedOffsets('prices', 'g') ?? [0]).toEqual([0]);
  });

  it('lists every option problem at once', () => {
    try {
      subscribeTyped({ subscriber: {} as never, topics: [], group: '', type: '', parse: 1 as never, queueMaxSize: 0 });
      expect.unreachable();
    } catch (error) {
      expect(ConfigError.isInstance(error)).toBe(true);
      expect((error as ConfigError).issues.map((i) => i.path)).toEqual([
        'subscriber',
        'topics',
        'group',
        'type',
        'parse',
        'queueMaxSize',
      ]);
    }
  });
});
