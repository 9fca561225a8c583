import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { openTransport, postOrder, startOrderService, startTracing, waitUntil } from '@example/orders';
import { describe, expect, it } from 'vitest';

describe('orders app with @bus/otel tracing', () => {
  it('one order is one trace: POST /orders, then send and process spans of the command and of every event', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = startTracing({
      serviceName: 'orders-test',
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
      detectResources: false,
    });
    try {
      await using transport = openTransport({ kind: 'memory' });
      await using service = await startOrderService({ transport, tracing: tracing.instrumentation });
      const orderId = await postOrder(service.url, {
        customerId: 'c-1',
        sku: 'tea-green',
        quantity: 2,
        totalCents: 900,
        payment: 'card',
      });
      await waitUntil('the order to ship', () => service.projection.get(orderId)?.status === 'shipped');
      // Spans are exported once the resource's attributes are known (asynchronously).
      const count = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name).length;
      await waitUntil(
        'the spans of the command and the three events',
        () =>
          count('send shop.stream') === 3 &&
          count('POST /orders') === 1 &&
          count('process shop.commands') === 1 &&
          count('process shop.stream') >= 5,
      );
      const spans = exporter.getFinishedSpans();
      const root = spans.find((s) => s.name === 'POST /orders');
      expect(root?.kind).toBe(SpanKind.SERVER);
      expect(root?.attributes['shop.order_id']).toBe(orderId);
      const trace = spans.filter((s) => s.spanContext().traceId === root?.spanContext().traceId);
      const names = trace.map((s) => s.name);
      // The command and its handling; three events, each handled by its handler and the projection
      // (and skipped by the other groups of the stream topic).
      expect(names.filter((n) => n === 'send shop.commands')).toHaveLength(1);
      expect(names.filter((n) => n === 'process shop.commands')).toHaveLength(1);
      expect(names.filter((n) => n === 'send shop.stream')).toHaveLength(3);
      expect(names.filter((n) => n === 'process shop.stream').length).toBeGreaterThanOrEqual(5);
      expect(trace.filter((s) => s.kind === SpanKind.PRODUCER)).toHaveLength(4);
      // Nothing of this order's handling started a trace of its own.
      expect(
        spans.filter((s) => s.name.startsWith('send ') && s.spanContext().traceId !== root?.spanContext().traceId),
      ).toEqual([]);
    } finally {
      await tracing.shutdown();
    }
  });
});
