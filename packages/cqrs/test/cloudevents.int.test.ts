import { jsonCodec } from '@bus/codecs/json';
import { defineEvent, EventBus, type EventOf, EventProcessor, topics } from '@bus/cqrs';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { CloudEvent, Kafka, type KafkaMessage } from 'cloudevents';
import kafkajs from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { brokers, createTopics, uniquePrefix } from './support/kafka.ts';

const OrderPlaced = defineEvent({
  name: 'OrderPlaced',
  aggregateType: 'order',
  schema: jsonCodec({ schema: z.object({ orderId: z.string(), total: z.number() }) }),
});

function client(): kafkajs.Kafka {
  return new kafkajs.Kafka({ brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING });
}

describe('CloudEvents interop through the real broker, with the cloudevents SDK Kafka binding', () => {
  it('a plain kafkajs consumer turns what EventBus published into a CloudEvent', async () => {
    const prefix = uniquePrefix('ce-out');
    const topic = `${prefix}.OrderPlaced`;
    await createTopics([topic], 1);
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    const events = new EventBus({ publisher, topics: topics.perType(prefix), source: 'urn:shop:orders' });
    const [envelope] = await events.publish(
      OrderPlaced.create(
        { orderId: 'o-1', total: 9.5 },
        { aggregateId: 'o-1', aggregateVersion: 4, correlationId: 'req-1', tenant: 'acme', metadata: { via: 'web' } },
      ),
    );

    const consumer = client().consumer({ groupId: `${prefix}-sdk` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = Promise.withResolvers<CloudEvent<unknown>>();
      await consumer.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([name, value]) => [name, String(value)]),
          );
          const kafkaMessage: KafkaMessage<Buffer> = {
            headers,
            key: message.key?.toString() ?? '',
            value: message.value ?? Buffer.alloc(0),
            body: message.value ?? Buffer.alloc(0),
            timestamp: message.timestamp,
          };
          received.resolve(Kafka.toEvent(kafkaMessage) as CloudEvent<unknown>);
        },
      });
      const event = await received.promise;
      expect(event.specversion).toBe('1.0');
      expect(event.id).toBe(envelope?.id);
      expect(event.type).toBe('OrderPlaced');
      expect(event.source).toBe('urn:shop:orders');
      expect(event.subject).toBe('o-1');
      expect(new Date(event.time as string).toISOString()).toBe(envelope?.time.toISOString());
      expect(event.datacontenttype).toBe('application/json');
      expect(event.data).toEqual({ orderId: 'o-1', total: 9.5 });
      expect(event).toMatchObject({
        aggregatetype: 'order',
        aggregateversion: '4',
        correlationid: 'req-1',
        tenant: 'acme',
        metadata: '{"via":"web"}',
        partitionkey: 'o-1',
      });
    } finally {
      await consumer.disconnect();
    }
  });

  it('an EventProcessor handles, typed, a CloudEvent the SDK wrote with a plain kafkajs producer', async () => {
    const prefix = uniquePrefix('ce-in');
    const topic = `${prefix}.OrderPlaced`;
    await createTopics([topic], 1);
    const sdkEvent = new CloudEvent({
      id: 'sdk-1',
      type: 'OrderPlaced',
      source: 'urn:other:service',
      subject: 'o-7',
      time: '2026-05-06T07:08:09.000Z',
      datacontenttype: 'application/json',
      correlationid: 'req-7',
      data: { orderId: 'o-7', total: 70 },
    });
    const message = Kafka.binary(sdkEvent);
    // The SDK's binding leaves the value as the data object and unset attributes as undefined headers:
    // serializing both is the producer's job.
    const headers = Object.fromEntries(
      Object.entries(message.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
    const producer = client().producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        messages: [
          {
            key: 'o-7',
            value: Buffer.from(JSON.stringify(message.value)),
            headers,
          },
        ],
      });
    } finally {
      await producer.disconnect();
    }

    await using processor = new EventProcessor({
      subscriber: new KafkaSubscriber({ brokers: brokers() }),
      topics: topics.perType(prefix),
      groupPrefix: prefix,
    });
    const seen: EventOf<typeof OrderPlaced>[] = [];
    processor.on(OrderPlaced, (event) => {
      seen.push(event);
    });
    void processor.run();
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 30_000, interval: 50 });
    expect(seen[0]?.data).toEqual({ orderId: 'o-7', total: 70 });
    expect(seen[0]?.envelope).toMatchObject({
      id: 'sdk-1',
      type: 'OrderPlaced',
      source: 'urn:other:service',
      aggregateId: 'o-7',
      correlationId: 'req-7',
      version: 1,
      contentType: 'application/json',
    });
    expect(seen[0]?.envelope.time.toISOString()).toBe('2026-05-06T07:08:09.000Z');
  });
});
