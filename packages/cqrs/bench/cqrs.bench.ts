// Events/s of publish + handle through @bus/cqrs (EventBus → EventProcessor) against the bare core
// Router with the same codec and broker (a marshaler → publisher.publish, Router.addConsumerHandler
// decoding with the same codec), on the in-memory broker and on the real Kafka broker with each of
// @bus/kafka's drivers (kafkajs, @platformatic/kafka), in one run.
// Every sample runs in a fresh child process (a warm-up pass, then the measured pass), so its CPU
// µs/event and peak RSS are that case's alone; the cases alternate so all see the same drift in load.
// Run: pnpm --filter @bus/cqrs... build && node bench/cqrs.bench.ts (Node 24 strips the types).
// Env: BENCH_EVENTS (20,000), BENCH_REPEATS (3), BENCH_ONLY (comma list of memory, kafkajs,
// platformatic), BENCH_CASES (comma list of cases), BENCH_OUT (results JSON path, default none),
// BENCH_PROFILE_DIR (a CPU profile per sample written there).
// Brokers: KAFKA_BROKERS or the local infra's connection.json; without them the Kafka rows are skipped, said so.
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMarshaler, type Marshaler } from '@bus/codecs';
import { jsonCodec } from '@bus/codecs/json';
import { createMessage, type Message, MemoryBroker, type Publisher, Router, type Subscriber } from '@bus/core';
import { defineEvent, EventBus, EventProcessor, topics } from '@bus/cqrs';
import { type KafkaDriverName, KafkaAdmin, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { z } from 'zod';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const WARM_UP = Math.min(EVENTS, 5_000);
const BATCH = 500;
const AGGREGATES = 100;
const CONCURRENCY = 16;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);

const Order = z.object({
  orderId: z.string(),
  customerId: z.string(),
  currency: z.string(),
  totalCents: z.number().int(),
  itemCount: z.number().int(),
  express: z.boolean(),
  tags: z.array(z.string()),
});
type Order = z.infer<typeof Order>;
const codec = jsonCodec({ schema: Order });
const OrderPlaced = defineEvent({ name: 'OrderPlaced', aggregateType: 'order', schema: codec });
const orderOf = (i: number): Order => ({
  orderId: `order-${i % AGGREGATES}`,
  customerId: 'customer-42',
  currency: 'EUR',
  totalCents: 12_345 + i,
  itemCount: 3,
  express: true,
  tags: ['gift'],
});

type TransportName = 'memory' | KafkaDriverName;
const TRANSPORTS: readonly TransportName[] = ['memory', 'kafkajs', 'platformatic'];

/**
 * `router` is the Router user's usual code (a marshaler, an async handler awaiting `unmarshal`): the
 * issue's baseline. `sync router` calls the same codec's synchronous `decode` in a synchronous
 * handler, the Router's cheapest path. `sync router + ce headers` is the latter with the 8 headers
 * cqrs's envelope puts on this event instead of the marshaler's 3: what the envelope's wire format
 * costs the transport, without cqrs.
 */
const CASES = ['router', 'sync router', 'sync router + ce headers', 'cqrs'] as const;
type CaseName = (typeof CASES)[number];

interface Transport {
  publisher(): Publisher;
  subscriber(): Subscriber;
  topicPrefix(): Promise<string>;
  close(): Promise<void>;
}

function kafkaBrokers(): string[] | undefined {
  if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS.split(',');
  try {
    const file = join(homedir(), '.cache', 'bus', 'infra', 'run', 'connection.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { kafka: { brokers: string[] } }).kafka.brokers;
  } catch {
    return undefined;
  }
}

let runs = 0;
const uniquePrefix = (): string => `bench-cqrs-${Date.now().toString(36)}-${process.pid}-${runs++}`;

function memory(): Transport {
  const broker = new MemoryBroker({ defaultPartitions: 8 });
  return {
    publisher: () => broker.publisher(),
    subscriber: () => broker.subscriber(),
    topicPrefix: async () => uniquePrefix(),
    close: () => broker.close(),
  };
}

/** Both sides with @bus/kafka's defaults, on the given driver. */
function kafka(brokers: string[], driver: KafkaDriverName): Transport {
  const options = { brokers, driver };
  return {
    publisher: () => new KafkaPublisher(options),
    subscriber: () => new KafkaSubscriber(options),
    async topicPrefix() {
      const prefix = uniquePrefix();
      await using admin = new KafkaAdmin({ brokers });
      await admin.ensureTopics([{ name: `${prefix}.OrderPlaced`, partitions: 8, replicationFactor: 1 }]);
      return prefix;
    },
    close: async () => {},
  };
}

interface Sample {
  ms: number;
  cpuUs: number;
  peakRssMb: number;
  loadAvg: number;
}

const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** Publishes `events` in batches, waits until all are handled; times from the first publish. */
async function timed(
  events: number,
  publishBatch: (from: number, size: number) => Promise<void>,
  handled: () => number,
  done: Promise<void>,
): Promise<{ ms: number; cpuUs: number }> {
  const cpu = cpuNow();
  const start = performance.now();
  for (let from = 0; from < events; from += BATCH) await publishBatch(from, Math.min(BATCH, events - from));
  await done;
  const ms = performance.now() - start;
  // At-least-once: a rebalance under load may hand a few messages over twice; fewer would be a loss.
  if (handled() < events) throw new Error(`handled ${handled()} of ${events}`);
  return { ms, cpuUs: cpuNow() - cpu };
}

async function throughCqrs(transport: Transport, events: number): Promise<{ ms: number; cpuUs: number }> {
  const prefix = await transport.topicPrefix();
  const publisher = transport.publisher();
  const bus = new EventBus({ publisher, topics: topics.perType(prefix), source: 'urn:bench' });
  const processor = new EventProcessor({
    subscriber: transport.subscriber(),
    topics: bus.topics,
    groupPrefix: prefix,
    concurrency: CONCURRENCY,
  });
  let count = 0;
  const all = Promise.withResolvers<void>();
  processor.on(OrderPlaced, (event) => {
    if (event.data.totalCents < 0) throw new Error('unreachable');
    if (++count === events) all.resolve();
  });
  void processor.run();
  await processor.router.running;
  try {
    return await timed(
      events,
      (from, size) =>
        bus
          .publish(
            Array.from({ length: size }, (_, i) =>
              OrderPlaced.create(orderOf(from + i), { aggregateId: orderOf(from + i).orderId }),
            ),
          )
          .then(() => {}),
      () => count,
      all.promise,
    );
  } finally {
    await processor.close();
    await publisher.close();
  }
}

async function throughRouter(
  transport: Transport,
  events: number,
  variant: Exclude<CaseName, 'cqrs'>,
): Promise<{ ms: number; cpuUs: number }> {
  const prefix = await transport.topicPrefix();
  const topic = `${prefix}.OrderPlaced`;
  const publisher = transport.publisher();
  const marshaler: Marshaler<Order> = createMarshaler({ codec, type: 'OrderPlaced', key: (order) => order.orderId });
  const router = new Router();
  let count = 0;
  const all = Promise.withResolvers<void>();
  router.addConsumerHandler({
    name: 'orders',
    subscribeTopic: topic,
    subscriber: transport.subscriber(),
    group: `${prefix}.orders`,
    concurrency: CONCURRENCY,
    handle:
      variant === 'router'
        ? async (message) => {
            const order = await marshaler.unmarshal(message);
            if (order.totalCents < 0) throw new Error('unreachable');
            if (++count === events) all.resolve();
          }
        : (message) => {
            const order = codec.decode(message.payload, { topic, role: 'value', headers: message.headers });
            if (order instanceof Promise) throw new Error('the JSON codec decodes synchronously');
            if (order.totalCents < 0) throw new Error('unreachable');
            if (++count === events) all.resolve();
          },
  });
  void router.run();
  await router.running;
  try {
    return await timed(
      events,
      async (from, size) => {
        const messages = await Promise.all(
          Array.from({ length: size }, (_, i) => marshaler.marshal(orderOf(from + i), { topic })),
        );
        await publisher.publish(
          topic,
          ...(variant === 'sync router + ce headers' ? messages.map(withCloudEventsHeaders) : messages),
        );
      },
      () => count,
      all.promise,
    );
  } finally {
    await router.close();
    await publisher.close();
  }
}

/** The marshaled message with the headers cqrs would give it (same names, same kind of values). */
function withCloudEventsHeaders(message: Message): Message {
  return createMessage({
    id: message.id,
    payload: message.payload,
    key: message.key as string,
    headers: {
      ce_specversion: '1.0',
      ce_id: message.id,
      ce_type: 'OrderPlaced',
      ce_source: 'urn:bench',
      ce_time: new Date().toISOString(),
      ce_subject: message.key as string,
      ce_aggregatetype: 'order',
      'content-type': message.headers['content-type'] ?? 'application/json',
    },
  });
}

/** One sample in this (child) process: a warm-up pass, then the measured one. */
async function sample(transportName: TransportName, caseName: CaseName, brokers: string[]): Promise<Sample> {
  const transport = transportName === 'memory' ? memory() : kafka(brokers, transportName);
  const pass = (events: number) =>
    caseName === 'cqrs' ? throughCqrs(transport, events) : throughRouter(transport, events, caseName);
  try {
    await pass(WARM_UP);
    const loadBefore = loadavg()[0] as number;
    const profiler = await startProfile();
    const { ms, cpuUs } = await pass(EVENTS);
    await profiler?.stop(`${transportName}-${caseName.replaceAll(/\W+/g, '-')}`);
    return {
      ms,
      cpuUs,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      loadAvg: Math.max(loadBefore, loadavg()[0] as number),
    };
  } finally {
    await transport.close();
  }
}

/** With BENCH_PROFILE_DIR, a V8 CPU profile of the measured pass (not the start-up or warm-up). */
async function startProfile(): Promise<{ stop(name: string): Promise<void> } | undefined> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(name) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}

function inChild(transportName: TransportName, caseName: CaseName): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--sample', transportName, caseName], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: Sample | undefined;
    child.on('message', (m: { ok: boolean; sample?: Sample; error?: string }) => {
      if (m.ok) result = m.sample;
      else reject(new Error(`${transportName} / ${caseName}: ${m.error}`));
    });
    child.on('exit', (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`${transportName} / ${caseName}: child exited with ${code} and no sample`));
    });
  });
}

const listEnv = <T extends string>(name: string, all: readonly T[]): T[] => {
  const value = process.env[name];
  return value ? (value.split(',').map((s) => s.trim()) as T[]).filter((s) => all.includes(s)) : [...all];
};

if (process.argv[2] === '--sample') {
  const [transportName, caseName] = process.argv.slice(3) as [TransportName, CaseName];
  try {
    const s = await sample(transportName, caseName, kafkaBrokers() ?? []);
    process.send?.({ ok: true, sample: s });
  } catch (error) {
    process.send?.({ ok: false, error: String((error as Error)?.stack ?? error) });
  }
  process.exit(0);
}

const started = performance.now();
const brokers = kafkaBrokers();
let transports = listEnv('BENCH_ONLY', TRANSPORTS);
if (!brokers && transports.some((t) => t !== 'memory')) {
  console.log('no Kafka brokers (KAFKA_BROKERS or connection.json): Kafka rows skipped');
  transports = transports.filter((t) => t === 'memory');
}
const cases = listEnv('BENCH_CASES', CASES);
const samples = new Map<string, Sample[]>();
const loadAverages: number[] = [];
for (const transportName of transports) {
  for (let i = 0; i < REPEATS; i++) {
    for (const caseName of cases) {
      const s = await inChild(transportName, caseName);
      loadAverages.push(s.loadAvg);
      const key = `${transportName}/${caseName}`;
      samples.set(key, [...(samples.get(key) ?? []), s]);
    }
  }
}

const rate = (s: Sample): number => Math.round((EVENTS / s.ms) * 1000);
const best = (list: Sample[]): Sample => list.reduce((a, b) => (b.ms < a.ms ? b : a));
const median = (list: Sample[]): Sample =>
  [...list].sort((a, b) => a.ms - b.ms)[Math.floor((list.length - 1) / 2)] as Sample;
const rows: Record<string, string | number>[] = [];
// Ratios are cqrs over the case: above 1, cqrs is faster; for CPU, the case's µs over cqrs's (above 1, cqrs costs less).
for (const transportName of transports) {
  const of = (caseName: CaseName) => samples.get(`${transportName}/${caseName}`);
  const cqrsSamples = of('cqrs');
  for (const caseName of cases) {
    const list = of(caseName);
    if (list === undefined) continue;
    const b = best(list);
    const ratio = (against: CaseName, pick: (list: Sample[]) => Sample): string => {
      const other = of(against);
      return cqrsSamples && other ? (rate(pick(cqrsSamples)) / rate(pick(other))).toFixed(2) : '';
    };
    const cpu = (list: Sample[]): number => Math.min(...list.map((s) => s.cpuUs)) / EVENTS;
    rows.push({
      broker: transportName === 'memory' ? 'memory' : `kafka/${transportName}`,
      case: caseName,
      'ev/s (best)': rate(b),
      'ev/s (median)': rate(median(list)),
      'ev/s (all)': list.map(rate).join(' '),
      'cqrs / this, best': caseName === 'cqrs' ? '' : ratio(caseName, best),
      'cqrs / this, median': caseName === 'cqrs' ? '' : ratio(caseName, median),
      'CPU µs/ev (least)': cpu(list).toFixed(1),
      'cqrs / this, CPU': caseName === 'cqrs' || !cqrsSamples ? '' : (cpu(list) / cpu(cqrsSamples)).toFixed(2),
      'CPU µs/ev (all)': list.map((s) => (s.cpuUs / EVENTS).toFixed(1)).join(' '),
      'peak RSS MB': Math.round(Math.max(...list.map((s) => s.peakRssMb))),
    });
  }
}
const title = `publish + handle of ${EVENTS} JSON events (zod-validated) over ${AGGREGATES} aggregates, concurrency ${CONCURRENCY}, batches of ${BATCH}; each sample a fresh process (warm-up of ${WARM_UP}, then measured), ${REPEATS} samples per case, cases alternating`;
console.log(title);
console.table(rows);
const load = `load average (1 min) during samples: ${Math.min(...loadAverages).toFixed(1)}-${Math.max(...loadAverages).toFixed(1)}`;
console.log(load);
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
const out = process.env.BENCH_OUT;
if (out) {
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        title,
        machine: {
          cpus: cpus().length,
          cpu: cpus()[0]?.model,
          memoryGb: Math.round(totalmem() / 2 ** 30),
          node: process.version,
        },
        loadAverage: { min: Math.min(...loadAverages), max: Math.max(...loadAverages) },
        rows,
        samples: Object.fromEntries(samples),
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${out}`);
}
