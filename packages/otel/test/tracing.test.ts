import { deadLetter, MemoryBroker, payloadText, type ReceivedMessage, Router, retry, textMessage } from '@bus/core';
import { instrumentPublisher, type OtelOptions, recordRetry, routerInstrumentation } from '@bus/otel';
import { context, propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestSdk, type TestSdk } from './support/sdk.ts';
import { waitFor } from './support/wait.ts';

let sdk: TestSdk;
let options: OtelOptions;
beforeEach(() => {
  sdk = startTestSdk();
  options = { tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider, settleSpans: 'all' };
});
afterEach(async () => {
  await sdk.shutdown();
});

function spanNamed(spans: readonly ReadableSpan[], name: string): ReadableSpan {
  const found = spans.filter((s) => s.name === name);
  expect(found, `spans named "${name}" among ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
  return found[0] as ReadableSpan;
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** publish → consume (orders) → handler → republish (invoices) → consume, on the in-memory broker. */
async function runChain(
  otel: OtelOptions,
  handle: (message: ReceivedMessage) => ReturnType<Parameters<Router['addHandler']>[0]['handle']> = (message) => [
    textMessage(`invoice for ${message.id}`, { key: 'customer-7' }),
  ],
  extraSpans = 0,
) {
  const broker = new MemoryBroker();
  const instrumentation = routerInstrumentation(otel);
  const router = new Router({ ...instrumentation });
  const received: ReceivedMessage[] = [];
  router.addHandler({
    name: 'billing',
    subscribeTopic: 'orders',
    subscriber: broker.subscriber(),
    group: 'billing',
    handle,
    publishTopic: 'invoices',
    publisher: broker.publisher(),
  });
  router.addConsumerHandler({
    name: 'mailer',
    subscribeTopic: 'invoices',
    subscriber: broker.subscriber(),
    group: 'mailer',
    handle: (message) => {
      received.push(message);
    },
  });
  const running = router.run();
  await router.running;
  const publisher = instrumentPublisher(broker.publisher(), otel);
  await publisher.publish('orders', textMessage('order 1', { key: 'customer-7', headers: { ce_type: 'OrderPlaced' } }));
  // send, process, ack (orders) + send, process, ack (invoices)
  await waitFor(() => sdk.finished().length >= 6 + extraSpans, 'the spans of the chain');
  await router.close();
  await running;
  await broker.close();
  return { received, spans: sdk.finished() };
}

describe('tracing a publish → process → republish → process chain', () => {
  it('emits send/process/settle spans with the conventions names, kinds, attributes and parents', async () => {
    const { received, spans } = await runChain(options);
    expect(received).toHaveLength(1);
    const sendOrders = spanNamed(spans, 'send orders');
    const processOrders = spanNamed(spans, 'process orders');
    const ackOrders = spanNamed(spans, 'ack orders');
    const sendInvoices = spanNamed(spans, 'send invoices');
    const processInvoices = spanNamed(spans, 'process invoices');
    const ackInvoices = spanNamed(spans, 'ack invoices');

    expect(sendOrders.kind).toBe(SpanKind.PRODUCER);
    expect(processOrders.kind).toBe(SpanKind.CONSUMER);
    expect(ackOrders.kind).toBe(SpanKind.CLIENT);
    expect(sendInvoices.kind).toBe(SpanKind.PRODUCER);
    expect(processInvoices.kind).toBe(SpanKind.CONSUMER);

    // One trace; each span's parent is the one before it, and process spans link to their producer.
    const traceId = sendOrders.spanContext().traceId;
    for (const span of spans) expect(span.spanContext().traceId).toBe(traceId);
    expect(parentOf(sendOrders)).toBeUndefined();
    expect(parentOf(processOrders)).toBe(sendOrders.spanContext().spanId);
    expect(processOrders.links.map((l) => l.context.spanId)).toEqual([sendOrders.spanContext().spanId]);
    expect(parentOf(ackOrders)).toBe(processOrders.spanContext().spanId);
    expect(parentOf(sendInvoices)).toBe(processOrders.spanContext().spanId);
    expect(parentOf(processInvoices)).toBe(sendInvoices.spanContext().spanId);
    expect(parentOf(ackInvoices)).toBe(processInvoices.spanContext().spanId);

    expect(sendOrders.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.kafka.message.key': 'customer-7',
      'cloudevents.event_type': 'OrderPlaced',
    });
    expect(typeof sendOrders.attributes['messaging.message.id']).toBe('string');
    expect(processOrders.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.consumer.group.name': 'billing',
      'messaging.destination.partition.id': '0',
      'messaging.kafka.offset': 0,
      'messaging.kafka.message.key': 'customer-7',
      'messaging.message.id': sendOrders.attributes['messaging.message.id'],
      'bus.handler.name': 'billing',
    });
    // Only redeliveries say their attempt; body size is Opt-In in the conventions and left out.
    expect(processOrders.attributes['bus.delivery.attempt']).toBeUndefined();
    expect(processOrders.attributes['messaging.message.body.size']).toBeUndefined();
    expect(ackOrders.attributes).toMatchObject({
      'messaging.operation.type': 'settle',
      'messaging.operation.name': 'ack',
      'messaging.destination.name': 'orders',
    });
    expect(processInvoices.attributes['messaging.consumer.group.name']).toBe('mailer');
    for (const span of spans) expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
    // The message the consumer got carries W3C trace context of the send span that published it.
    expect(received[0]?.headers.traceparent).toBe(`00-${traceId}-${sendInvoices.spanContext().spanId}-01`);
  });

  it('with spanAttributes "required", spans keep the Required and Conditionally Required attributes only', async () => {
    const { spans } = await runChain({ ...options, spanAttributes: 'required' });
    const sendOrders = spanNamed(spans, 'send orders');
    const processOrders = spanNamed(spans, 'process orders');
    expect(sendOrders.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      // What the headers say stays: it is absent when there are no such headers.
      'cloudevents.event_type': 'OrderPlaced',
    });
    expect(processOrders.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.consumer.group.name': 'billing',
      'cloudevents.event_type': 'OrderPlaced',
    });
    // The trace structure does not change.
    expect(parentOf(processOrders)).toBe(sendOrders.spanContext().spanId);
    expect(processOrders.links.map((l) => l.context.spanId)).toEqual([sendOrders.spanContext().spanId]);
    expect(parentOf(spanNamed(spans, 'send invoices'))).toBe(processOrders.spanContext().spanId);
  });

  it('counts the semantic-convention metrics exactly', async () => {
    await runChain(options);
    const sent = await sdk.points('messaging.client.sent.messages');
    expect(sent.map((p) => [p.attributes['messaging.destination.name'], p.value]).sort()).toEqual([
      ['invoices', 1],
      ['orders', 1],
    ]);
    const consumed = await sdk.points('messaging.client.consumed.messages');
    expect(consumed.map((p) => [p.attributes['messaging.destination.name'], p.value]).sort()).toEqual([
      ['invoices', 1],
      ['orders', 1],
    ]);
    const processed = await sdk.points('messaging.process.duration');
    expect(
      processed.map((p) => [p.attributes['bus.handler.name'], (p.value as { count: number }).count]).sort(),
    ).toEqual([
      ['billing', 1],
      ['mailer', 1],
    ]);
    const operations = await sdk.points('messaging.client.operation.duration');
    expect(operations.reduce((n, p) => n + (p.value as { count: number }).count, 0)).toBe(2);
    const inFlight = await sdk.points('bus.messages.in_flight');
    expect(inFlight.map((p) => p.value)).toEqual([0, 0]);
  });

  it('with producerContext "link", the process span starts a trace of its own and links to the producer', async () => {
    const { spans } = await runChain({ ...options, producerContext: 'link' });
    const sendOrders = spanNamed(spans, 'send orders');
    const processOrders = spanNamed(spans, 'process orders');
    expect(parentOf(processOrders)).toBeUndefined();
    expect(processOrders.spanContext().traceId).not.toBe(sendOrders.spanContext().traceId);
    expect(processOrders.links.map((l) => l.context.spanId)).toEqual([sendOrders.spanContext().spanId]);
  });
});

describe('failures, retries and dead letters', () => {
  it('records a retry as a span event and a handler failure as an exception with error.type, without wiring', async () => {
    const broker = new MemoryBroker();
    const router = new Router({ ...routerInstrumentation(options) });
    let calls = 0;
    router.addConsumerHandler({
      name: 'flaky',
      subscribeTopic: 'jobs',
      subscriber: broker.subscriber(),
      group: 'workers',
      // No onRetry: tracing() hears core's retry through the handler context.
      middleware: [retry({ maxRetries: 1, initialIntervalMs: 0 })],
      handle: () => {
        calls++;
        // Fails twice (first attempt + its retry), then succeeds on the redelivery.
        if (calls <= 2) throw new Error(`boom ${calls}`);
      },
    });
    const running = router.run();
    await router.running;
    await instrumentPublisher(broker.publisher(), options).publish('jobs', textMessage('job'));
    await waitFor(
      () =>
        sdk.finished().filter((s) => s.name === 'process jobs').length === 2 &&
        sdk.finished().some((s) => s.name === 'ack jobs'),
      'two process spans',
    );
    await router.close();
    await running;
    await broker.close();
    const [failed, succeeded] = sdk.finished().filter((s) => s.name === 'process jobs');
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed?.attributes['error.type']).toBe('Error');
    expect(failed?.events.map((e) => e.name)).toEqual(['bus.retry', 'exception']);
    expect(failed?.events[0]?.attributes).toMatchObject({ 'bus.retry.number': 1, 'exception.message': 'boom 1' });
    expect(failed?.events[1]?.attributes?.['exception.message']).toBe('boom 2');
    expect(succeeded?.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(succeeded?.attributes['bus.delivery.attempt']).toBe(2);
    const nack = spanNamed(sdk.finished(), 'nack jobs');
    expect(parentOf(nack)).toBe(failed?.spanContext().spanId);
    expect((await sdk.points('bus.handler.retries')).map((p) => p.value)).toEqual([1]);
    const errors = await sdk.points('bus.handler.errors');
    expect(errors.map((p) => [p.attributes['error.type'], p.value])).toEqual([['Error', 1]]);
  });

  it('records dead-lettering on the process span, sends the dead letter under it, and counts it', async () => {
    const broker = new MemoryBroker();
    const instrumentation = routerInstrumentation(options);
    const router = new Router({ ...instrumentation });
    router.addConsumerHandler({
      name: 'poison',
      subscribeTopic: 'payments',
      subscriber: broker.subscriber(),
      group: 'payers',
      middleware: [
        deadLetter({ publisher: instrumentation.instrumentPublisher(broker.publisher()), topic: 'payments.dlq' }),
      ],
      handle: () => {
        throw new TypeError('bad payment');
      },
    });
    const running = router.run();
    await router.running;
    await instrumentPublisher(broker.publisher(), options).publish('payments', textMessage('p'));
    await waitFor(() => sdk.finished().some((s) => s.name === 'ack payments'), 'the ack of the dead-lettered message');
    await router.close();
    await running;
    await broker.close();
    const spans = sdk.finished();
    const processSpan = spanNamed(spans, 'process payments');
    const sendDlq = spanNamed(spans, 'send payments.dlq');
    expect(parentOf(sendDlq)).toBe(processSpan.spanContext().spanId);
    expect(processSpan.events.map((e) => e.name)).toEqual(['bus.dead_letter']);
    expect(processSpan.events[0]?.attributes).toMatchObject({
      'exception.type': 'TypeError',
      'exception.message': 'bad payment',
    });
    const deadLettered = await sdk.points('bus.messages.dead_lettered');
    expect(
      deadLettered.map((p) => [
        p.attributes['messaging.destination.name'],
        p.attributes['messaging.consumer.group.name'],
        p.value,
      ]),
    ).toEqual([['payments', 'payers', 1]]);
  });

  it('records retries and the dead letter of an uninstrumented dead-letter publisher by itself, each once', async () => {
    const broker = new MemoryBroker();
    const router = new Router({ ...routerInstrumentation(options) });
    router.addConsumerHandler({
      name: 'hopeless',
      subscribeTopic: 'refunds',
      subscriber: broker.subscriber(),
      group: 'refunders',
      middleware: [
        deadLetter({ publisher: broker.publisher(), topic: 'refunds.dlq' }),
        // Also wired by hand, the old way: still counted once.
        retry({ maxRetries: 2, initialIntervalMs: 0, onRetry: (event) => recordRetry(event, options) }),
      ],
      handle: () => {
        throw new RangeError('no such refund');
      },
    });
    const running = router.run();
    await router.running;
    await instrumentPublisher(broker.publisher(), options).publish('refunds', textMessage('r'));
    await waitFor(() => sdk.finished().some((s) => s.name === 'process refunds'), 'the process span');
    await router.close();
    await running;
    await broker.close();
    const processSpan = spanNamed(sdk.finished(), 'process refunds');
    expect(processSpan.events.map((e) => e.name)).toEqual(['bus.retry', 'bus.retry', 'bus.dead_letter']);
    expect(processSpan.events.map((e) => e.attributes?.['bus.retry.number'])).toEqual([1, 2, undefined]);
    expect(processSpan.events[2]?.attributes).toMatchObject({
      'exception.type': 'RangeError',
      'exception.message': 'no such refund',
    });
    const retries = await sdk.points('bus.handler.retries');
    expect(
      retries.map((p) => [p.attributes['messaging.consumer.group.name'], p.attributes['error.type'], p.value]),
    ).toEqual([['refunders', 'RangeError', 2]]);
    const deadLettered = await sdk.points('bus.messages.dead_lettered');
    expect(deadLettered.map((p) => [p.attributes['messaging.destination.name'], p.value])).toEqual([['refunds', 1]]);
  });

  it('a batch publish writes the send span’s context and the baggage into every message, keeping each one’s headers', async () => {
    await using broker = new MemoryBroker();
    broker.createTopic('payments', { partitions: 1 });
    const publisher = instrumentPublisher(broker.publisher(), options);
    const batch = [
      textMessage('p1', { headers: { tenant: 'a' } }),
      textMessage('p2', { headers: { tenant: 'b', traceparent: 'stale' } }),
    ];
    const withBaggage = propagation.setBaggage(
      context.active(),
      propagation.createBaggage({ region: { value: 'eu' } }),
    );
    await context.with(withBaggage, () => publisher.publish('payments', ...batch));
    const send = spanNamed(sdk.finished(), 'send payments');
    expect(send.attributes['messaging.batch.message_count']).toBe(2);
    const received = await take(broker.subscriber().subscribe('payments', { group: 'check' }), 2);
    const traceparent = `00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`;
    expect(received.map((m) => [payloadText(m), m.headers.tenant, m.headers.traceparent, m.headers.baggage])).toEqual([
      ['p1', 'a', traceparent, 'region=eu'],
      ['p2', 'b', traceparent, 'region=eu'],
    ]);
    // The caller's messages are left as they were.
    expect(batch.map((m) => m.headers.traceparent)).toEqual([undefined, 'stale']);
  });
});

async function take(messages: AsyncIterable<ReceivedMessage>, count: number): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  for await (const message of messages) {
    message.ack();
    out.push(message);
    if (out.length === count) break;
  }
  return out;
}
