// Peak memory of consuming with @bus/kafka against raw kafkajs doing the same work, in the same run.
// Workload (issue 9): N × 1 KiB messages, a handler that sleeps 1 ms, 8 at a time, default options.
// Each side runs in a child process of its own, so its peak RSS (maxRSS) is its own.
// Run: pnpm --filter @bus/kafka build && node bench/consume-memory.bench.ts [messages]
// The default is 50,000 messages (about 10 s per side) to keep `pnpm bench` short; the issue's
// workload is 300,000 (about 60 s per side here). Three rounds of raw, then bus, each a fresh process;
// each side's best (lowest peak RSS) run is reported. Writes bench/results/consume-memory-<messages>.json.
// Knobs for investigating: BENCH_OPTIONS (JSON subscriber options for the bus side), BENCH_ROUNDS,
// BENCH_TOPIC (reuse a topic filled by an earlier run), BENCH_SNAPSHOT (heap snapshot path, taken
// half-way), BENCH_DEBUG.
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from '@bus/core';
import { KafkaSubscriber } from '@bus/kafka';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const SIZE = 1024;
const CONCURRENCY = 8;
const PARTITIONS = 6;
const HANDLER_MS = 1;

function brokers(): string[] {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv) return fromEnv.split(',').map((b) => b.trim());
  const file = join(homedir(), '.cache', 'bus', 'infra', 'run', 'connection.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { kafka: { brokers: string[] } }).kafka.brokers;
}

const BROKERS = brokers();
const kafka = new Kafka({
  brokers: BROKERS,
  clientId: 'bench-memory',
  logLevel: process.env.BENCH_DEBUG ? logLevel.INFO : logLevel.NOTHING,
});
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface SideResult {
  side: 'bus' | 'kafkajs';
  messages: number;
  ms: number;
  msgsPerS: number;
  cpuUsPerMsg: number;
  peakRssMb: number;
  /** Peak of the samples of V8's used heap, every 100 ms. */
  peakHeapMb: number;
  /** Peak of the samples of memory outside V8's heap held by buffers (Buffer, ArrayBuffer). */
  peakArrayBuffersMb: number;
}

/** Samples heap and buffer memory; maxRSS comes from the kernel at the end. */
function sampler(): () => { peakHeapMb: number; peakArrayBuffersMb: number } {
  let heap = 0;
  let buffers = 0;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    heap = Math.max(heap, m.heapUsed);
    buffers = Math.max(buffers, m.arrayBuffers);
  }, 100);
  return () => {
    clearInterval(timer);
    return { peakHeapMb: heap / 1_048_576, peakArrayBuffersMb: buffers / 1_048_576 };
  };
}

/** Raw kafkajs: each batch's messages through 8 handler slots of 1 ms, offsets resolved in order. */
async function runRaw(topic: string, count: number): Promise<{ ms: number }> {
  const consumer = kafka.consumer({ groupId: `mem-raw-${topic}-${process.pid}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let first = 0;
  const { promise: done, resolve } = Promise.withResolvers<number>();
  if (process.env.BENCH_DEBUG) setInterval(() => console.error('raw seen', seen), 2000).unref();
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (first === 0) first = performance.now();
      const messages = batch.messages;
      let next = 0;
      const slot = async () => {
        while (next < messages.length) {
          next++;
          await sleep(HANDLER_MS);
          if (++seen === count) resolve(performance.now() - first);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, slot));
      const last = messages[messages.length - 1];
      if (last !== undefined) resolveOffset(last.offset);
      await heartbeat();
    },
  });
  const ms = await done;
  await consumer.disconnect();
  return { ms };
}

/** bus: a Router with concurrency 8 over a KafkaSubscriber with default options. */
async function runBus(topic: string, count: number): Promise<{ ms: number }> {
  const subscriber = new KafkaSubscriber({
    brokers: BROKERS,
    ...(process.env.BENCH_OPTIONS ? JSON.parse(process.env.BENCH_OPTIONS) : {}),
  });
  const router = new Router();
  let seen = 0;
  let first = 0;
  const { promise: done, resolve } = Promise.withResolvers<number>();
  router.addConsumerHandler({
    name: 'sleep',
    subscribeTopic: topic,
    subscriber,
    group: `mem-bus-${topic}-${process.pid}`,
    concurrency: CONCURRENCY,
    handle: async () => {
      if (first === 0) first = performance.now();
      await sleep(HANDLER_MS);
      if (++seen === count) resolve(performance.now() - first);
      if (seen === count / 2 && process.env.BENCH_SNAPSHOT) {
        const v8 = await import('node:v8');
        console.error('snapshot', v8.writeHeapSnapshot(process.env.BENCH_SNAPSHOT));
      }
    },
  });
  const running = router.run();
  const ms = await done;
  await router.close();
  await running;
  return { ms };
}

async function child(side: 'bus' | 'kafkajs', topic: string, count: number): Promise<void> {
  const stop = sampler();
  const cpu0 = process.cpuUsage();
  const { ms } = side === 'bus' ? await runBus(topic, count) : await runRaw(topic, count);
  const cpu = process.cpuUsage(cpu0);
  const peaks = stop();
  const result: SideResult = {
    side,
    messages: count,
    ms: Math.round(ms),
    msgsPerS: Math.round(count / (ms / 1000)),
    cpuUsPerMsg: Number(((cpu.user + cpu.system) / count).toFixed(2)),
    // maxRSS is in KiB.
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    peakHeapMb: Math.round(peaks.peakHeapMb),
    peakArrayBuffersMb: Math.round(peaks.peakArrayBuffersMb),
  };
  process.send?.(result);
  if (process.send === undefined) console.log(JSON.stringify(result));
}

async function fill(count: number): Promise<string> {
  const topic = `bench-memory-${Date.now().toString(36)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.alloc(SIZE, 7);
  for (let start = 0; start < count; start += 5_000) {
    const sends = [];
    for (let b = start; b < Math.min(count, start + 5_000); b += 1_000) {
      const messages = [];
      for (let i = b; i < Math.min(count, b + 1_000); i++) {
        messages.push({ key: `k${i % 64}`, value, headers: { 'bus-message-id': crypto.randomUUID() } });
      }
      sends.push(producer.sendBatch({ acks: 1, topicMessages: [{ topic, messages }] }));
    }
    await Promise.all(sends);
  }
  await producer.disconnect();
  return topic;
}

function runChild(side: 'bus' | 'kafkajs', topic: string, count: number): Promise<SideResult> {
  return new Promise((resolve, reject) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child', side, topic, String(count)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: SideResult | undefined;
    proc.on('message', (message) => {
      result = message as SideResult;
    });
    proc.on('exit', (code) =>
      result !== undefined ? resolve(result) : reject(new Error(`${side} child exited with ${code}`)),
    );
  });
}

if (process.argv[2] === '--child') {
  await child(process.argv[3] as 'bus' | 'kafkajs', process.argv[4] as string, Number(process.argv[5]));
  process.exit(0);
} else {
  const count = Number(process.argv[2] ?? 50_000);
  const topic = process.env.BENCH_TOPIC ?? (await fill(count));
  // Each side reads the whole topic with a group of its own; raw, then bus, in rounds, keeping each
  // side's lowest peak (the same drift in load for both).
  const results: SideResult[] = [];
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  for (let round = 0; round < rounds; round++) {
    results.push(await runChild('kafkajs', topic, count));
    results.push(await runChild('bus', topic, count));
  }
  const best = (side: 'bus' | 'kafkajs') =>
    results.filter((r) => r.side === side).sort((a, b) => a.peakRssMb - b.peakRssMb)[0] as SideResult;
  const bus = best('bus');
  const raw = best('kafkajs');
  const summary = {
    workload: `${count} × ${SIZE} B, handler sleeps ${HANDLER_MS} ms, concurrency ${CONCURRENCY}, ${PARTITIONS} partitions, default options`,
    node: process.version,
    busOptions: process.env.BENCH_OPTIONS ?? 'defaults',
    at: new Date().toISOString(),
    bus,
    kafkajs: raw,
    rssRatio: Number((bus.peakRssMb / raw.peakRssMb).toFixed(2)),
    runs: results,
  };
  console.table(results);
  console.table([bus, raw]);
  console.log(`peak RSS bus/kafkajs: ${summary.rssRatio} (target ≤ 1.2, and bus ≤ 200 MB)`);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `consume-memory-${count}.json`), `${JSON.stringify(summary, null, 2)}\n`);
}
