/**
 * @bus/otel benchmark: Router throughput (consume → handler → forward) on the in-memory broker and on
 * Kafka, in four configurations, all measured in this run:
 *   - none:    no instrumentation (the baseline);
 *   - api:     routerInstrumentation() with @opentelemetry/api only, no SDK registered;
 *   - tracing: the SDK with always-on sampling and a batch span processor, spans serialized as the
 *              NodeSDK's default OTLP exporter does (http/protobuf);
 *   - metrics: routerInstrumentation() with a meter provider only (exported every second, protobuf).
 * Five more rows split the cost of full tracing: the spans with only the conventions' Required and
 * Conditionally Required attributes (`spanAttributes: 'required'`), the same spans as "tracing" serialized
 * as OTLP/JSON (the other OTLP/HTTP encoding), not serialized at all (instrumentation and the SDK's span
 * objects, without export), none recorded (an AlwaysOffSampler: the instrumentation, context propagation
 * and the SDK's work for spans it does not record), and no SDK work at all (a tracer whose spans cost
 * nothing: @bus/otel's own wrappers, context propagation and the traceparent header, without the SDK).
 * Each measurement runs in its own process (router-run.ts): OpenTelemetry's globals are per process,
 * and peak RSS is then per configuration. Configurations alternate within each round; each reports its
 * best round (throughput), its median, and its least CPU per message, as the machine may be shared: on
 * a busy machine the CPU ratio ("CPU vs no otel": baseline CPU / configuration CPU) is the steadier one.
 * Results go to bench/results/otel-<transport>-latest.json (every round, the load average before each).
 *
 * Run after `pnpm build`: node bench/otel.bench.ts
 *   BENCH_MEMORY_MESSAGES (default 150 000), BENCH_KAFKA_MESSAGES (default 40 000), BENCH_ROUNDS (default 5),
 *   BENCH_TRANSPORTS (default "memory,kafka"), KAFKA_BROKERS (default: the local infra's connection.json),
 *   BENCH_CONFIGS (default all: "none,api,tracing,metrics,tracing-required,tracing-json,tracing-no-export,tracing-unsampled,tracing-free"; "none" is always run),
 *   BENCH_CPU_PROF=<dir> (a CPU profile of each measured window, see router-run.ts)
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('./router-run.ts', import.meta.url));
const ALL_CONFIGS = [
  'none',
  'api',
  'tracing',
  'metrics',
  'tracing-required',
  'tracing-json',
  'tracing-no-export',
  'tracing-unsampled',
  'tracing-free',
] as const;
const selected = new Set(['none', ...(process.env.BENCH_CONFIGS ?? ALL_CONFIGS.join(',')).split(',')]);
for (const config of selected)
  if (!(ALL_CONFIGS as readonly string[]).includes(config)) throw new Error(`unknown configuration ${config}`);
const CONFIGS = ALL_CONFIGS.filter((config) => selected.has(config));
const LABELS: Record<(typeof ALL_CONFIGS)[number], string> = {
  none: 'no otel (baseline)',
  api: 'otel API, no SDK',
  tracing: 'SDK: always-on, batch spans',
  metrics: 'SDK: metrics only',
  'tracing-required': "(split) tracing, spanAttributes 'required'",
  'tracing-json': '(split) tracing, OTLP/JSON',
  'tracing-no-export': '(split) tracing, no export',
  'tracing-unsampled': '(split) tracing, every span dropped by the sampler',
  'tracing-free': '(split) instrumentation only: a tracer whose spans cost nothing',
};
const TRANSPORTS = (process.env.BENCH_TRANSPORTS ?? 'memory,kafka').split(',') as ('memory' | 'kafka')[];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SIZES = {
  memory: Number(process.env.BENCH_MEMORY_MESSAGES ?? 150_000),
  kafka: Number(process.env.BENCH_KAFKA_MESSAGES ?? 40_000),
};

interface Measurement {
  ms: number;
  cpuUs: number;
  rssBytes: number;
  spans: number;
}

/** One measurement; a run that failed (a busy shared broker timing out a topic creation) is tried again, twice. */
async function measure(transport: string, config: string, messages: number): Promise<Measurement> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measureOnce(transport, config, messages);
    } catch (error) {
      if (attempt === 3) throw error;
      console.error(
        `${transport}/${config}: attempt ${attempt} failed, trying again: ${(error as Error).message.split('\n')[0]}`,
      );
    }
  }
}

function measureOnce(transport: string, config: string, messages: number): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [runner, transport, config, String(messages)],
      { maxBuffer: 1 << 20, timeout: 600_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${transport}/${config} failed: ${error.message}\n${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').at(-1) as string) as Measurement);
      },
    );
  });
}

const started = performance.now();
const load = () => loadavg().map((l) => Number(l.toFixed(1)));
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  rounds: ROUNDS,
  transports: {},
};
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
for (const transport of TRANSPORTS) {
  const messages = SIZES[transport];
  const runs = new Map<string, (Measurement & { load: number[] })[]>(CONFIGS.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const config of CONFIGS) {
      const before = load();
      const m = await measure(transport, config, messages);
      runs.get(config)?.push({ ...m, load: before });
    }
  }
  const of = (config: string) => runs.get(config) as (Measurement & { load: number[] })[];
  const bestMs = (config: string) => Math.min(...of(config).map((m) => m.ms));
  const medianMs = (config: string) => median(of(config).map((m) => m.ms));
  const leastCpu = (config: string) => Math.min(...of(config).map((m) => m.cpuUs));
  const rows = CONFIGS.map((config) => ({
    configuration: LABELS[config],
    'messages/s': Math.round(messages / (bestMs(config) / 1_000)),
    'vs no otel': (bestMs('none') / bestMs(config)).toFixed(2),
    'median vs no otel': (medianMs('none') / medianMs(config)).toFixed(2),
    'CPU µs/msg': (leastCpu(config) / messages).toFixed(1),
    'CPU vs no otel': (leastCpu('none') / leastCpu(config)).toFixed(2),
    'peak RSS MB': Math.round(Math.max(...of(config).map((m) => m.rssBytes)) / 2 ** 20),
    'spans exported': of(config)[0]?.spans ?? 0,
  }));
  const title = `${transport === 'memory' ? 'in-memory broker' : 'Kafka (single broker, loopback)'}: ${messages} messages, 8 partitions, 1,000 keys, concurrency 16, consume → handler → forward; ${ROUNDS} rounds`;
  console.log(title);
  console.table(rows);
  const measured = { title, messages, rows, runs: Object.fromEntries(runs), loadAfter: load() };
  (results.transports as Record<string, unknown>)[transport] = measured;
  // Written after each transport, so a long run that is stopped keeps what it measured.
  writeFileSync(
    new URL(`./results/otel-${transport}-latest.json`, import.meta.url),
    `${JSON.stringify({ ...results, transports: { [transport]: measured } }, null, 2)}\n`,
  );
}
const summary = `Node ${process.version}, load average ${load().join(' ')}, total ${((performance.now() - started) / 1_000).toFixed(0)} s`;
console.log(summary);
