// One table for the driver choice (issue 14): raw kafkajs, raw @platformatic/kafka, and bus on each
// driver, in one run, on one broker, with the same messages (count, 100 B, keyed), topic (6
// partitions), batching (1,000 per request, 5 requests in flight) and acks (all). Every row runs in
// a fresh child process, best of 3, reporting msg/s, CPU µs/msg and peak RSS of that process.
// @confluentinc/kafka-javascript (librdkafka) is a row when it can be imported from here.
// Run: pnpm --filter @bus/kafka build && node bench/drivers.bench.ts [messages] [--only produce|consume|<row>,...]
// (default 300,000 messages, every row). `--only` runs a direction or named rows; ratios are taken only
// against raw rows of the same run. BENCH_CPU_PROF=<dir> writes a --cpu-prof profile per child run.
// "CPU vs own raw driver" is the raw row's least CPU µs/msg over the bus row's (on a loaded machine
// CPU per message moves less than wall time). @confluentinc/kafka-javascript is imported from
// BENCH_CONFLUENT (a path) when set. Writes bench/results/drivers-<messages>.json (with the machine): rows run now replace their entry,
// the others keep theirs, each entry with its run's time and load average.
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, homedir, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMessage, type Message, Router } from '@bus/core';
import { type KafkaDriverName, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import kafkajs from 'kafkajs';

const SIZE = 100;
const PARTITIONS = 6;
const BATCH = 1_000;
const IN_FLIGHT = 5;
const CALLERS = (IN_FLIGHT * BATCH) / 10; // publish() callers of 10 messages: as much outstanding as the raw rows
const REPEATS = 3;
const ID_HEADER = 'bus-message-id';

function brokers(): string[] {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv) return fromEnv.split(',').map((b) => b.trim());
  const file = join(homedir(), '.cache', 'bus', 'infra', 'run', 'connection.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { kafka: { brokers: string[] } }).kafka.brokers;
}
const BROKERS = brokers();

interface CaseResult {
  messages: number;
  ms: number;
  cpuUs: number;
  peakRssMb: number;
}

function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function payload(): Buffer {
  const bytes = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) bytes[i] = (i * 31) & 0xff;
  return bytes;
}

/** Measures `work` (which calls `start()` when the clock should start, e.g. at the first message). */
async function measure(count: number, work: (start: () => void) => Promise<void>): Promise<CaseResult> {
  let t0 = 0;
  let cpu0 = 0;
  const start = () => {
    if (t0 !== 0) return;
    t0 = performance.now();
    cpu0 = cpuNow();
  };
  await work(start);
  const ms = performance.now() - t0;
  const cpuUs = cpuNow() - cpu0;
  return { messages: count, ms, cpuUs, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

// --- the cases, each run in a child process ---

type Case = (topic: string, count: number) => Promise<CaseResult>;

async function rawKafkajsProduce(topic: string, count: number): Promise<CaseResult> {
  const kafka = new kafkajs.Kafka({ brokers: BROKERS, clientId: 'bench', logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  const value = payload();
  const result = await measure(count, async (start) => {
    start();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + BATCH);
        const messages = [];
        for (let i = from; i < next; i++) {
          messages.push({ key: `k${i % 64}`, value, headers: { [ID_HEADER]: crypto.randomUUID() } });
        }
        await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  });
  await producer.disconnect();
  return result;
}

async function rawPlatformaticProduce(topic: string, count: number): Promise<CaseResult> {
  const { Producer, ProduceAcks, stringSerializers } = await import('@platformatic/kafka');
  const producer = new Producer({
    clientId: 'bench',
    bootstrapBrokers: BROKERS,
    serializers: { ...stringSerializers, value: (v?: Buffer) => v },
  });
  await producer.metadata({ topics: [topic] });
  const value = payload();
  const result = await measure(count, async (start) => {
    start();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + BATCH);
        const messages = [];
        for (let i = from; i < next; i++) {
          messages.push({ topic, key: `k${i % 64}`, value, headers: { [ID_HEADER]: crypto.randomUUID() } });
        }
        await producer.send({ acks: ProduceAcks.ALL, messages });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  });
  await producer.close();
  return result;
}

async function busProduce(driver: KafkaDriverName, topic: string, count: number): Promise<CaseResult> {
  const publisher = new KafkaPublisher({ brokers: BROKERS, driver, acks: 'all' });
  await publisher.connect();
  const value = payload();
  const result = await measure(count, async (start) => {
    start();
    let next = 0;
    const caller = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + 10);
        const messages: Message[] = [];
        for (let i = from; i < next; i++) messages.push(createMessage({ payload: value, key: `k${i % 64}` }));
        await publisher.publish(topic, ...messages);
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, caller));
  });
  await publisher.close();
  return result;
}

async function rawKafkajsConsume(topic: string, count: number): Promise<CaseResult> {
  const kafka = new kafkajs.Kafka({ brokers: BROKERS, clientId: 'bench', logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `raw-${crypto.randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const result = await measure(count, async (start) => {
    let seen = 0;
    const { promise, resolve } = Promise.withResolvers<void>();
    await consumer.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset }) => {
        start();
        for (const message of batch.messages) {
          seen++;
          resolveOffset(message.offset);
        }
        if (seen >= count) resolve();
      },
    });
    await promise;
  });
  await consumer.disconnect();
  return result;
}

async function rawPlatformaticConsume(topic: string, count: number): Promise<CaseResult> {
  const { Consumer } = await import('@platformatic/kafka');
  const consumer = new Consumer({
    clientId: 'bench',
    bootstrapBrokers: BROKERS,
    groupId: `raw-${crypto.randomUUID()}`,
    // The fetch size of the other rows (kafkajs's and bus's default). The client's own default asks
    // for up to 50 MB per fetch: it then fetched and parsed the whole topic before its first message,
    // before the clock started, and the row timed only the drain of its in-memory buffer.
    maxBytesPerPartition: 1_048_576,
  });
  // autocommit: committed after every fetch, as the raw kafkajs row commits after every batch.
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true, maxWaitTime: 200 });
  const result = await measure(count, async (start) => {
    let seen = 0;
    for await (const _message of stream) {
      start();
      if (++seen >= count) break;
    }
  });
  await stream.close();
  await consumer.close(true);
  return result;
}

async function busRouterConsume(driver: KafkaDriverName, topic: string, count: number): Promise<CaseResult> {
  const subscriber = new KafkaSubscriber({ brokers: BROKERS, driver });
  const router = new Router();
  let running: Promise<void> | undefined;
  const result = await measure(count, async (start) => {
    let seen = 0;
    const { promise, resolve } = Promise.withResolvers<void>();
    router.addConsumerHandler({
      name: 'noop',
      subscribeTopic: topic,
      subscriber,
      group: `router-${crypto.randomUUID()}`,
      orderBy: 'partition',
      handle: () => {
        start();
        if (++seen === count) resolve();
      },
    });
    running = router.run();
    await promise;
  });
  await router.close();
  await running;
  return result;
}

async function busLoopConsume(driver: KafkaDriverName, topic: string, count: number): Promise<CaseResult> {
  const subscriber = new KafkaSubscriber({ brokers: BROKERS, driver });
  const result = await measure(count, async (start) => {
    let seen = 0;
    for await (const message of subscriber.subscribe(topic, { group: `loop-${crypto.randomUUID()}` })) {
      start();
      message.ack();
      if (++seen === count) break;
    }
  });
  await subscriber.close();
  return result;
}

async function confluentProduce(topic: string, count: number): Promise<CaseResult> {
  const { KafkaJS } = await import(process.env.BENCH_CONFLUENT ?? '@confluentinc/kafka-javascript');
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: BROKERS, logLevel: KafkaJS.logLevel.NOTHING } });
  const producer = kafka.producer({ kafkaJS: { acks: -1 }, 'linger.ms': 5 });
  await producer.connect();
  const value = payload();
  const result = await measure(count, async (start) => {
    start();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + BATCH);
        const messages = [];
        for (let i = from; i < next; i++) {
          messages.push({ key: `k${i % 64}`, value, headers: { [ID_HEADER]: crypto.randomUUID() } });
        }
        await producer.send({ topic, messages });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  });
  await producer.disconnect();
  return result;
}

async function confluentConsume(topic: string, count: number): Promise<CaseResult> {
  const { KafkaJS } = await import(process.env.BENCH_CONFLUENT ?? '@confluentinc/kafka-javascript');
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: BROKERS, logLevel: KafkaJS.logLevel.NOTHING } });
  const consumer = kafka.consumer({ kafkaJS: { groupId: `raw-${crypto.randomUUID()}`, fromBeginning: true } });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  const result = await measure(count, async (start) => {
    let seen = 0;
    const { promise, resolve } = Promise.withResolvers<void>();
    await consumer.run({
      eachBatch: async ({ batch }: { batch: { messages: unknown[] } }) => {
        start();
        seen += batch.messages.length;
        if (seen >= count) resolve();
      },
    });
    await promise;
  });
  await consumer.disconnect();
  return result;
}

const CASES: Record<string, { direction: 'produce' | 'consume'; client: string; bus?: string; run: Case }> = {
  'raw-kafkajs-produce': { direction: 'produce', client: 'kafkajs', run: rawKafkajsProduce },
  'raw-platformatic-produce': { direction: 'produce', client: 'platformatic', run: rawPlatformaticProduce },
  'raw-confluent-produce': { direction: 'produce', client: 'confluent', run: confluentProduce },
  'bus-kafkajs-produce': {
    direction: 'produce',
    client: 'kafkajs',
    bus: 'KafkaPublisher',
    run: (t, n) => busProduce('kafkajs', t, n),
  },
  'bus-platformatic-produce': {
    direction: 'produce',
    client: 'platformatic',
    bus: 'KafkaPublisher',
    run: (t, n) => busProduce('platformatic', t, n),
  },
  'raw-kafkajs-consume': { direction: 'consume', client: 'kafkajs', run: rawKafkajsConsume },
  'raw-platformatic-consume': { direction: 'consume', client: 'platformatic', run: rawPlatformaticConsume },
  'raw-confluent-consume': { direction: 'consume', client: 'confluent', run: confluentConsume },
  'bus-kafkajs-router': {
    direction: 'consume',
    client: 'kafkajs',
    bus: 'Router',
    run: (t, n) => busRouterConsume('kafkajs', t, n),
  },
  'bus-kafkajs-loop': {
    direction: 'consume',
    client: 'kafkajs',
    bus: 'for await',
    run: (t, n) => busLoopConsume('kafkajs', t, n),
  },
  'bus-platformatic-router': {
    direction: 'consume',
    client: 'platformatic',
    bus: 'Router',
    run: (t, n) => busRouterConsume('platformatic', t, n),
  },
  'bus-platformatic-loop': {
    direction: 'consume',
    client: 'platformatic',
    bus: 'for await',
    run: (t, n) => busLoopConsume('platformatic', t, n),
  },
};

// --- child: run one case, report its result on stdout's IPC channel ---

if (process.argv[2] === '--case') {
  const [name, topic, count] = process.argv.slice(3) as [string, string, string];
  try {
    const result = await CASES[name]!.run(topic, Number(count));
    process.send?.({ ok: true, result });
  } catch (error) {
    process.send?.({ ok: false, error: String((error as Error)?.stack ?? error) });
  }
  process.exit(0);
}

// --- parent ---

function runChild(name: string, topic: string, count: number, label: string): Promise<CaseResult | { error: string }> {
  return new Promise((resolve) => {
    const profiles = process.env.BENCH_CPU_PROF;
    const child = fork(fileURLToPath(import.meta.url), ['--case', name, topic, String(count)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: [
        ...process.execArgv,
        ...(profiles ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`, `--cpu-prof-name=${label}.cpuprofile`] : []),
      ],
    });
    let answer: CaseResult | { error: string } = { error: 'child exited without a result' };
    child.on('message', (message: { ok: boolean; result?: CaseResult; error?: string }) => {
      answer = message.ok ? message.result! : { error: message.error! };
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? (args.splice(onlyAt, 2)[1] ?? '').split(',') : undefined;
const count = Number(args[0] ?? 300_000);
const selected = (name: string) => only === undefined || only.includes(name) || only.includes(CASES[name]!.direction);
const admin = new kafkajs.Kafka({ brokers: BROKERS, clientId: 'bench', logLevel: kafkajs.logLevel.NOTHING }).admin();
await admin.connect();
const run = Date.now().toString(36);
const at = new Date().toISOString();
let topics = 0;
async function topic(label: string): Promise<string> {
  const name = `bench-drivers-${label}-${run}-${++topics}`;
  await admin.createTopics({
    topics: [{ topic: name, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  return name;
}

let confluent = 'not tried';
try {
  await import(process.env.BENCH_CONFLUENT ?? '@confluentinc/kafka-javascript');
  confluent = 'installed';
} catch (error) {
  confluent = `not installed here (${String((error as Error).message).split('\n')[0]})`;
}

const names = Object.keys(CASES).filter(
  (name) => selected(name) && (CASES[name]!.client !== 'confluent' || confluent === 'installed'),
);
let consumeTopic: string | undefined;
if (names.some((name) => CASES[name]!.direction === 'consume')) {
  // Filled once with the raw kafkajs producer; every consume row reads all of it from the start.
  consumeTopic = await topic('consume');
  const fill = await runChild('raw-kafkajs-produce', consumeTopic, count, 'fill');
  if ('error' in fill) throw new Error(`filling the consume topic failed: ${fill.error}`);
}

/** One row's runs in one bench run, with the 1-minute load average before each. */
interface RowEntry {
  at: string;
  best?: CaseResult;
  runs: (CaseResult | { error: string })[];
  load1: number[];
}
const results: Record<string, RowEntry> = {};
for (let repeat = 0; repeat < REPEATS; repeat++) {
  // Rows interleave, so every row sees the same drift in load on a shared machine.
  for (const name of names) {
    const target = CASES[name]!.direction === 'produce' ? await topic('produce') : consumeTopic!;
    results[name] ??= { at, runs: [], load1: [] };
    const entry = results[name];
    entry.load1.push(Number(loadavg()[0]!.toFixed(2)));
    const outcome = await runChild(name, target, count, `${name}-${run}-${repeat + 1}`);
    entry.runs.push(outcome);
    if (!('error' in outcome) && (entry.best === undefined || outcome.ms < entry.best.ms)) entry.best = outcome;
    console.error(
      `${name} #${repeat + 1}: ${'error' in outcome ? outcome.error.split('\n')[0] : `${Math.round((outcome.messages / outcome.ms) * 1000)} msg/s`}`,
    );
  }
}
await admin.disconnect();

// Rows not run now keep their earlier entry (a direction can be rerun alone).
const out = join(fileURLToPath(new URL('.', import.meta.url)), 'results');
const file = join(out, `drivers-${count}.json`);
const earlier = existsSync(file)
  ? ((JSON.parse(readFileSync(file, 'utf8')) as { results?: Record<string, Partial<RowEntry>> }).results ?? {})
  : {};
const all: Record<string, RowEntry> = {};
for (const name of Object.keys(CASES)) {
  const entry = results[name] ?? earlier[name];
  if (entry?.runs !== undefined)
    all[name] = {
      at: entry.at ?? 'unknown',
      runs: entry.runs,
      load1: entry.load1 ?? [],
      ...(entry.best ? { best: entry.best } : {}),
    };
}

const rate = (r: CaseResult | undefined) => (r === undefined ? undefined : (r.messages / r.ms) * 1000);
/** A raw row's rate, only when it ran in the same bench run as the row compared with it. */
const baseline = (name: string, direction: string, client: string) => {
  const raw = all[`raw-${client}-${direction}`];
  return raw?.at === all[name]?.at ? rate(raw?.best) : undefined;
};
/** The least CPU per message over a row's runs: on a loaded machine it moves less than wall time. */
const leastCpu = (entry: RowEntry | undefined) => {
  const perMessage = (entry?.runs ?? []).flatMap((r) => ('error' in r ? [] : [r.cpuUs / r.messages]));
  return perMessage.length === 0 ? undefined : Math.min(...perMessage);
};
const table = Object.keys(all).map((name) => {
  const { direction, client, bus } = CASES[name]!;
  const { best, at: runAt, load1 } = all[name]!;
  const perSecond = rate(best);
  const raw = bus === undefined ? undefined : baseline(name, direction, client);
  const rawKafkajs = baseline(name, direction, 'kafkajs');
  const rawEntry = all[`raw-${client}-${direction}`];
  const cpu = leastCpu(all[name]);
  const rawCpu = bus === undefined || rawEntry?.at !== runAt ? undefined : leastCpu(rawEntry);
  return {
    row: name,
    'msg/s': perSecond === undefined ? 'failed' : Math.round(perSecond),
    'vs own raw driver': perSecond === undefined || raw === undefined ? '' : (perSecond / raw).toFixed(2),
    'vs raw kafkajs': perSecond === undefined || rawKafkajs === undefined ? '' : (perSecond / rawKafkajs).toFixed(2),
    'CPU µs/msg': best === undefined ? '' : (best.cpuUs / best.messages).toFixed(2),
    'least CPU µs/msg': cpu === undefined ? '' : cpu.toFixed(2),
    'CPU vs own raw driver': cpu === undefined || rawCpu === undefined ? '' : (rawCpu / cpu).toFixed(2),
    'peak RSS MB': best === undefined ? '' : Math.round(best.peakRssMb),
    load1: load1.join(' '),
    run: runAt,
  };
});
const machine = {
  cpu: cpus()[0]?.model,
  cores: cpus().length,
  memoryGb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  broker: `single local Kafka broker at ${BROKERS.join(',')} (PLAINTEXT), shared machine`,
};
console.log(
  `${count} × ${SIZE} B keyed messages, ${PARTITIONS} partitions, acks all, ${BATCH} per request × ${IN_FLIGHT} in flight ` +
    `(bus: ${CALLERS} publish() callers × 10); every row a fresh process, best of ${REPEATS}; ` +
    `@confluentinc/kafka-javascript: ${confluent}`,
);
console.table(table);
/** Short arrays of numbers on one line, as the repository's formatter (Biome) writes them. */
function inlineNumberArrays(json: string): string {
  return json.replace(
    /\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g,
    (_, numbers: string) => `[${numbers.split(/,\s+/).join(', ')}]`,
  );
}
mkdirSync(out, { recursive: true });
writeFileSync(
  file,
  `${inlineNumberArrays(JSON.stringify({ at, machine, workload: { count, size: SIZE, partitions: PARTITIONS, batch: BATCH, inFlight: IN_FLIGHT, callers: CALLERS, acks: 'all', repeats: REPEATS }, confluent, table, results: all }, null, 2))}\n`,
);
