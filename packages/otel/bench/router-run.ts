/**
 * One measurement of the @bus/otel benchmark, in a process of its own (the OpenTelemetry globals are
 * per process): `node bench/router-run.ts <memory|kafka> <none|api|tracing|tracing-required|tracing-unsampled|tracing-json|tracing-no-export|tracing-free|metrics> <messages>`.
 * Prints one JSON line: { ms, cpuUs, rssBytes, spans, batches }
 * (batches: produce requests of the forwarding, on Kafka: their size depends on the pace of the handler).
 *
 * The workload: a Router handler consumes a pre-filled topic (8 partitions, 1,000 keys, 100-byte
 * payloads) with concurrency 16 and returns one message per input, which the router forwards to a
 * second topic. The clock runs from `run()` until the handler has seen every message.
 *
 * BENCH_OTEL_ENTRY=<file>: the @bus/otel build to measure instead of this package's dist (an A/B of two builds
 * in one run: copy the other build's dist under this package's node_modules, so its imports resolve the same).
 * BENCH_CPU_PROF=<dir>: writes a V8 CPU profile of that same window (not of the setup) to
 * <dir>/<transport>-<configuration>-<time>.cpuprofile (open it in Chrome DevTools or VS Code).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createMessage,
  type Handler,
  MemoryBroker,
  type Message,
  type Publisher,
  Router,
  type Subscriber,
} from '@bus/core';
import { KafkaAdmin, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import {
  type TracerProvider as ApiTracerProvider,
  context,
  metrics,
  propagation,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  type ExportResult,
  ExportResultCode,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  JsonTraceSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  TracerProvider,
} from '@opentelemetry/sdk-trace';

const [transport, config, countText] = process.argv.slice(2);
const COUNT = Number(countText);
const PARTITIONS = 8;
const KEYS = 1_000;
const PAYLOAD = new Uint8Array(100).fill(120);

/**
 * Serializes every batch as an OTLP/HTTP exporter does and drops the bytes: the CPU cost of exporting
 * stays in the measurement, the network and the collector do not. `http/protobuf` is what the NodeSDK
 * picks by default (OTEL_EXPORTER_OTLP_PROTOCOL unset); `http/json` is the other OTLP/HTTP encoding;
 * `none` serializes nothing, to split instrumentation from export.
 */
class SerializingSpanExporter implements SpanExporter {
  spans = 0;
  readonly #serialize: ((spans: ReadableSpan[]) => unknown) | undefined;
  constructor(encoding: 'protobuf' | 'json' | 'none') {
    this.#serialize =
      encoding === 'protobuf'
        ? (spans) => ProtobufTraceSerializer.serializeRequest(spans)
        : encoding === 'json'
          ? (spans) => JsonTraceSerializer.serializeRequest(spans)
          : undefined;
  }
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans += spans.length;
    this.#serialize?.(spans);
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

class SerializingMetricExporter implements PushMetricExporter {
  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    ProtobufMetricsSerializer.serializeRequest(metrics);
    done({ code: ExportResultCode.SUCCESS });
  }
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

const TRACING = {
  tracing: 'protobuf',
  'tracing-required': 'protobuf',
  'tracing-unsampled': 'protobuf',
  'tracing-json': 'json',
  'tracing-no-export': 'none',
  'tracing-free': 'none',
} as const;
const encoding = TRACING[config as keyof typeof TRACING];
const spanExporter = new SerializingSpanExporter(encoding ?? 'none');
let shutdown = async (): Promise<void> => {};
if (encoding !== undefined) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  const provider = new TracerProvider({
    // 'tracing-unsampled': what the instrumentation costs when the sampler drops every span.
    sampler: config === 'tracing-unsampled' ? new AlwaysOffSampler() : new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor({ exporter: spanExporter })],
  });
  // 'tracing-free': the instrumentation, the propagator and the context manager as in 'tracing', under a
  // tracer whose spans cost nothing (one shared non-recording span with a valid context, so the
  // propagator still writes a traceparent): what @bus/otel itself costs, apart from any SDK's spans.
  trace.setGlobalTracerProvider(config === 'tracing-free' ? freeTracerProvider() : provider);
  shutdown = () => provider.shutdown();
} else if (config === 'metrics') {
  const provider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({ exporter: new SerializingMetricExporter(), exportIntervalMillis: 1_000 }),
    ],
  });
  metrics.setGlobalMeterProvider(provider);
  shutdown = () => provider.shutdown();
} else if (config !== 'none' && config !== 'api') {
  throw new Error(`unknown configuration ${config}`);
}

function freeTracerProvider(): ApiTracerProvider {
  const span = trace.wrapSpanContext({
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: 1,
  });
  const tracer: Tracer = {
    startSpan: () => span,
    startActiveSpan: (() => {
      throw new Error('not used by @bus/otel');
    }) as Tracer['startActiveSpan'],
  };
  return { getTracer: () => tracer };
}

function kafkaBrokers(): string[] {
  if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS.split(',');
  const file = join(process.env.BUS_INFRA_HOME ?? join(homedir(), '.cache/bus/infra'), 'run/connection.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { kafka: { brokers: string[] } }).kafka.brokers;
}

function batchOf(from: number, to: number): Message[] {
  const batch: Message[] = [];
  for (let i = from; i < to; i++) batch.push(createMessage({ payload: PAYLOAD, key: `key-${i % KEYS}` }));
  return batch;
}

interface Setup {
  subscriber: Subscriber;
  publisher: Publisher;
  /** Produce requests the forwarding publisher sent so far (Kafka only). */
  batches(): number;
  input: string;
  output: string;
  close(): Promise<void>;
}

async function memorySetup(): Promise<Setup> {
  const broker = new MemoryBroker();
  broker.createTopic('in', { partitions: PARTITIONS });
  broker.createTopic('out', { partitions: PARTITIONS });
  const filler = broker.publisher();
  for (let i = 0; i < COUNT; i += 1_000) await filler.publish('in', ...batchOf(i, Math.min(COUNT, i + 1_000)));
  return {
    subscriber: broker.subscriber(),
    publisher: broker.publisher(),
    batches: () => 0,
    input: 'in',
    output: 'out',
    close: () => broker.close(),
  };
}

async function kafkaSetup(): Promise<Setup> {
  const brokers = kafkaBrokers();
  const run = `otel-bench-${config}-${Date.now().toString(36)}`;
  const input = `${run}.in`;
  const output = `${run}.out`;
  {
    await using admin = new KafkaAdmin({ brokers });
    await admin.ensureTopics([
      { name: input, partitions: PARTITIONS, replicationFactor: 1 },
      { name: output, partitions: PARTITIONS, replicationFactor: 1 },
    ]);
  }
  const filler = new KafkaPublisher({ brokers });
  const fills: Promise<void>[] = [];
  for (let i = 0; i < COUNT; i += 500) fills.push(filler.publish(input, ...batchOf(i, Math.min(COUNT, i + 500))));
  await Promise.all(fills);
  await filler.close();
  const publisher = new KafkaPublisher({ brokers });
  return {
    subscriber: new KafkaSubscriber({ brokers, fromBeginning: true }),
    publisher,
    batches: () => publisher.stats().batches,
    input,
    output,
    close: async () => {
      await publisher.close();
      await using admin = new KafkaAdmin({ brokers });
      await admin.deleteTopics([input, output]);
    },
  };
}

const { routerInstrumentation } = (await import(
  process.env.BENCH_OTEL_ENTRY ? pathToFileURL(process.env.BENCH_OTEL_ENTRY).href : '@bus/otel'
)) as typeof import('@bus/otel');
const setup = transport === 'kafka' ? await kafkaSetup() : await memorySetup();
const instrumentation =
  config === 'none'
    ? {}
    : routerInstrumentation(config === 'tracing-required' ? { spanAttributes: 'required' } : undefined);
const router = new Router({ ...instrumentation, closeTransports: false });
let seen = 0;
const all = Promise.withResolvers<void>();
const handle: Handler = (message) => {
  if (++seen === COUNT) all.resolve();
  return [createMessage({ payload: message.payload, ...(message.key === undefined ? {} : { key: message.key }) })];
};
router.addHandler({
  name: 'bench',
  subscribeTopic: setup.input,
  subscriber: setup.subscriber,
  group: `bench-${config}`,
  concurrency: 16,
  handle,
  publishTopic: setup.output,
  publisher: setup.publisher,
});
const profileDir = process.env.BENCH_CPU_PROF;
const profiler = profileDir ? new Session() : undefined;
if (profiler !== undefined) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
const cpu0 = process.cpuUsage();
const started = performance.now();
const running = router.run();
await all.promise;
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpu0);
const batches = setup.batches();
if (profiler !== undefined && profileDir !== undefined) {
  const { profile } = await profiler.post('Profiler.stop');
  mkdirSync(profileDir, { recursive: true });
  writeFileSync(join(profileDir, `${transport}-${config}-${Date.now()}.cpuprofile`), JSON.stringify(profile));
  profiler.disconnect();
}
await router.close();
await running;
await shutdown();
await setup.subscriber.close();
await setup.close();
process.stdout.write(
  `${JSON.stringify({ ms, cpuUs: cpu.user + cpu.system, rssBytes: process.resourceUsage().maxRSS * 1024, spans: spanExporter.spans, batches })}\n`,
);
