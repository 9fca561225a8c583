// CPU per message of bus's own publish path, without a broker: KafkaPublisher on driver
// 'platformatic' over a stand-in client that answers every send at once (bench/support/
// idle-platformatic.ts), against the same stand-in called the raw way (1,000 messages per send, 5
// sends in flight, one UUID header each) in the same process. What is left between the two is
// bus: message creation, validation, records, the send queue, the acknowledgement check. The
// driver bench (drivers.bench.ts) measures the same path on the real broker and clients.
// Run: pnpm --filter @bus/kafka build && node bench/publish-cpu.bench.ts [messages]   (default 300,000)
// Writes bench/results/publish-cpu.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const STAND_IN = new URL('./support/idle-platformatic.ts', import.meta.url).href;
registerHooks({
  resolve: (specifier, context, next) =>
    specifier === '@platformatic/kafka' ? { url: STAND_IN, shortCircuit: true } : next(specifier, context),
});

const { createMessage } = await import('@bus/core');
const { KafkaPublisher } = await import('@bus/kafka');
const { Producer, murmur2 } = (await import(
  '@platformatic/kafka'
)) as unknown as typeof import('./support/idle-platformatic.ts');

const COUNT = Number(process.argv[2] ?? 300_000);
const ROUNDS = 7;
const value = Buffer.alloc(100, 7);

function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** The stand-in called as the raw rows of drivers.bench.ts call the real client. */
async function raw(): Promise<number> {
  const producer = new Producer();
  const cpu0 = cpuNow();
  let next = 0;
  const worker = async () => {
    while (next < COUNT) {
      const from = next;
      next = Math.min(COUNT, next + 1_000);
      const messages = [];
      for (let i = from; i < next; i++) {
        const key = Buffer.from(`k${i % 64}`);
        messages.push({
          topic: 't',
          key,
          value,
          partition: (murmur2(key) & 0x7fffffff) % 6,
          headers: { 'bus-message-id': crypto.randomUUID() },
        });
      }
      await producer.send({ messages });
    }
  };
  await Promise.all(Array.from({ length: 5 }, worker));
  return (cpuNow() - cpu0) / COUNT;
}

/** KafkaPublisher with its defaults, 500 callers of 10 messages, as in drivers.bench.ts. */
async function bus(): Promise<number> {
  const publisher = new KafkaPublisher({ brokers: ['127.0.0.1:1'], driver: 'platformatic', acks: 'all' });
  await publisher.connect();
  const cpu0 = cpuNow();
  let next = 0;
  const caller = async () => {
    while (next < COUNT) {
      const from = next;
      next = Math.min(COUNT, next + 10);
      const messages = [];
      for (let i = from; i < next; i++) messages.push(createMessage({ payload: value, key: `k${i % 64}` }));
      await publisher.publish('t', ...messages);
    }
  };
  await Promise.all(Array.from({ length: 500 }, caller));
  const cpu = (cpuNow() - cpu0) / COUNT;
  await publisher.close();
  return cpu;
}

const runs = { raw: [] as number[], bus: [] as number[] };
const load = loadavg()[0]!;
for (let round = 0; round < ROUNDS; round++) {
  // Alternating, so both see the same drift in load.
  runs.raw.push(await raw());
  runs.bus.push(await bus());
}
const least = (values: number[]) => Math.min(...values);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const lines = [
  '# Publish path CPU without a broker (bench/publish-cpu.bench.ts)',
  '',
  `${new Date().toISOString()}, Node ${process.version}, ${COUNT} × 100 B keyed messages per round, ${ROUNDS} rounds alternating, load average ${load.toFixed(1)} at the start.`,
  '',
  '| case | least CPU µs/msg | median CPU µs/msg |',
  '| --- | ---: | ---: |',
  `| stand-in client called raw (1,000 per send, 5 in flight, UUID header) | ${least(runs.raw).toFixed(2)} | ${median(runs.raw).toFixed(2)} |`,
  `| KafkaPublisher over the stand-in (500 callers × 10, createMessage) | ${least(runs.bus).toFixed(2)} | ${median(runs.bus).toFixed(2)} |`,
  `| bus's own publish path (difference) | ${(least(runs.bus) - least(runs.raw)).toFixed(2)} | ${(median(runs.bus) - median(runs.raw)).toFixed(2)} |`,
  '',
];
console.log(lines.join('\n'));
const out = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}publish-cpu.md`, `${lines.join('\n')}\n`);
