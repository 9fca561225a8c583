/**
 * In-memory router throughput. Run after `pnpm --filter @bus/core build`:
 *   node bench/router.bench.ts            (BENCH_MESSAGES=20000 BENCH_RUNS=1 for a quick run)
 * Every scenario consumes the same pre-published topic shape (8 partitions, 1,000 keys), so the
 * figures compare with the raw subscribe-and-ack baseline measured in the same run.
 */
import {
  correlationId,
  type Handler,
  MemoryBroker,
  type Message,
  type Middleware,
  Router,
  retry,
  textMessage,
  timeout,
} from '@bus/core';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
/** Each scenario runs this often and reports its best run: the machine may be shared and noisy. */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const KEYS = 1_000;
const PARTITIONS = 8;

interface Row {
  scenario: string;
  messages: number;
  seconds: string;
  'messages/s': string;
  'vs baseline': string;
}

async function fill(broker: MemoryBroker, topic: string, count: number): Promise<void> {
  broker.createTopic(topic, { partitions: PARTITIONS });
  const publisher = broker.publisher();
  for (let offset = 0; offset < count; offset += 1_000) {
    const batch: Message[] = [];
    for (let i = offset; i < Math.min(count, offset + 1_000); i++) {
      batch.push(textMessage(String(i), { key: `key-${i % KEYS}` }));
    }
    await publisher.publish(topic, ...batch);
  }
}

/** Raw transport cost: subscribe and ack every message, no router. */
async function baseline(count: number): Promise<number> {
  await using broker = new MemoryBroker();
  await fill(broker, 'baseline', count);
  const started = performance.now();
  let seen = 0;
  for await (const message of broker.subscriber().subscribe('baseline', { group: 'bench' })) {
    message.ack();
    if (++seen === count) break;
  }
  return performance.now() - started;
}

async function throughRouter(count: number, concurrency: number, middleware: Middleware[]): Promise<number> {
  await using broker = new MemoryBroker();
  await fill(broker, 'routed', count);
  const router = new Router();
  let seen = 0;
  let resolve = (): void => {};
  const allHandled = new Promise<void>((r) => {
    resolve = r;
  });
  const handle: Handler = () => {
    if (++seen === count) resolve();
  };
  router.addConsumerHandler({
    name: 'bench',
    subscribeTopic: 'routed',
    subscriber: broker.subscriber(),
    group: 'bench',
    concurrency,
    middleware,
    handle,
  });
  const started = performance.now();
  const run = router.run();
  await allHandled;
  const elapsed = performance.now() - started;
  await router.close();
  await run;
  return elapsed;
}

const stack = (): Middleware[] => [
  retry({ maxRetries: 3, initialIntervalMs: 10 }),
  correlationId(),
  timeout({ timeoutMs: 5_000 }),
];

async function best(measure: () => Promise<number>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let run = 0; run < RUNS; run++) fastest = Math.min(fastest, await measure());
  return fastest;
}

async function main(): Promise<void> {
  // Warm up the JIT on every path before measuring.
  await baseline(5_000);
  await throughRouter(5_000, 16, stack());

  const rows: Row[] = [];
  const baseMs = await best(() => baseline(MESSAGES));
  const baseRate = MESSAGES / (baseMs / 1_000);
  const add = (scenario: string, ms: number): void => {
    const rate = MESSAGES / (ms / 1_000);
    rows.push({
      scenario,
      messages: MESSAGES,
      seconds: (ms / 1_000).toFixed(2),
      'messages/s': Math.round(rate).toLocaleString('en-US'),
      'vs baseline': `${((rate / baseRate) * 100).toFixed(0)} %`,
    });
  };
  add('baseline: subscribe + ack (no router)', baseMs);
  add('router, concurrency 1', await best(() => throughRouter(MESSAGES, 1, [])));
  add('router, concurrency 16', await best(() => throughRouter(MESSAGES, 16, [])));
  add('router + retry/correlationId/timeout, concurrency 1', await best(() => throughRouter(MESSAGES, 1, stack())));
  add('router + retry/correlationId/timeout, concurrency 16', await best(() => throughRouter(MESSAGES, 16, stack())));
  console.log(
    `@bus/core router benchmark (Node ${process.version}, ${PARTITIONS} partitions, ${KEYS} keys, best of ${RUNS} runs)`,
  );
  console.table(rows);
}

await main();
