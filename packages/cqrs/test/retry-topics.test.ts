import { MemoryBroker } from '@bus/core';
import { EventBus, EventProcessor, topics } from '@bus/cqrs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrderPlaced } from './fixtures.ts';

let broker: MemoryBroker;
afterEach(async () => {
  await broker?.close();
});

function setup(delaysMs: number[]) {
  broker = new MemoryBroker({ defaultPartitions: 2 });
  const strategy = topics.perType('rt');
  const events = new EventBus({ publisher: broker.publisher(), topics: strategy, source: 'urn:test' });
  const processor = new EventProcessor({
    subscriber: broker.subscriber(),
    topics: strategy,
    retry: false,
    retryTopics: { delaysMs },
    deadLetter: { publisher: broker.publisher(), queue: (topic) => broker.deadLetterQueue(topic) },
  });
  return { events, processor };
}

describe('retry topics on the in-memory broker', () => {
  it('a failing event goes through <topic>.retry.1 and .retry.2, each no earlier than its delay, then to the DLQ', async () => {
    const { events, processor } = setup([50, 100]);
    await using _processor = processor;
    const attempts: { topic: string; at: number }[] = [];
    processor.on(OrderPlaced, (_event, ctx) => {
      attempts.push({ topic: ctx.message.topic, at: Date.now() });
      throw new Error('still down');
    });
    expect(processor.router.handlerNames).toEqual([
      'cqrs:shop.OrderPlaced',
      'cqrs:shop.OrderPlaced.retry.1',
      'cqrs:shop.OrderPlaced.retry.2',
    ]);
    void processor.run();
    await events.publish(OrderPlaced.create({ orderId: 'o-1', total: 1 }, { aggregateId: 'o-1' }));
    const queue = processor.deadLetterQueue(OrderPlaced);
    await vi.waitFor(async () => expect(await queue.count()).toBe(1), { timeout: 10_000 });
    expect(attempts.map((a) => a.topic)).toEqual([
      'rt.shop.OrderPlaced',
      'rt.shop.OrderPlaced.retry.1',
      'rt.shop.OrderPlaced.retry.2',
    ]);
    const [first, second, third] = attempts.map((a) => a.at) as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(50);
    expect(third - second).toBeGreaterThanOrEqual(100);
    const [letter] = await queue.list();
    expect(letter?.failure).toMatchObject({
      originalTopic: 'rt.shop.OrderPlaced',
      attempts: 3,
      errorMessage: 'still down',
    });
    expect(letter?.message.headers.ce_subject).toBe('o-1');
    expect(processor.stats()).toMatchObject({ failed: 3, retried: 2, deadLettered: 1, handled: 0 });
  });

  it('the main topic keeps flowing while a failed event waits in its retry topic', async () => {
    const { events, processor } = setup([60_000]);
    await using _processor = processor;
    const handled: string[] = [];
    processor.on(OrderPlaced, (event) => {
      if (event.data.orderId === 'poison') throw new Error('poison');
      handled.push(event.data.orderId);
    });
    void processor.run();
    await events.publish(OrderPlaced.create({ orderId: 'poison', total: 1 }, { aggregateId: 'o-1' }));
    await events.publish(
      Array.from({ length: 20 }, (_, i) =>
        OrderPlaced.create({ orderId: `ok-${i}`, total: 1 }, { aggregateId: `o-${i % 3}` }),
      ),
    );
    await vi.waitFor(() => expect(handled).toHaveLength(20), { timeout: 10_000 });
    expect(processor.stats()).toMatchObject({ retried: 1, deadLettered: 0, failed: 1 });
    expect(broker.describeTopic('rt.shop.OrderPlaced.retry.1')?.reduce((n, p) => n + p.end, 0)).toBe(1);
  });
});
