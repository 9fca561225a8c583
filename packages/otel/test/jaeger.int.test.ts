// End to end against a real Jaeger (the infra scripts' all-in-one binary): three processes export
// over OTLP/HTTP — one publishes, one consumes and republishes, one consumes — and one trace per
// message must hold all their spans with the right parents and links. The metrics go over OTLP/HTTP
// to the same collector, whose Prometheus endpoint must show exactly the counts of what was sent.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KafkaAdmin } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type JaegerEndpoints, useJaeger } from './support/jaeger.ts';
import { waitFor } from './support/wait.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const COUNT = 5;

let jaeger: JaegerEndpoints & { stop(): Promise<void> };
beforeAll(async () => {
  jaeger = await useJaeger();
}, 1_800_000); // a first run builds Jaeger with Go
afterAll(async () => {
  await jaeger?.stop();
});

interface Node {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
}

function startNode(env: Record<string, string>): Node {
  const child = spawn(process.execPath, ['--import', `${here}support/source-hooks.mjs`, `${here}e2e/chain-node.ts`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code !== 0) process.stderr.write(`[${env.ROLE}] exited with ${code}\n${stderr}\n`);
      resolve(code);
    }),
  );
  return { child, lines, exited };
}

interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  processID: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

async function tracesOf(service: string): Promise<JaegerTrace[]> {
  const url = `${jaeger.query}/api/traces?service=${encodeURIComponent(service)}&limit=100&lookback=1h`;
  const res = await fetch(url);
  if (!res.ok) return [];
  return ((await res.json()) as { data: JaegerTrace[] | null }).data ?? [];
}

interface OtlpSpan {
  service: string;
  name: string;
  spanId: string;
  parentSpanId?: string;
  kind: number;
  links?: { traceId: string; spanId: string }[];
  attributes?: { key: string; value: Record<string, unknown> }[];
}

/** A trace as Jaeger's API v3 returns it (OTLP JSON), flattened to its spans with their service. */
async function otlpTrace(traceId: string): Promise<OtlpSpan[]> {
  const res = await fetch(`${jaeger.query}/api/v3/traces/${traceId}`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    result: {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: Omit<OtlpSpan, 'service'>[] }[];
      }[];
    };
  };
  const spans: OtlpSpan[] = [];
  for (const rs of body.result.resourceSpans) {
    const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
    for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ ...span, service });
  }
  return spans;
}

function attribute(span: OtlpSpan, key: string): unknown {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
}

/** The value of the Prometheus sample `name` whose labels include `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    const have = Object.fromEntries(
      [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

it('one trace per message holds publish → consume+republish → consume across three processes', async () => {
  const run = uniqueName('otel-e2e').replaceAll('-', '_');
  const orders = `${run}.orders`;
  const invoices = `${run}.invoices`;
  const brokers = testInfra().kafka.brokers.join(',');
  {
    await using admin = new KafkaAdmin({ brokers: testInfra().kafka.brokers });
    await admin.ensureTopics([
      { name: orders, partitions: 3, replicationFactor: 1 },
      { name: invoices, partitions: 3, replicationFactor: 1 },
    ]);
  }
  const common = { OTLP_HTTP: jaeger.otlpHttp, BROKERS: brokers, COUNT: String(COUNT) };
  const services = { publisher: `${run}-shop`, relay: `${run}-billing`, sink: `${run}-mailer` };
  const relay = startNode({
    ...common,
    ROLE: 'relay',
    SERVICE_NAME: services.relay,
    FROM_TOPIC: orders,
    TO_TOPIC: invoices,
    GROUP: `${run}-billing`,
  });
  const sink = startNode({
    ...common,
    ROLE: 'sink',
    SERVICE_NAME: services.sink,
    FROM_TOPIC: invoices,
    GROUP: `${run}-mailer`,
  });
  try {
    await waitFor(
      () => relay.lines.includes('ready') && sink.lines.includes('ready'),
      'relay and sink to consume',
      60_000,
    );
    const publisher = startNode({ ...common, ROLE: 'publish', SERVICE_NAME: services.publisher, FROM_TOPIC: orders });
    expect(await publisher.exited).toBe(0);
    expect(await relay.exited).toBe(0);
    expect(await sink.exited).toBe(0);
  } finally {
    relay.child.kill();
    sink.child.kill();
  }

  // Every trace starts at the publisher's send span; poll until Jaeger holds all spans of each.
  const complete = await waitFor(
    async () => {
      const traces = await tracesOf(services.publisher);
      const full = traces.filter((t) => t.spans.length >= 6);
      return full.length === COUNT ? full : undefined;
    },
    `${COUNT} complete traces in Jaeger`,
    30_000,
    250,
  );
  for (const { traceID } of complete) {
    // Jaeger's OTLP view of the trace (API v3): exact parents and links, as the processes exported them.
    const spans = await otlpTrace(traceID);
    const byName = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect(found, `${name} in trace ${traceID}`).toHaveLength(1);
      return found[0] as OtlpSpan;
    };
    expect(spans.map((s) => s.name).sort()).toEqual(
      [
        `ack ${invoices}`,
        `ack ${orders}`,
        `process ${invoices}`,
        `process ${orders}`,
        `send ${invoices}`,
        `send ${orders}`,
      ].sort(),
    );
    const sendOrders = byName(`send ${orders}`);
    const processOrders = byName(`process ${orders}`);
    const ackOrders = byName(`ack ${orders}`);
    const sendInvoices = byName(`send ${invoices}`);
    const processInvoices = byName(`process ${invoices}`);
    const ackInvoices = byName(`ack ${invoices}`);
    expect(
      [sendOrders, processOrders, ackOrders, sendInvoices, processInvoices, ackInvoices].map((s) => s.service),
    ).toEqual([services.publisher, services.relay, services.relay, services.relay, services.sink, services.sink]);
    expect(sendOrders.parentSpanId ?? '').toBe('');
    expect(processOrders.parentSpanId).toBe(sendOrders.spanId);
    expect(ackOrders.parentSpanId).toBe(processOrders.spanId);
    expect(sendInvoices.parentSpanId).toBe(processOrders.spanId);
    expect(processInvoices.parentSpanId).toBe(sendInvoices.spanId);
    expect(ackInvoices.parentSpanId).toBe(processInvoices.spanId);
    // Process spans also link to the producer's span, as the conventions ask.
    expect((processOrders.links ?? []).map((l) => l.spanId)).toEqual([sendOrders.spanId]);
    expect((processInvoices.links ?? []).map((l) => l.spanId)).toEqual([sendInvoices.spanId]);
    // OTLP span kinds: 3 client, 4 producer, 5 consumer.
    expect([sendOrders.kind, processOrders.kind, ackOrders.kind]).toEqual([4, 5, 3]);
    expect(attribute(processOrders, 'messaging.system')).toBe('kafka');
    expect(attribute(processOrders, 'messaging.consumer.group.name')).toBe(`${run}-billing`);
    expect(attribute(processOrders, 'messaging.operation.type')).toBe('process');
    expect(attribute(sendOrders, 'messaging.destination.name')).toBe(orders);
    expect(attribute(sendOrders, 'messaging.kafka.message.key')).toBe(
      attribute(processOrders, 'messaging.kafka.message.key'),
    );
  }
  expect(new Set(complete.map((t) => t.traceID)).size).toBe(COUNT);

  // Metrics: exact counts, as the collector received them over OTLP (final export at SDK shutdown).
  const sent = (text: string, service: string, topic: string) =>
    sample(text, 'messaging_client_sent_messages_total', { service_name: service, messaging_destination_name: topic });
  const consumedFrom = (text: string, service: string, topic: string) => {
    let total = 0;
    for (const partition of ['0', '1', '2']) {
      total +=
        sample(text, 'messaging_client_consumed_messages_total', {
          service_name: service,
          messaging_destination_name: topic,
          messaging_destination_partition_id: partition,
        }) ?? 0;
    }
    return total;
  };
  const metrics = await waitFor(
    async () => {
      const text = await (await fetch(jaeger.prometheus)).text();
      return consumedFrom(text, services.sink, invoices) >= COUNT ? text : undefined;
    },
    'the final metrics of the three processes',
    30_000,
    250,
  );
  expect(sent(metrics, services.publisher, orders)).toBe(COUNT);
  expect(sent(metrics, services.relay, invoices)).toBe(COUNT);
  expect(consumedFrom(metrics, services.relay, orders)).toBe(COUNT);
  expect(consumedFrom(metrics, services.sink, invoices)).toBe(COUNT);
  for (const service of [services.relay, services.sink]) {
    expect(sample(metrics, 'bus_messages_in_flight', { service_name: service })).toBe(0);
  }
  expect(
    sample(metrics, 'messaging_process_duration_seconds_count', {
      service_name: services.relay,
      bus_handler_name: 'relay',
    }),
  ).toBe(COUNT);
  expect(
    sample(metrics, 'messaging_process_duration_seconds_count', {
      service_name: services.sink,
      bus_handler_name: 'sink',
    }),
  ).toBe(COUNT);
  expect(sample(metrics, 'bus_handler_errors_total', { service_name: services.relay })).toBeUndefined();
}, 180_000);
