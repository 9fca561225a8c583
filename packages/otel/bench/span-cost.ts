/**
 * What one message's spans cost in the SDK alone, by shape: the `process` span (CONSUMER, child of and
 * linked to the producer) and the `send` span of its forwarding (PRODUCER), recorded by a `TracerProvider`
 * with always-on sampling and a batch span processor, and serialized as OTLP http/protobuf (dropped
 * after). No transport, no router: this isolates the cost of the attributes, links and API calls that
 * `@bus/otel` chooses, to pick the cheapest equivalent. Variants alternate, each measured in rounds.
 *
 * Run: node bench/span-cost.ts [messages per round, default 50 000] [rounds, default 5]
 * Prints least CPU µs per message (both spans) for each variant.
 */
import {
  type Attributes,
  type Context,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

const MESSAGES = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 5);

class Serializing implements SpanExporter {
  spans = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans += spans.length;
    ProtobufTraceSerializer.serializeRequest(spans);
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

const exporter = new Serializing();
const provider = new TracerProvider({
  sampler: new AlwaysOnSampler(),
  spanProcessors: [new BatchSpanProcessor({ exporter })],
});
const tracer = provider.getTracer('@bus/otel');

const producer: SpanContext = {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: 1,
  isRemote: true,
};
const producerContext = trace.setSpanContext(ROOT_CONTEXT, producer);

const start = (operation: 'process' | 'send'): Attributes => ({
  'messaging.system': 'kafka',
  'messaging.destination.name': operation === 'process' ? 'orders.in' : 'orders.out',
  'messaging.operation.type': operation,
  'messaging.operation.name': operation,
  ...(operation === 'process' ? { 'messaging.consumer.group.name': 'bench-group' } : {}),
});
const PROCESS_START = Object.freeze(start('process'));
const SEND_START = Object.freeze(start('send'));
const id = (i: number) => `0193a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, '0')}`;

/** The `recommended` attributes of one message's process span, beyond the start ones. */
function setProcessRest(span: Span, i: number): void {
  span.setAttribute('messaging.destination.partition.id', String(i & 7));
  span.setAttribute('messaging.kafka.offset', i);
  span.setAttribute('messaging.message.id', id(i));
  span.setAttribute('bus.handler.name', 'bench');
  span.setAttribute('messaging.kafka.message.key', `key-${i % 1000}`);
}
function setSendRest(span: Span, i: number): void {
  span.setAttribute('messaging.message.id', id(i));
  span.setAttribute('messaging.kafka.message.key', `key-${i % 1000}`);
}

type Shape = 'all in startSpan' | 'start + setAttribute' | 'required only';

async function run(shape: Shape, link: boolean): Promise<void> {
  for (let i = 0; i < MESSAGES; i++) {
    // Let the batch processor export between chunks, as it does between messages in a real run: in one
    // synchronous loop its queue (2,048) would fill and drop spans.
    if ((i & 255) === 0) await new Promise(setImmediate);
    const links = link ? [{ context: producer }] : NO_LINKS;
    const parent = link ? producerContext : ROOT_CONTEXT;
    let processSpan: Span;
    let sendSpan: Span;
    if (shape === 'all in startSpan') {
      const attributes: Attributes = { ...PROCESS_START };
      attributes['messaging.destination.partition.id'] = String(i & 7);
      attributes['messaging.kafka.offset'] = i;
      attributes['messaging.message.id'] = id(i);
      attributes['bus.handler.name'] = 'bench';
      attributes['messaging.kafka.message.key'] = `key-${i % 1000}`;
      processSpan = tracer.startSpan('process orders.in', { kind: SpanKind.CONSUMER, links, attributes }, parent);
      const processContext: Context = trace.setSpan(parent, processSpan);
      const sendAttributes: Attributes = { ...SEND_START };
      sendAttributes['messaging.message.id'] = id(i);
      sendAttributes['messaging.kafka.message.key'] = `key-${i % 1000}`;
      sendSpan = tracer.startSpan(
        'send orders.out',
        { kind: SpanKind.PRODUCER, attributes: sendAttributes },
        processContext,
      );
    } else {
      processSpan = tracer.startSpan(
        'process orders.in',
        { kind: SpanKind.CONSUMER, links, attributes: PROCESS_START },
        parent,
      );
      if (shape === 'start + setAttribute') setProcessRest(processSpan, i);
      const processContext: Context = trace.setSpan(parent, processSpan);
      sendSpan = tracer.startSpan(
        'send orders.out',
        { kind: SpanKind.PRODUCER, attributes: SEND_START },
        processContext,
      );
      if (shape === 'start + setAttribute') setSendRest(sendSpan, i);
    }
    sendSpan.end();
    processSpan.end();
  }
}
const NO_LINKS: Link[] = [];

const VARIANTS: Record<string, () => Promise<void>> = {};
for (const link of [false, true])
  for (const shape of ['all in startSpan', 'start + setAttribute', 'required only'] as const)
    VARIANTS[`${shape}, ${link ? 'linked to a producer' : 'no producer (a root span)'}`] = () => run(shape, link);

const least = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, variant] of Object.entries(VARIANTS)) {
    await provider.forceFlush();
    const cpu0 = process.cpuUsage();
    const exported = exporter.spans;
    await variant();
    await provider.forceFlush();
    if (exporter.spans - exported !== 2 * MESSAGES)
      throw new Error(`${name}: ${exporter.spans - exported} spans exported`);
    const cpu = process.cpuUsage(cpu0);
    const us = (cpu.user + cpu.system) / MESSAGES;
    least.set(name, Math.min(least.get(name) ?? Number.POSITIVE_INFINITY, us));
  }
}
for (const [name, us] of least) console.log(`${us.toFixed(2).padStart(7)} µs/msg  ${name}`);
await provider.shutdown();
