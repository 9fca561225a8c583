import { avroSchemaFormat } from '@bus/codecs/avro';
import { jsonCodec } from '@bus/codecs/json';
import { registryCodec } from '@bus/codecs/registry';
import { DEAD_LETTER_REPLAY_HEADERS } from '@bus/core';
import { defineEvent, EventBus, type EventOf, EventProcessor, topics } from '@bus/cqrs';
import { KafkaDeadLetterQueue, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { brokers, createTopics, realRegistry, uniquePrefix } from './support/kafka.ts';

// The same flows as kafka.int.test.ts, with both ends on @bus/kafka's other driver: cqrs only sees
// the Publisher and Subscriber contracts, so nothing in it may depend on the Kafka client underneath.
const registry = realRegistry();
afterAll(() => registry.close());

function platformatic(prefix: string) {
  const options = { brokers: brokers(), driver: 'platformatic' as const };
  const publisher = new KafkaPublisher(options);
  const strategy = topics.perType(prefix);
  const events = new EventBus({ publisher, topics: strategy, source: 'urn:shop:test' });
  return { publisher, strategy, events, subscriber: () => new KafkaSubscriber(options) };
}

describe("@bus/cqrs on the real broker with driver: 'platformatic'", () => {
  it('a registry-backed Avro event round-trips with its whole envelope, the id carried once as ce_id', async () => {
    const prefix = uniquePrefix('plat-rt');
    const OrderPlaced = defineEvent({
      name: 'OrderPlaced',
      aggregateType: 'order',
      schema: registryCodec({
        registry,
        format: avroSchemaFormat({
          schema: {
            type: 'record',
            name: 'OrderPlaced',
            namespace: 'shop.cqrs.platformatic',
            fields: [
              { name: 'orderId', type: 'string' },
              { name: 'total', type: 'double' },
            ],
          } as const,
        }),
      }),
    });
    await createTopics([`${prefix}.OrderPlaced`], 3);
    const { publisher, strategy, events, subscriber } = platformatic(prefix);
    await using _publisher = publisher;
    await using processor = new EventProcessor({ subscriber: subscriber(), topics: strategy, groupPrefix: prefix });
    const seen: EventOf<typeof OrderPlaced>[] = [];
    const headers: Record<string, string>[] = [];
    processor.on(OrderPlaced, (event, ctx) => {
      seen.push(event);
      headers.push({ ...ctx.message.headers });
    });
    void processor.run();
    const [envelope] = await events.publish(
      OrderPlaced.create(
        { orderId: 'o-1', total: 19.5 },
        { aggregateId: 'o-1', aggregateVersion: 2, correlationId: 'req-1', tenant: 'acme', metadata: { via: 'web' } },
      ),
    );
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 30_000, interval: 50 });
    expect(seen[0]?.data).toEqual({ orderId: 'o-1', total: 19.5 });
    expect(seen[0]?.envelope).toEqual(envelope);
    expect(headers[0]?.ce_id).toBe(envelope?.id);
    expect(headers[0]).not.toHaveProperty('bus-message-id');
    expect(await registry.versions(`${prefix}.OrderPlaced-value`)).toEqual([1]);
  });

  it('keeps each aggregate in order under concurrency 16: 10,000 events over 100 aggregates', async () => {
    const prefix = uniquePrefix('plat-order');
    const Counted = defineEvent({
      name: 'Counted',
      schema: jsonCodec({ schema: z.object({ aggregate: z.string(), n: z.number() }) }),
    });
    await createTopics([`${prefix}.Counted`], 8);
    const { publisher, strategy, events, subscriber } = platformatic(prefix);
    await using _publisher = publisher;
    await using processor = new EventProcessor({
      subscriber: subscriber(),
      topics: strategy,
      groupPrefix: prefix,
      concurrency: 16,
    });
    const byAggregate = new Map<string, number[]>();
    let inFlight = 0;
    let maxInFlight = 0;
    let total = 0;
    processor.on(Counted, async (event) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      const list = byAggregate.get(event.data.aggregate) ?? [];
      list.push(event.data.n);
      byAggregate.set(event.data.aggregate, list);
      total++;
      inFlight--;
    });
    void processor.run();
    for (let round = 0; round < 10; round++) {
      const batch = [];
      for (let n = round * 10; n < (round + 1) * 10; n++) {
        for (let a = 0; a < 100; a++) {
          batch.push(Counted.create({ aggregate: `agg-${a}`, n }, { aggregateId: `agg-${a}`, aggregateVersion: n }));
        }
      }
      await events.publish(batch);
    }
    // Up to 120 s on a loaded machine; the test's own timeout (180 s) is above the project's 60 s.
    await vi.waitFor(() => expect(total).toBe(10_000), { timeout: 120_000, interval: 200 });
    expect(byAggregate.size).toBe(100);
    const expected = Array.from({ length: 100 }, (_, n) => n);
    for (const sequence of byAggregate.values()) expect(sequence).toEqual(expected);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(processor.stats()).toMatchObject({ handled: 10_000, failed: 0, inFlight: 0 });
  }, 180_000);

  it('a poison event is retried, dead-lettered, replayed and handled; other aggregates are never blocked', async () => {
    const prefix = uniquePrefix('plat-poison');
    const OrderPlaced = defineEvent({
      name: 'OrderPlaced',
      schema: jsonCodec({ schema: z.object({ orderId: z.string(), total: z.number() }) }),
    });
    const topic = `${prefix}.OrderPlaced`;
    await createTopics([topic], 3);
    await createTopics([`${topic}.dlq`], 1);
    const { publisher, strategy, events, subscriber } = platformatic(prefix);
    await using _publisher = publisher;
    await using processor = new EventProcessor({
      subscriber: subscriber(),
      topics: strategy,
      groupPrefix: prefix,
      retry: { maxRetries: 2, initialIntervalMs: 20 },
      deadLetter: {
        publisher,
        // KafkaDeadLetterQueue reads on kafkajs only for now (it refuses driver: 'platformatic'); it
        // replays through the platformatic publisher.
        queue: (dlqTopic) => new KafkaDeadLetterQueue({ brokers: brokers(), topic: dlqTopic, publisher }),
      },
    });
    let healed = false;
    const handled: string[] = [];
    processor.on(OrderPlaced, (event, ctx) => {
      if (event.data.orderId === 'poison' && !healed) throw new RangeError('total out of range');
      const replayed = ctx.message.headers[DEAD_LETTER_REPLAY_HEADERS.replayedFrom] !== undefined;
      handled.push(replayed ? `${event.data.orderId} replayed` : event.data.orderId);
    });
    void processor.run();
    const [poison] = await events.publish(
      OrderPlaced.create({ orderId: 'poison', total: 1 }, { aggregateId: 'poison' }),
    );
    await events.publish(
      Array.from({ length: 20 }, (_, i) =>
        OrderPlaced.create({ orderId: `ok-${i}`, total: 1 }, { aggregateId: `a-${i % 5}` }),
      ),
    );
    await vi.waitFor(() => expect(handled).toHaveLength(20), { timeout: 30_000, interval: 50 });
    const queue = processor.deadLetterQueue(OrderPlaced);
    await vi.waitFor(async () => expect(await queue.count()).toBe(1), { timeout: 30_000, interval: 100 });
    const [letter] = await queue.list();
    expect(letter?.message.id).toBe(poison?.id);
    expect(letter?.failure).toMatchObject({ originalTopic: topic, errorClass: 'RangeError', attempts: 3 });
    healed = true;
    expect((await queue.replay(() => true)).replayed).toHaveLength(1);
    await vi.waitFor(() => expect(handled).toContain('poison replayed'), { timeout: 30_000, interval: 50 });
    expect(processor.stats()).toMatchObject({ handled: 21, deadLettered: 1, retried: 2, failed: 3 });
  });
});
