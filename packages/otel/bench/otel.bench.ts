/**
 * @bus/otel benchmark: Router throughput (consume → handler → forward) on the in-memory broker and on
 * Kafka, in four configurations, all measured in this run:
 *   - none:    no instrumentation (the baseline);
 *   - api:     routerInstrumentation() with @opentelemetry/api only, no SDK registered;
 *   - tracing: the SDK with always-on sampling and a batch span processor (spans serialized to OTLP/JSON);
 *   - metrics: routerInstrumentation() with a meter provider only (exported every second as OTLP/JSON).
 * Each measurement runs in its own process (router-run.ts): OpenTelemetry's globals are per process,
 * and peak RSS is then per configuration. Configurations alternate within each round; each reports its
 * best round (throughput) and its least CPU per message, as the machine may be shared: on a busy machine
 * the CPU ratio ("CPU vs no otel": baseline CPU / configuration CPU) is the steadier of the two.
 *
 * Run after `pnpm build`: node bench/otel.bench.ts
 *   BENCH_MEMORY_MESSAGES (default 150 000), BENCH_KAFKA_MESSAGES (default 40 000), BENCH_ROUNDS (default 5),
 *   KAFKA_BROKERS (default: the local infra's connection.json)
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const runner = fileURLToPath(new URL('./router-run.ts', import.meta.url));
const CONFIGS = ['none', 'api', 'tracing', 'metrics'] as const;
const LABELS: Record<(typeof CONFIGS)[number], string> = {
  none: 'no otel (baseline)',
  api: 'otel API, no SDK',
  tracing: 'SDK: always-on, batch spans',
  metrics: 'SDK: metrics only',
};
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
const lines: string[] = [];
for (const transport of ['memory', 'kafka'] as const) {
  const messages = SIZES[transport];
  const best = new Map<string, Measurement>();
  const rss = new Map<string, number>();
  const cpu = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const config of CONFIGS) {
      const m = await measure(transport, config, messages);
      const known = best.get(config);
      if (known === undefined || m.ms < known.ms) best.set(config, m);
      rss.set(config, Math.max(rss.get(config) ?? 0, m.rssBytes));
      cpu.set(config, Math.min(cpu.get(config) ?? Number.POSITIVE_INFINITY, m.cpuUs));
    }
  }
  const base = best.get('none') as Measurement;
  const baseRate = messages / (base.ms / 1_000);
  const baseCpu = cpu.get('none') as number;
  const rows = CONFIGS.map((config) => {
    const m = best.get(config) as Measurement;
    const rate = messages / (m.ms / 1_000);
    return {
      configuration: LABELS[config],
      'messages/s': Math.round(rate),
      'vs no otel': (rate / baseRate).toFixed(2),
      'CPU µs/msg': ((cpu.get(config) as number) / messages).toFixed(1),
      'CPU vs no otel': (baseCpu / (cpu.get(config) as number)).toFixed(2),
      'peak RSS MB': Math.round((rss.get(config) as number) / 2 ** 20),
      'spans exported': m.spans,
    };
  });
  const title = `${transport === 'memory' ? 'in-memory broker' : 'Kafka (single broker, loopback)'}: ${messages} messages, 8 partitions, 1,000 keys, concurrency 16, consume → handler → forward; best of ${ROUNDS}`;
  lines.push(title);
  console.log(title);
  console.table(rows);
}
console.log(
  `Node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}, total ${((performance.now() - started) / 1_000).toFixed(0)} s`,
);
