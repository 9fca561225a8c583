import { jsonCodec } from '@bus/codecs/json';
import { ConfigError, MemoryBroker, type ReceivedMessage, textMessage } from '@bus/core';
import { defineEvent, EventBus, topics } from '@bus/cqrs';
import { instrumentPublisher, instrumentSubscriber, routerInstrumentation } from '@bus/otel';
import { defineRoute, RpcClient, RpcServer } from '@bus/rpc';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { startTestSdk } from './support/sdk.ts';
import { waitFor } from './support/wait.ts';

describe('without an SDK', () => {
  it('hands out the transport’s own messages and publishes messages untouched', async () => {
    await using broker = new MemoryBroker();
    broker.createTopic('plain', { partitions: 1 });
    const sent = textMessage('hello');
    await instrumentPublisher(broker.publisher()).publish('plain', sent);
    const raw = broker.subscriber().subscribe('plain', { group: 'raw' });
    const instrumented = instrumentSubscriber(broker.subscriber()).subscribe('plain', { group: 'wrapped' });
    const [fromRaw, fromInstrumented] = await Promise.all([first(raw), first(instrumented)]);
    // No context header was written, and the subscriber did not wrap the message.
    expect(fromRaw.headers).toEqual(sent.headers);
    expect(fromInstrumented.headers.traceparent).toBeUndefined();
    expect(fromInstrumented.constructor).toBe(fromRaw.constructor);
  });

  it('instrumented transports stand for the originals: same class, their own methods bound to them', async () => {
    await using broker = new MemoryBroker();
    const publisher = broker.publisher();
    const subscriber = broker.subscriber();
    const instrumentedPublisher = instrumentPublisher(publisher);
    const instrumentedSubscriber = instrumentSubscriber(subscriber);
    expect(instrumentedPublisher).toBeInstanceOf(publisher.constructor);
    expect(instrumentedSubscriber).toBeInstanceOf(subscriber.constructor);
    expect(instrumentedPublisher.specVersion).toBe(publisher.specVersion);
    // close() of the wrapper closes the real subscriber (private state): a later subscribe fails.
    await instrumentedSubscriber.close();
    expect(() => subscriber.subscribe('plain')[Symbol.asyncIterator]()).toThrow(/closed/i);
  });

  it('rejects invalid options with a ConfigError that lists every problem', () => {
    const attempt = () =>
      routerInstrumentation({
        producerContext: 'child' as 'parent',
        metricPrefix: 'Bus Metrics',
        recordKeys: 'yes' as unknown as boolean,
        settleSpans: 'some' as 'all',
        spanAttributes: 'all' as 'required',
      });
    expect(attempt).toThrowError(ConfigError);
    expect(attempt).toThrowError(
      /5 problems[\s\S]*producerContext[\s\S]*metricPrefix[\s\S]*settleSpans[\s\S]*spanAttributes[\s\S]*recordKeys/,
    );
  });
});

async function first(messages: AsyncIterable<ReceivedMessage>): Promise<ReceivedMessage> {
  for await (const message of messages) {
    message.ack();
    return message;
  }
  throw new Error('no message');
}

describe('cqrs and rpc attributes, from plain headers', () => {
  it('a cqrs event’s send span carries its CloudEvents type, id, aggregate id and correlation id', async () => {
    const sdk = startTestSdk();
    try {
      const options = { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider };
      await using broker = new MemoryBroker();
      const OrderPlaced = defineEvent({
        name: 'shop.OrderPlaced',
        aggregateType: 'order',
        schema: jsonCodec<{ total: number }>(),
      });
      const events = new EventBus({
        publisher: instrumentPublisher(broker.publisher(), options),
        topics: topics.stream('shop'),
        source: 'urn:shop:orders',
      });
      const [envelope] = await events.publish(
        OrderPlaced.create({ total: 9.5 }, { aggregateId: 'order-1', correlationId: 'checkout-42' }),
      );
      const [span] = sdk.finished() as [ReadableSpan];
      expect(span.name).toBe('send shop.stream');
      expect(span.attributes).toMatchObject({
        'cloudevents.event_type': 'shop.OrderPlaced',
        'cloudevents.event_id': envelope?.id,
        'cloudevents.event_source': 'urn:shop:orders',
        'cloudevents.event_subject': 'order-1',
        'bus.cqrs.aggregate_id': 'order-1',
        'bus.cqrs.aggregate_type': 'order',
        'messaging.message.conversation_id': 'checkout-42',
      });
    } finally {
      await sdk.shutdown();
    }
  });

  it('an rpc request’s spans carry the route, reply topic and correlation id; the reply its status', async () => {
    const sdk = startTestSdk();
    try {
      const options = { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider };
      await using broker = new MemoryBroker();
      const Quote = defineRoute({
        name: 'billing.quote',
        request: jsonCodec<{ qty: number }>(),
        reply: jsonCodec<{ total: number }>(),
      });
      await using server = new RpcServer({
        publisher: instrumentPublisher(broker.publisher(), options),
        subscriber: broker.subscriber(),
        group: 'billing',
      });
      server.handle(Quote, ({ qty }) => ({ total: qty * 2 }));
      await using client = new RpcClient({
        publisher: instrumentPublisher(broker.publisher(), options),
        subscriber: broker.subscriber(),
      });
      expect(await client.request(Quote, { qty: 2 }, { timeoutMs: 5_000 })).toEqual({ total: 4 });
      const spans = await waitFor(() => (sdk.finished().length === 2 ? sdk.finished() : undefined), 'two send spans');
      const request = spans.find((s) => s.name === `send ${Quote.topic}`);
      const reply = spans.find((s) => s !== request);
      expect(request?.attributes['bus.rpc.route']).toBe(Quote.topic);
      expect(typeof request?.attributes['bus.rpc.reply_to']).toBe('string');
      expect(typeof request?.attributes['messaging.message.conversation_id']).toBe('string');
      expect(reply?.attributes['bus.rpc.status']).toBe('ok');
      expect(reply?.attributes['messaging.message.conversation_id']).toBe(
        request?.attributes['messaging.message.conversation_id'],
      );
    } finally {
      await sdk.shutdown();
    }
  });
});
