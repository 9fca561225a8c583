// Throughput of @bus/kafka against raw kafkajs on the same broker, topic settings and batch sizes.
// Run: pnpm --filter @bus/kafka build && node bench/kafka.bench.ts  (brokers: KAFKA_BROKERS or the
// local infra's connection.json). Prints a table with ratios; takes well under 90 s.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createMessage, type Message, Router } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

function brokers(): string[] {
  const fromEnv = process.env.KAFKA_BROKERS;
  if (fromEnv) return fromEnv.split(',').map((b) => b.trim());
  const file = join(homedir(), '.cache', 'bus', 'infra', 'run', 'connection.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { kafka: { brokers: string[] } }).kafka.brokers;
}

const BROKERS = brokers();
const PARTITIONS = 6;
const BATCH = 1_000; // KafkaPublisher's default batchMaxMessages; the raw baseline sends batches of the same size
const IN_FLIGHT = 5; // KafkaPublisher's default maxInFlightBatches; the raw baseline keeps as many sendBatch calls open
const ID_HEADER = 'bus-message-id';
/**
 * Concurrent publish() callers, 10 messages each: as many messages outstanding as the raw baseline
 * keeps in flight (IN_FLIGHT × BATCH), so both can fill batches of the same size.
 */
const PUBLISH_CALLERS = (IN_FLIGHT * BATCH) / 10;
const kafka = new Kafka({ brokers: BROKERS, clientId: 'bench', logLevel: logLevel.NOTHING });
const run = Date.now().toString(36);
let topics = 0;

async function createTopic(label: string): Promise<string> {
  const topic = `bench-${label}-${run}-${++topics}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  return topic;
}

function payloadOf(size: number): Uint8Array {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 31) & 0xff;
  return payload;
}

interface Row {
  name: string;
  messages: number;
  bytes: number;
  ms: number;
  /** CPU time of this process (all threads) over the same window, in microseconds. */
  cpuUs: number;
}

/** CPU time used by this process so far, in microseconds. */
function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

const rows: { label: string; ours: Row; raw: Row }[] = [];

function rate(row: Row): { perSecond: number; mbPerSecond: number } {
  return { perSecond: (row.messages / row.ms) * 1000, mbPerSecond: ((row.bytes / row.ms) * 1000) / 1_048_576 };
}

/**
 * Runs bus and raw kafkajs alternately (after one warm-up of each) and keeps the best of each, so
 * both see the same drift in load on a shared machine.
 */
async function pair(
  repeats: number,
  ours: () => Promise<Row>,
  raw: () => Promise<Row>,
): Promise<{ ours: Row; raw: Row }> {
  await raw();
  await ours();
  let bestOurs: Row | undefined;
  let bestRaw: Row | undefined;
  for (let i = 0; i < repeats; i++) {
    const r = await raw();
    const o = await ours();
    if (bestRaw === undefined || r.ms < bestRaw.ms) bestRaw = r;
    if (bestOurs === undefined || o.ms < bestOurs.ms) bestOurs = o;
  }
  return { ours: bestOurs as Row, raw: bestRaw as Row };
}

// --- publish ---

async function rawPublish(size: number, count: number): Promise<Row> {
  const topic = await createTopic('raw-pub');
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.from(payloadOf(size));
  const started = performance.now();
  const cpu0 = cpuNow();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const start = next;
      next = Math.min(count, next + BATCH);
      const messages = [];
      for (let i = start; i < next; i++) {
        messages.push({ key: `k${i % 64}`, value, headers: { [ID_HEADER]: crypto.randomUUID() } });
      }
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const ms = performance.now() - started;
  const cpuUs = cpuNow() - cpu0;
  await producer.disconnect();
  return { name: 'kafkajs sendBatch', messages: count, bytes: count * size, ms, cpuUs };
}

/**
 * How the publisher is configured: `checked` is the default (every partition's acknowledgement
 * checked); `unchecked` skips the per-partition check through the internal switch (the publisher
 * before the fix, which loses messages when leadership moves); `idempotent` is `checked` with
 * kafkajs's idempotent producer, for its cost.
 */
type PublishVariant = 'checked' | 'unchecked' | 'idempotent';
const SKIP_ACKNOWLEDGEMENT_CHECK = Symbol.for('bus.kafka.publisher.skipAcknowledgementCheck');

async function ourPublish(
  size: number,
  count: number,
  callers: number,
  variant: PublishVariant = 'checked',
): Promise<Row> {
  const topic = await createTopic('bus-pub');
  const publisher = new KafkaPublisher({
    brokers: BROKERS,
    acks: 'all',
    ...(variant === 'idempotent' ? { idempotent: true } : {}),
    ...(variant === 'unchecked' ? { [SKIP_ACKNOWLEDGEMENT_CHECK]: true } : {}),
  });
  await publisher.publish(topic, createMessage({ payload: payloadOf(size) })); // connect outside the clock
  const payload = payloadOf(size);
  const started = performance.now();
  const cpu0 = cpuNow();
  let next = 0;
  const caller = async () => {
    while (next < count) {
      const start = next;
      next = Math.min(count, next + 10);
      const messages: Message[] = [];
      for (let i = start; i < next; i++) messages.push(createMessage({ payload, key: `k${i % 64}` }));
      await publisher.publish(topic, ...messages);
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  const ms = performance.now() - started;
  const cpuUs = cpuNow() - cpu0;
  await publisher.close();
  const name = `KafkaPublisher${variant === 'checked' ? '' : ` (${variant})`}, ${callers} callers × 10 msgs`;
  return { name, messages: count, bytes: count * size, ms, cpuUs };
}

// --- consume ---

async function fill(size: number, count: number): Promise<string> {
  const topic = await createTopic('consume');
  const producer = kafka.producer();
  await producer.connect();
  const value = Buffer.from(payloadOf(size));
  for (let start = 0; start < count; start += 5 * BATCH) {
    const sends = [];
    for (let b = start; b < Math.min(count, start + 5 * BATCH); b += BATCH) {
      const messages = [];
      for (let i = b; i < Math.min(count, b + BATCH); i++) {
        messages.push({ key: `k${i % 64}`, value, headers: { [ID_HEADER]: crypto.randomUUID() } });
      }
      sends.push(producer.sendBatch({ acks: 1, topicMessages: [{ topic, messages }] }));
    }
    await Promise.all(sends);
  }
  await producer.disconnect();
  return topic;
}

/** Measures from the first message to the last, so group join time is not counted. */
async function rawConsume(topic: string, size: number, count: number): Promise<Row> {
  const consumer = kafka.consumer({ groupId: `raw-${run}-${++topics}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let first = 0;
  let cpu0 = 0;
  let cpuUs = 0;
  let resolveDone!: (ms: number) => void;
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  await consumer.run({
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset }) => {
      if (first === 0) {
        first = performance.now();
        cpu0 = cpuNow();
      }
      for (const message of batch.messages) {
        seen++;
        resolveOffset(message.offset);
      }
      if (seen >= count && cpuUs === 0) {
        cpuUs = cpuNow() - cpu0;
        resolveDone(performance.now() - first);
      }
    },
  });
  const ms = await done;
  await consumer.disconnect();
  return { name: 'kafkajs eachBatch', messages: count, bytes: count * size, ms, cpuUs };
}

async function routerConsume(topic: string, size: number, count: number): Promise<Row> {
  const subscriber = new KafkaSubscriber({ brokers: BROKERS });
  const router = new Router();
  let seen = 0;
  let first = 0;
  let cpu0 = 0;
  let cpuUs = 0;
  let resolveDone!: (ms: number) => void;
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  router.addConsumerHandler({
    name: 'noop',
    subscribeTopic: topic,
    subscriber,
    group: `router-${run}-${++topics}`,
    orderBy: 'partition',
    handle: () => {
      if (first === 0) {
        first = performance.now();
        cpu0 = cpuNow();
      }
      if (++seen === count) {
        cpuUs = cpuNow() - cpu0;
        resolveDone(performance.now() - first);
      }
    },
  });
  const running = router.run();
  const ms = await done;
  await router.close();
  await running;
  return { name: 'Router → KafkaSubscriber (ack each)', messages: count, bytes: count * size, ms, cpuUs };
}

async function loopConsume(topic: string, size: number, count: number): Promise<Row> {
  const subscriber = new KafkaSubscriber({ brokers: BROKERS });
  let seen = 0;
  let first = 0;
  let cpu0 = 0;
  let cpuUs = 0;
  let ms = 0;
  for await (const message of subscriber.subscribe(topic, { group: `loop-${run}-${++topics}` })) {
    if (first === 0) {
      first = performance.now();
      cpu0 = cpuNow();
    }
    message.ack();
    if (++seen === count) {
      // Stop the clock at the last message, as the other cases do: leaving the loop closes the
      // subscription, which waits for kafkajs' fetch in flight (up to fetchMaxWaitMs).
      ms = performance.now() - first;
      cpuUs = cpuNow() - cpu0;
      break;
    }
  }
  await subscriber.close();
  return { name: 'KafkaSubscriber for-await (ack each)', messages: count, bytes: count * size, ms, cpuUs };
}

// --- main ---

/**
 * The per-partition acknowledgement check against the same publisher without it (and with kafkajs
 * idempotence), alternating after a warm-up of each, best of `repeats`.
 */
async function publishCheckCost(size: number, count: number, repeats: number): Promise<void> {
  const variants: PublishVariant[] = ['checked', 'unchecked', 'idempotent'];
  const best = new Map<PublishVariant, Row>();
  for (const variant of variants) await ourPublish(size, count, PUBLISH_CALLERS, variant);
  for (let i = 0; i < repeats; i++) {
    for (const variant of variants) {
      const row = await ourPublish(size, count, PUBLISH_CALLERS, variant);
      const previous = best.get(variant);
      if (previous === undefined || row.ms < previous.ms) best.set(variant, row);
    }
  }
  const checked = best.get('checked')!;
  for (const variant of variants) {
    const row = best.get(variant)!;
    checkRows.push({
      case: `publish ${size} B, acks all`,
      publisher: variant,
      'msg/s': Math.round(rate(row).perSecond),
      'checked / this': (rate(checked).perSecond / rate(row).perSecond).toFixed(3),
      'CPU µs/msg': (row.cpuUs / row.messages).toFixed(2),
    });
  }
}

const checkRows: Record<string, string | number>[] = [];
const benchStarted = performance.now();
for (const [size, count] of [
  [100, 50_000],
  [1024, 20_000],
] as const) {
  const { ours, raw } = await pair(
    3,
    () => ourPublish(size, count, PUBLISH_CALLERS),
    () => rawPublish(size, count),
  );
  rows.push({ label: `publish ${size} B, acks all`, ours, raw });
}
for (const [size, count] of [
  [100, 50_000],
  [1024, 20_000],
] as const) {
  await publishCheckCost(size, count, 3);
}
const publishPeakRssMb = process.resourceUsage().maxRSS / 1024;
{
  const size = 100;
  const count = 200_000;
  const topic = await fill(size, count);
  const viaLoop = await pair(
    3,
    () => loopConsume(topic, size, count),
    () => rawConsume(topic, size, count),
  );
  rows.push({ label: `consume ${size} B`, ...viaLoop });
  const viaRouter = await pair(
    3,
    () => routerConsume(topic, size, count),
    () => rawConsume(topic, size, count),
  );
  rows.push({ label: `consume ${size} B`, ...viaRouter });
}

const table = rows.map(({ label, ours, raw }) => {
  const o = rate(ours);
  const r = rate(raw);
  return {
    case: label,
    bus: ours.name,
    'bus msg/s': Math.round(o.perSecond),
    'bus MB/s': o.mbPerSecond.toFixed(2),
    'kafkajs msg/s': Math.round(r.perSecond),
    'kafkajs MB/s': r.mbPerSecond.toFixed(2),
    ratio: (o.perSecond / r.perSecond).toFixed(2),
    'bus CPU µs/msg': (ours.cpuUs / ours.messages).toFixed(2),
    'kafkajs CPU µs/msg': (raw.cpuUs / raw.messages).toFixed(2),
  };
});
console.log(
  `brokers ${BROKERS.join(',')}, ${PARTITIONS} partitions; bus and kafkajs alternate, best of 3 after a warm-up`,
);
console.table(table);
console.log(
  'publish with the per-partition acknowledgement check (checked, the default) against the same publisher ' +
    'without it (unchecked: before the fix) and with kafkajs idempotence on (idempotent); best of 3',
);
console.table(checkRows);
console.log(
  `peak RSS of this process: ${publishPeakRssMb.toFixed(0)} MB after the publish cases, ` +
    `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB at the end`,
);
console.log(`total ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
