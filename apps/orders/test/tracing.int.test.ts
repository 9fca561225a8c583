import { KafkaAdmin } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import { main, waitUntil } from '@example/orders';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Jaeger, realJaeger } from './support/jaeger.ts';

interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
}

let jaeger: Jaeger;
beforeAll(async () => {
  jaeger = await realJaeger();
}, 900_000); // a first run builds Jaeger with Go

const VARIABLES = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_SERVICE_NAME'] as const;
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

async function tracesOf(service: string): Promise<JaegerTrace[]> {
  const res = await fetch(`${jaeger.query}/api/traces?service=${encodeURIComponent(service)}&limit=50&lookback=1h`);
  if (!res.ok) return [];
  return ((await res.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

describe('orders app traced into a real Jaeger', () => {
  it('with OTEL_EXPORTER_OTLP_ENDPOINT set, each order is one trace from POST /orders to OrderShipped', async () => {
    const infra = testInfra();
    const service = uniqueName('orders-it');
    const prefix = service.replaceAll('-', '_');
    process.env.KAFKA_BROKERS = infra.kafka.brokers.join(',');
    process.env.SCHEMA_REGISTRY_URL = infra.registry.url;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jaeger.otlpHttp;
    process.env.OTEL_SERVICE_NAME = service;
    const lines: string[] = [];
    // Every 10th order pays by gift card: 4 orders, none dead-lettered, so every trace is complete.
    expect(await main(['--orders', '4', '--prefix', prefix], (line) => lines.push(line))).toBe(0);
    expect(lines[0]).toBe(`orders: tracing to OTLP at ${jaeger.otlpHttp}`);
    expect(lines).toContain('orders: 4 shipped; projection applied 12 events, ignored 0 duplicates, 0 out of order');

    // The SDK flushed at exit; Jaeger indexes what it received asynchronously, so wait until each trace is
    // whole: one root, every other span's parent present, and the 9 handlings of the 3 events (each read by
    // the payments, shipping and projection groups of the stream topic).
    const complete = (trace: JaegerTrace) => {
      const ids = new Set(trace.spans.map((s) => s.spanID));
      const roots = trace.spans.filter((s) => !s.references.some((r) => ids.has(r.spanID)));
      const handlings = trace.spans.filter((s) => s.operationName === `process ${prefix}.stream`).length;
      return roots.length === 1 && roots[0]?.operationName === 'POST /orders' && handlings === 9;
    };
    let traces: JaegerTrace[] = [];
    await waitUntil('Jaeger to hold the 4 orders’ whole traces', async () => {
      traces = (await tracesOf(service)).filter((t) => t.spans.some((s) => s.operationName === 'POST /orders'));
      return traces.length === 4 && traces.every(complete);
    });
    for (const trace of traces) {
      const names = trace.spans.map((s) => s.operationName);
      expect(names.filter((n) => n === `send ${prefix}.commands`)).toHaveLength(1);
      expect(names.filter((n) => n === `process ${prefix}.commands`)).toHaveLength(1);
      // OrderPlaced, OrderPaid, OrderShipped.
      expect(names.filter((n) => n === `send ${prefix}.stream`)).toHaveLength(3);
    }
    // A named prefix keeps its topics: remove them.
    await using admin = new KafkaAdmin({ brokers: infra.kafka.brokers });
    await admin.deleteTopics([
      `${prefix}.stream`,
      `${prefix}.commands`,
      `${prefix}.stream.dlq`,
      `${prefix}.commands.dlq`,
    ]);
  });
});
