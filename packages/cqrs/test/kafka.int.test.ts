import { CodecError } from '@bus/codecs';
import { avroSchemaFormat } from '@bus/codecs/avro';
import { jsonCodec, jsonSchemaFormat } from '@bus/codecs/json';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { registryCodec } from '@bus/codecs/registry';
import { DEAD_LETTER_REPLAY_HEADERS, DeadLetterHeaders } from '@bus/core';
import {
  CommandBus,
  CommandProcessor,
  CqrsError,
  defineCommand,
  defineEvent,
  EventBus,
  type EventOf,
  EventProcessor,
  topics,
} from '@bus/cqrs';
import { KafkaDeadLetterQueue, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { afterAll, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { z } from 'zod';
import { brokers, createTopics, realRegistry, uniquePrefix } from './support/kafka.ts';

const registry = realRegistry();
afterAll(() => registry.close());

interface Order {
  orderId: string;
  total: number;
}

const orderAvro = {
  type: 'record',
  name: 'OrderPlaced',
  namespace: 'shop.cqrs',
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'total', type: 'double' },
  ],
} as const;

const orderProto = `
syntax = "proto3";
package shop.cqrs;
message OrderPlaced {
  string orderId = 1;
  double total = 2;
}
`;

function kafka(prefix: string) {
  const publisher = new KafkaPublisher({ brokers: brokers() });
  const strategy = topics.perType(prefix);
  const events = new EventBus({ publisher, topics: strategy, source: 'urn:shop:test' });
  return { publisher, strategy, events, subscriber: () => new KafkaSubscriber({ brokers: brokers() }) };
}

describe('@bus/cqrs on the real Kafka broker and registry', () => {
  const zodOrder = z.object({ orderId: z.string(), total: z.number() });
  const codecs = {
    json: () => jsonCodec({ schema: zodOrder }),
    'registry JSON Schema': () =>
      registryCodec({ registry, format: jsonSchemaFormat({ jsonSchema: z.toJSONSchema(zodOrder), schema: zodOrder }) }),
    // The data type is inferred from the `as const` Avro schema.
    avro: () => registryCodec({ registry, format: avroSchemaFormat({ schema: orderAvro }) }),
    protobuf: () =>
      registryCodec({
        registry,
        format: protobufSchemaFormat<Order>({ proto: orderProto, typeName: 'shop.cqrs.OrderPlaced' }),
      }),
  };

  for (const [name, codec] of Object.entries(codecs)) {
    it(`a typed event round-trips through Kafka with ${name}`, async () => {
      const prefix = uniquePrefix(`rt-${name.replaceAll(' ', '-')}`);
      const OrderPlaced = defineEvent({ name: 'OrderPlaced', aggregateType: 'order', schema: codec() });
      await createTopics([`${prefix}.OrderPlaced`], 3);
      const { publisher, strategy, events, subscriber } = kafka(prefix);
      await using _publisher = publisher;
      await using processor = new EventProcessor({ subscriber: subscriber(), topics: strategy, groupPrefix: prefix });
      const seen: EventOf<typeof OrderPlaced>[] = [];
      processor.on(OrderPlaced, (event) => {
        seen.push(event);
      });
      void processor.run();
      const [envelope] = await events.publish(
        OrderPlaced.create({ orderId: 'o-1', total: 19.5 }, { aggregateId: 'o-1', correlationId: 'req-1' }),
      );
      await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 30_000, interval: 50 });
      expect(seen[0]?.data).toEqual({ orderId: 'o-1', total: 19.5 });
      expect(seen[0]?.envelope).toEqual(envelope);
      expectTypeOf(seen[0]?.data).toEqualTypeOf<Order | undefined>();
      if (name !== 'json') {
        expect(await registry.versions(`${prefix}.OrderPlaced-value`)).toEqual([1]);
        expect(envelope?.contentType).toBe(OrderPlaced.schema.contentType);
      }
    });
  }

  it('keeps each aggregate in order under concurrency 16: 10,000 events over 100 aggregates', async () => {
    const prefix = uniquePrefix('order');
    const Counted = defineEvent({
      name: 'Counted',
      schema: jsonCodec({ schema: z.object({ aggregate: z.string(), n: z.number() }) }),
    });
    await createTopics([`${prefix}.Counted`], 8);
    const { publisher, strategy, events, subscriber } = kafka(prefix);
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
    await vi.waitFor(() => expect(total).toBe(10_000), { timeout: 120_000, interval: 200 });
    expect(byAggregate.size).toBe(100);
    const expected = Array.from({ length: 100 }, (_, n) => n);
    for (const sequence of byAggregate.values()) expect(sequence).toEqual(expected);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(processor.stats()).toMatchObject({ handled: 10_000, failed: 0, inFlight: 0 });
  });

  it('schema evolution: v1 handlers read v2 events and v2 handlers read v1; an incompatible change is refused at publish', async () => {
    const prefix = uniquePrefix('evolve');
    const topic = `${prefix}.OrderPlaced`;
    await createTopics([topic], 1);
    await registry.setCompatibility(`${topic}-value`, 'FULL');
    type OrderV2 = Order & { note: string | null };
    const v2Schema = {
      ...orderAvro,
      fields: [...orderAvro.fields, { name: 'note', type: ['null', 'string'], default: null }],
    };
    const V1 = defineEvent({
      name: 'OrderPlaced',
      schema: registryCodec({ registry, format: avroSchemaFormat<Order>({ schema: orderAvro }) }),
    });
    const V2 = defineEvent({
      name: 'OrderPlaced',
      version: 2,
      schema: registryCodec({ registry, format: avroSchemaFormat<OrderV2>({ schema: v2Schema }) }),
    });
    const { publisher, strategy, events, subscriber } = kafka(prefix);
    await using _publisher = publisher;
    await using processor = new EventProcessor({ subscriber: subscriber(), topics: strategy, groupPrefix: prefix });
    const readByV1: unknown[] = [];
    const readByV2: unknown[] = [];
    processor.on(V1, (event) => void readByV1.push([event.envelope.version, event.data]), { name: 'v1-reader' });
    processor.on(V2, (event) => void readByV2.push([event.envelope.version, event.data]), { name: 'v2-reader' });
    void processor.run();
    await events.publish(V1.create({ orderId: 'o-1', total: 1 }, { aggregateId: 'o-1' }));
    await events.publish(V2.create({ orderId: 'o-1', total: 2, note: 'gift' }, { aggregateId: 'o-1' }));
    await vi.waitFor(() => expect([readByV1.length, readByV2.length]).toEqual([2, 2]), {
      timeout: 30_000,
      interval: 50,
    });
    expect(readByV1).toEqual([
      [1, { orderId: 'o-1', total: 1 }],
      [2, { orderId: 'o-1', total: 2 }],
    ]);
    expect(readByV2).toEqual([
      [1, { orderId: 'o-1', total: 1, note: null }],
      [2, { orderId: 'o-1', total: 2, note: 'gift' }],
    ]);
    expect(await registry.versions(`${topic}-value`)).toEqual([1, 2]);

    const Broken = defineEvent({
      name: 'OrderPlaced',
      version: 3,
      schema: registryCodec({
        registry,
        format: avroSchemaFormat<{ orderId: string; total: string }>({
          schema: { ...orderAvro, fields: [orderAvro.fields[0], { name: 'total', type: 'string' }] },
        }),
      }),
    });
    const error = await events.publish(Broken.create({ orderId: 'o-2', total: 'x' })).catch((e: unknown) => e);
    expect(CodecError.isInstance(error)).toBe(true);
    expect((error as CodecError).code).toBe('INCOMPATIBLE_SCHEMA');
    expect(await registry.versions(`${topic}-value`)).toEqual([1, 2]);
  });

  it('a poison event is retried, dead-lettered with its headers, replayed and handled; other aggregates are never blocked', async () => {
    const prefix = uniquePrefix('poison');
    const OrderPlaced = defineEvent({ name: 'OrderPlaced', schema: codecs.json() });
    const topic = `${prefix}.OrderPlaced`;
    await createTopics([topic], 3);
    await createTopics([`${topic}.dlq`], 1);
    const { publisher, strategy, events, subscriber } = kafka(prefix);
    await using _publisher = publisher;
    const queues: KafkaDeadLetterQueue[] = [];
    await using processor = new EventProcessor({
      subscriber: subscriber(),
      topics: strategy,
      groupPrefix: prefix,
      retry: { maxRetries: 2, initialIntervalMs: 20, randomizationFactor: 0.5 },
      deadLetter: {
        publisher,
        queue: (dlqTopic) => {
          const queue = new KafkaDeadLetterQueue({ brokers: brokers(), topic: dlqTopic, publisher });
          queues.push(queue);
          return queue;
        },
      },
    });
    let healed = false;
    let attempts = 0;
    const handled: string[] = [];
    processor.on(OrderPlaced, (event, ctx) => {
      if (event.data.orderId === 'poison' && !healed) {
        attempts++;
        throw new RangeError('total out of range');
      }
      const replayed = ctx.message.headers[DEAD_LETTER_REPLAY_HEADERS.replayedFrom];
      handled.push(replayed === undefined ? event.data.orderId : `${event.data.orderId} replayed`);
    });
    void processor.run();
    const [poison] = await events.publish(
      OrderPlaced.create({ orderId: 'poison', total: 1 }, { aggregateId: 'poison' }),
    );
    await events.publish(
      Array.from({ length: 50 }, (_, i) =>
        OrderPlaced.create({ orderId: `ok-${i}`, total: 1 }, { aggregateId: `a-${i % 10}` }),
      ),
    );
    await vi.waitFor(() => expect(handled).toHaveLength(50), { timeout: 30_000, interval: 50 });
    const queue = processor.deadLetterQueue(OrderPlaced);
    await vi.waitFor(async () => expect(await queue.count()).toBe(1), { timeout: 30_000, interval: 100 });
    expect(attempts).toBe(3);
    const [letter] = await queue.list();
    expect(letter?.message.id).toBe(poison?.id);
    expect(letter?.message.headers).toMatchObject({
      ce_id: poison?.id,
      ce_type: 'OrderPlaced',
      ce_subject: 'poison',
      [DeadLetterHeaders.originalTopic]: topic,
      [DeadLetterHeaders.originalConsumerGroup]: `${prefix}.OrderPlaced`,
      [DeadLetterHeaders.errorClass]: 'RangeError',
      [DeadLetterHeaders.errorMessage]: 'total out of range',
      [DeadLetterHeaders.attempts]: '3',
    });
    expect(letter?.failure?.firstFailedAt.getTime()).toBeLessThanOrEqual(letter?.failure?.lastFailedAt.getTime() ?? 0);
    expect(processor.stats()).toMatchObject({ deadLettered: 1, retried: 2, failed: 3 });

    healed = true;
    expect((await queue.replay(() => true)).replayed).toHaveLength(1);
    await vi.waitFor(() => expect(handled).toContain('poison replayed'), { timeout: 30_000, interval: 50 });
    expect(processor.stats()).toMatchObject({ handled: 51, deadLettered: 1 });
    for (const q of queues) await q.close();
  });

  it('retry topics: a failing event waits at least each delay in <topic>.retry.<n>, the main topic flows meanwhile, then the DLQ', async () => {
    const prefix = uniquePrefix('retry-topics');
    const OrderPlaced = defineEvent({ name: 'OrderPlaced', schema: codecs.json() });
    const topic = `${prefix}.OrderPlaced`;
    await createTopics([topic, `${topic}.retry.1`, `${topic}.retry.2`], 2);
    await createTopics([`${topic}.dlq`], 1);
    const { publisher, strategy, events, subscriber } = kafka(prefix);
    await using _publisher = publisher;
    await using queue = new KafkaDeadLetterQueue({ brokers: brokers(), topic: `${topic}.dlq`, publisher });
    await using processor = new EventProcessor({
      subscriber: subscriber(),
      topics: strategy,
      groupPrefix: prefix,
      retry: false,
      retryTopics: { delaysMs: [300, 600] },
      deadLetter: { publisher, queue: () => queue },
    });
    const attempts: { topic: string; at: number }[] = [];
    const handled: string[] = [];
    processor.on(OrderPlaced, (event, ctx) => {
      if (event.data.orderId === 'poison') {
        attempts.push({ topic: ctx.message.topic, at: Date.now() });
        throw new Error('still down');
      }
      handled.push(event.data.orderId);
    });
    void processor.run();
    await events.publish(OrderPlaced.create({ orderId: 'poison', total: 1 }, { aggregateId: 'poison' }));
    await events.publish(
      Array.from({ length: 30 }, (_, i) =>
        OrderPlaced.create({ orderId: `ok-${i}`, total: 1 }, { aggregateId: `a-${i % 5}` }),
      ),
    );
    await vi.waitFor(() => expect(handled).toHaveLength(30), { timeout: 30_000, interval: 50 });
    await vi.waitFor(async () => expect(await queue.count()).toBe(1), { timeout: 60_000, interval: 200 });
    expect(attempts.map((a) => a.topic)).toEqual([topic, `${topic}.retry.1`, `${topic}.retry.2`]);
    const [first, second, third] = attempts.map((a) => a.at) as [number, number, number];
    expect(second - first).toBeGreaterThanOrEqual(300);
    expect(third - second).toBeGreaterThanOrEqual(600);
    const [letter] = await queue.list();
    expect(letter?.failure).toMatchObject({
      originalTopic: topic,
      attempts: 3,
      consumerGroup: `${prefix}.OrderPlaced`,
    });
    expect(processor.stats()).toMatchObject({ handled: 30, failed: 3, retried: 2, deadLettered: 1 });
  });

  it('commands: one handler per type on Kafka; no handler and a duplicate handler are typed errors', async () => {
    const prefix = uniquePrefix('cmd');
    const PlaceOrder = defineCommand({ name: 'PlaceOrder', schema: codecs.json() });
    const CancelOrder = defineCommand({ name: 'CancelOrder', schema: codecs.json() });
    await createTopics([`${prefix}.PlaceOrder`], 2);
    const { publisher, strategy, subscriber } = kafka(prefix);
    await using _publisher = publisher;
    const commands = new CommandBus({ publisher, topics: strategy, source: 'urn:shop:web' });

    const missing = new CommandProcessor({
      subscriber: subscriber(),
      topics: strategy,
      expects: [PlaceOrder, CancelOrder],
    });
    missing.on(PlaceOrder, () => {});
    const startup = await missing.run().catch((e: unknown) => e);
    expect(CqrsError.isInstance(startup) && startup.code).toBe('NO_HANDLER');
    expect((startup as Error).message).toContain('CancelOrder');

    await using processor = new CommandProcessor({
      subscriber: subscriber(),
      topics: strategy,
      groupPrefix: prefix,
      expects: [PlaceOrder],
    });
    const seen: number[] = [];
    processor.on(PlaceOrder, (command) => void seen.push(command.data.total));
    const duplicate = (() => {
      try {
        processor.on(PlaceOrder, () => {});
      } catch (e) {
        return e;
      }
    })();
    expect(CqrsError.isInstance(duplicate) && duplicate.code).toBe('DUPLICATE_HANDLER');
    void processor.run();
    await commands.send(PlaceOrder.create({ orderId: 'o-1', total: 3 }, { aggregateId: 'o-1' }));
    await vi.waitFor(() => expect(seen).toEqual([3]), { timeout: 30_000, interval: 50 });
  });
});
