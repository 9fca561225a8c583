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
import * as v from 'valibot';
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
    // Any Standard Schema library: valibot as well as zod.
    'valibot json': () => jsonCodec({ schema: v.object({ orderId: v.string(), total: v.number() }) }),
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
      if (!name.endsWith('json')) {
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
    // Up to 120 s on a loaded machine; the test's own timeout (180 s) is above the project's 60 s.
    await vi.waitFor(() => expect(total).toBe(10_000), { timeout: 120_000, interval: 200 });
    expect(byAggregate.size).toBe(100);
    const expected = Array.from({ length: 100 }, (_, n) => n);
    for (const sequence of byAggregate.values()) expect(sequence).toEqual(expected);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(processor.stats()).toMatchObject({ handled: 10_000, failed: 0, inFlight: 0 });
  }, 180_000);

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
    const failedAt: { partition: number; offset: number; at: number }[] = [];
    const handled: string[] = [];
    processor.on(OrderPlaced, (event, ctx) => {
      if (event.data.orderId === 'poison' && !healed) {
        attempts++;
        failedAt.push({ partition: ctx.message.partition, offset: ctx.message.offset, at: Date.now() });
        const stacked = new RangeError('total out of range', {
          cause: new TypeError('price list unavailable', { cause: new Error('socket hang up') }),
        });
        stacked.stack = `${stacked.name}: ${stacked.message}\n${'    at deep (file.js:1:1)\n'.repeat(2_000)}`;
        throw stacked;
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
      [DeadLetterHeaders.originalPartition]: String(failedAt[0]?.partition),
      [DeadLetterHeaders.originalOffset]: String(failedAt[0]?.offset),
      [DeadLetterHeaders.errorCauseClass]: 'TypeError',
    });
    // Every attempt was the same record; the failure times bracket the attempts this handler saw.
    expect(new Set(failedAt.map((f) => `${f.partition}:${f.offset}`)).size).toBe(1);
    const failure = letter?.failure;
    expect(failure).toMatchObject({
      originalTopic: topic,
      originalPartition: failedAt[0]?.partition,
      originalOffset: failedAt[0]?.offset,
      consumerGroup: `${prefix}.OrderPlaced`,
      errorClass: 'RangeError',
      errorMessage: 'total out of range',
      attempts: 3,
      causes: [
        { errorClass: 'TypeError', message: 'price list unavailable' },
        { errorClass: 'Error', message: 'socket hang up' },
      ],
    });
    const first = failedAt[0]?.at ?? 0;
    const last = failedAt.at(-1)?.at ?? 0;
    // ISO 8601 headers carry milliseconds: each time is within the attempts' own clock readings.
    expect(failure?.firstFailedAt.getTime()).toBeGreaterThanOrEqual(first - 1);
    expect(failure?.firstFailedAt.getTime()).toBeLessThanOrEqual(last);
    expect(failure?.lastFailedAt.getTime()).toBeGreaterThanOrEqual(last);
    expect(failure?.firstFailedAt.getTime()).toBeLessThan(failure?.lastFailedAt.getTime() ?? 0);
    // The stack is kept, bounded: its first 4,000 characters (of about 56,000) and an ellipsis.
    expect(failure?.stack?.startsWith('RangeError: total out of range')).toBe(true);
    expect(failure?.stack).toHaveLength(4_001);
    expect(failure?.stack?.endsWith('…')).toBe(true);
    expect(processor.stats()).toMatchObject({ deadLettered: 1, retried: 2, failed: 3 });

    healed = true;
    expect((await queue.replay(() => true)).replayed).toHaveLength(1);
    await vi.waitFor(() => expect(handled).toContain('poison replayed'), { timeout: 30_000, interval: 50 });
    expect(processor.stats()).toMatchObject({ handled: 51, deadLettered: 1 });
    for (const q of queues) await q.close();
  });

  it('retry topics: each hop waits its delay within a tolerance, the main topic flows meanwhile, then the DLQ', async () => {
    const prefix = uniquePrefix('retry-topics');
    const OrderPlaced = defineEvent({ name: 'OrderPlaced', schema: codecs.json() });
    const topic = `${prefix}.OrderPlaced`;
    await createTopics([topic, `${topic}.retry.1`, `${topic}.retry.2`], 2);
    await createTopics([`${topic}.dlq`], 1);
    const { publisher, strategy, events, subscriber } = kafka(prefix);
    await using _publisher = publisher;
    await using queue = new KafkaDeadLetterQueue({ brokers: brokers(), topic: `${topic}.dlq`, publisher });
    // The first delay is long enough for 30 events published after the first failure to be handled
    // on a loaded machine (the test runs beside 10,000-event tests) before the poison event is due.
    const delaysMs = [4_000, 3_000];
    // Late by at most this much. Seen: 0-60 ms late at load average 18-55; the margin is for a
    // rebalance of the group (its members join one by one) landing in a wait.
    const toleranceMs = 5_000;
    await using processor = new EventProcessor({
      subscriber: subscriber(),
      topics: strategy,
      groupPrefix: prefix,
      retry: false,
      retryTopics: { delaysMs },
      deadLetter: { publisher, queue: () => queue },
    });
    const attempts: { topic: string; at: number }[] = [];
    const handled: { orderId: string; at: number }[] = [];
    processor.on(OrderPlaced, (event, ctx) => {
      if (event.data.orderId === 'poison') {
        attempts.push({ topic: ctx.message.topic, at: Date.now() });
        throw new Error('still down');
      }
      handled.push({ orderId: event.data.orderId, at: Date.now() });
    });
    void processor.run();
    await events.publish(OrderPlaced.create({ orderId: 'poison', total: 1 }, { aggregateId: 'poison' }));
    // Published once the poison event waits in <topic>.retry.1: handled before it comes back.
    await vi.waitFor(() => expect(attempts).toHaveLength(1), { timeout: 30_000, interval: 20 });
    await events.publish(
      Array.from({ length: 30 }, (_, i) =>
        OrderPlaced.create({ orderId: `ok-${i}`, total: 1 }, { aggregateId: `a-${i % 5}` }),
      ),
    );
    await vi.waitFor(() => expect(handled).toHaveLength(30), { timeout: 30_000, interval: 20 });
    await vi.waitFor(async () => expect(await queue.count()).toBe(1), { timeout: 60_000, interval: 200 });
    expect(attempts.map((a) => a.topic)).toEqual([topic, `${topic}.retry.1`, `${topic}.retry.2`]);
    const [first, second, third] = attempts.map((a) => a.at) as [number, number, number];
    expect(Math.max(...handled.map((h) => h.at))).toBeLessThan(second);
    for (const [waited, delay] of [
      [second - first, delaysMs[0] as number],
      [third - second, delaysMs[1] as number],
    ] as const) {
      expect(waited).toBeGreaterThanOrEqual(delay);
      expect(waited).toBeLessThanOrEqual(delay + toleranceMs);
    }
    const [letter] = await queue.list();
    expect(letter?.failure).toMatchObject({
      originalTopic: topic,
      attempts: 3,
      consumerGroup: `${prefix}.OrderPlaced`,
    });
    expect(processor.stats()).toMatchObject({ handled: 30, failed: 3, retried: 2, deadLettered: 1, inFlight: 0 });
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
