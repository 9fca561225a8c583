/**
 * The cost of @bus/otel without an SDK, measured in one process: Router runs on the in-memory broker
 * alternate between no instrumentation and routerInstrumentation() (no SDK is ever registered here, so
 * both share the process, its JIT and its heap). Separate processes (otel.bench.ts) see 1.5× swings of
 * wall time between two runs of the same configuration on a shared machine; alternating in one process
 * and comparing medians of many rounds gives the per-message difference with far less noise.
 *
 * Run after `pnpm build`: node bench/no-sdk-ab.ts   (BENCH_MESSAGES default 50 000, BENCH_ROUNDS default 12)
 */
import { loadavg } from 'node:os';
import { createMessage, type Handler, MemoryBroker, type Message, Router } from '@bus/core';
import { routerInstrumentation } from '@bus/otel';

const COUNT = Number(process.env.BENCH_MESSAGES ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const PAYLOAD = new Uint8Array(100).fill(120);

async function once(instrumented: boolean): Promise<{ ms: number; cpuUs: number }> {
  const broker = new MemoryBroker();
  broker.createTopic('in', { partitions: 8 });
  broker.createTopic('out', { partitions: 8 });
  const filler = broker.publisher();
  for (let i = 0; i < COUNT; i += 1_000) {
    const batch: Message[] = [];
    for (let j = i; j < Math.min(COUNT, i + 1_000); j++)
      batch.push(createMessage({ payload: PAYLOAD, key: `key-${j % 1_000}` }));
    await filler.publish('in', ...batch);
  }
  const router = new Router({ ...(instrumented ? routerInstrumentation() : {}), closeTransports: false });
  let seen = 0;
  const all = Promise.withResolvers<void>();
  const handle: Handler = (message) => {
    if (++seen === COUNT) all.resolve();
    return [createMessage({ payload: message.payload, ...(message.key === undefined ? {} : { key: message.key }) })];
  };
  router.addHandler({
    name: 'bench',
    subscribeTopic: 'in',
    subscriber: broker.subscriber(),
    group: 'bench',
    concurrency: 16,
    handle,
    publishTopic: 'out',
    publisher: broker.publisher(),
  });
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const running = router.run();
  await all.promise;
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  await router.close();
  await running;
  await broker.close();
  return { ms, cpuUs: cpu.user + cpu.system };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const loadBefore = loadavg().map((l) => l.toFixed(1));
// A warm-up round of each, not counted.
await once(false);
await once(true);
const none: { ms: number; cpuUs: number }[] = [];
const api: { ms: number; cpuUs: number }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so neither always runs right after the other's garbage.
  if (round % 2 === 0) {
    none.push(await once(false));
    api.push(await once(true));
  } else {
    api.push(await once(true));
    none.push(await once(false));
  }
}
const row = (label: string, runs: { ms: number; cpuUs: number }[]) => ({
  configuration: label,
  'median ms': median(runs.map((r) => r.ms)).toFixed(0),
  'median CPU µs/msg': (median(runs.map((r) => r.cpuUs)) / COUNT).toFixed(2),
  'least CPU µs/msg': (Math.min(...runs.map((r) => r.cpuUs)) / COUNT).toFixed(2),
});
console.log(`in-memory broker, ${COUNT} messages × ${ROUNDS} alternating rounds in one process, no SDK registered`);
console.table([row('no otel', none), row('otel API, no SDK', api)]);
const pairs = none.map((n, i) => (api[i] as { cpuUs: number }).cpuUs / n.cpuUs);
console.log(
  `API-only / no otel: median wall ${(median(none.map((r) => r.ms)) / median(api.map((r) => r.ms))).toFixed(3)}×, ` +
    `median CPU ${(median(none.map((r) => r.cpuUs)) / median(api.map((r) => r.cpuUs))).toFixed(3)}×, ` +
    `median of per-round CPU ratios ${(1 / median(pairs)).toFixed(3)}×; ` +
    `load average ${loadBefore.join(' ')} before, ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} after`,
);
