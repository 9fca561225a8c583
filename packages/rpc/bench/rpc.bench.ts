// Round-trip latency (p50/p99/p99.9) at concurrency 1 and 64 and requests/s at 64 of @bus/rpc on the
// real Kafka broker, against a hand-written kafkajs request/reply (the baseline) and NestJS's
// ClientKafka.send to a Nest @MessagePattern, measured in the same run. Plus CPU µs per request
// (client and server share this process) and the peak RSS.
// Run: pnpm --filter @bus/rpc... build && node bench/rpc.bench.ts (Node 24 strips the types).
// Brokers: KAFKA_BROKERS or the local infra's connection.json.
// Our publishers use lingerMs 0: a request/reply caller waits on every message, so batching only adds latency.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { jsonCodec } from '@bus/codecs/json';
import { KafkaAdmin, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { defineRoute, RpcClient, RpcServer } from '@bus/rpc';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientKafka, MessagePattern, Transport } from '@nestjs/microservices';
import { Kafka, logLevel } from 'kafkajs';
import { firstValueFrom } from 'rxjs';

const SERIAL = Number(process.env.BENCH_SERIAL ?? 500);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 5_000);
const CONCURRENCY = 64;
const WARMUP = 100;

function kafkaBrokers(): string[] {
  if (process.env.KAFKA_BROKERS) return process.env.KAFKA_BROKERS.split(',');
  const file = join(homedir(), '.cache', 'bus', 'infra', 'run', 'connection.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { kafka: { brokers: string[] } }).kafka.brokers;
}
const brokers = kafkaBrokers();
const run = `bench-rpc-${Date.now().toString(36)}`;

interface Ask {
  sku: string;
  qty: number;
}
type Call = (value: Ask) => Promise<unknown>;
interface Subject {
  readonly name: string;
  readonly call: Call;
  close(): Promise<void>;
}

async function ensureTopics(names: string[]): Promise<void> {
  await using admin = new KafkaAdmin({ brokers });
  await admin.ensureTopics(names.map((name) => ({ name, partitions: 1, replicationFactor: 1 })));
}

async function busRpc(): Promise<Subject> {
  const route = defineRoute({ name: `${run}.bus`, request: jsonCodec<Ask>(), reply: jsonCodec<{ total: number }>() });
  await ensureTopics([route.topic]);
  const serverPublisher = new KafkaPublisher({ brokers, lingerMs: 0 });
  const serverSubscriber = new KafkaSubscriber({ brokers, fetchMaxWaitMs: 20 });
  const server = new RpcServer({
    publisher: serverPublisher,
    subscriber: serverSubscriber,
    group: `${run}.bus-servers`,
    concurrency: CONCURRENCY,
  });
  server.handle(route, ({ qty }) => ({ total: qty * 2 }));
  const publisher = new KafkaPublisher({ brokers, lingerMs: 0 });
  const subscriber = new KafkaSubscriber({ brokers, fetchMaxWaitMs: 20 });
  const client = new RpcClient({
    publisher,
    subscriber,
    replyTopicPrefix: `${run}.bus-replies`,
    createReplyTopic: (topic) => ensureTopics([topic]),
  });
  await client.start();
  return {
    name: '@bus/rpc',
    call: (value) => client.request(route, value),
    async close() {
      await client.close();
      await server.close();
      await Promise.all([subscriber.close(), publisher.close(), serverSubscriber.close(), serverPublisher.close()]);
    },
  };
}

/** The baseline: what one writes by hand with kafkajs (one producer each side, a map of pending calls). */
async function kafkajsBaseline(): Promise<Subject> {
  const requests = `${run}.raw`;
  const replies = `${run}.raw-replies`;
  await ensureTopics([requests, replies]);
  const kafka = new Kafka({ brokers, clientId: `${run}-raw`, logLevel: logLevel.NOTHING });
  const serverProducer = kafka.producer();
  const serverConsumer = kafka.consumer({ groupId: `${run}.raw-servers`, maxWaitTimeInMs: 20 });
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: `${run}.raw-client`, maxWaitTimeInMs: 20 });
  await Promise.all([serverProducer.connect(), serverConsumer.connect(), producer.connect(), consumer.connect()]);
  await serverConsumer.subscribe({ topic: requests, fromBeginning: true });
  await consumer.subscribe({ topic: replies, fromBeginning: true });
  await serverConsumer.run({
    partitionsConsumedConcurrently: 1,
    eachMessage: async ({ message }) => {
      const { qty } = JSON.parse(String(message.value)) as Ask;
      await serverProducer.send({
        topic: String(message.headers?.reply),
        messages: [{ value: JSON.stringify({ total: qty * 2 }), headers: { id: String(message.headers?.id) } }],
      });
    },
  });
  const pending = new Map<string, (value: unknown) => void>();
  await consumer.run({
    eachMessage: async ({ message }) => {
      const id = String(message.headers?.id);
      pending.get(id)?.(JSON.parse(String(message.value)));
      pending.delete(id);
    },
  });
  return {
    name: 'kafkajs by hand (baseline)',
    call: (value) =>
      new Promise((resolve, reject) => {
        const id = crypto.randomUUID();
        pending.set(id, resolve);
        producer
          .send({ topic: requests, messages: [{ value: JSON.stringify(value), headers: { id, reply: replies } }] })
          .catch(reject);
      }),
    async close() {
      await Promise.all([consumer.disconnect(), serverConsumer.disconnect()]);
      await Promise.all([producer.disconnect(), serverProducer.disconnect()]);
    },
  };
}

async function nest(): Promise<Subject> {
  const pattern = `${run}.nest`;
  await ensureTopics([pattern, `${pattern}.reply`]);
  class QuoteController {
    quote(data: Ask) {
      return { total: data.qty * 2 };
    }
  }
  MessagePattern(pattern)(
    QuoteController.prototype,
    'quote',
    Object.getOwnPropertyDescriptor(QuoteController.prototype, 'quote') as PropertyDescriptor,
  );
  Controller()(QuoteController);
  class QuoteModule {}
  Module({ controllers: [QuoteController] })(QuoteModule);
  const app = await NestFactory.createMicroservice(QuoteModule, {
    transport: Transport.KAFKA,
    logger: false,
    options: {
      client: { brokers, clientId: `${run}-nest-svc`, logLevel: logLevel.NOTHING },
      consumer: { groupId: `${run}.nest` },
      subscribe: { fromBeginning: true },
    },
  });
  await app.listen();
  const client = new ClientKafka({
    client: { brokers, clientId: `${run}-nest-client`, logLevel: logLevel.NOTHING },
    consumer: { groupId: `${run}.nest` },
    subscribe: { fromBeginning: true },
  });
  client.subscribeToResponseOf(pattern);
  await client.connect();
  return {
    name: 'NestJS ClientKafka.send',
    call: (value) => firstValueFrom(client.send(pattern, value)),
    async close() {
      await client.close();
      await app.close();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function measure(call: Call, total: number, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const n = next++;
        const t0 = performance.now();
        await call({ sku: `s${n}`, qty: n });
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
    rps: total / seconds,
    cpuUs: (used.user + used.system) / total,
  };
}

const started = performance.now();
const rows: Record<string, string | number>[] = [];
const results = new Map<
  string,
  { c1: Awaited<ReturnType<typeof measure>>; c64: Awaited<ReturnType<typeof measure>> }
>();
for (const make of [kafkajsBaseline, busRpc, nest]) {
  const subject = await make();
  await measure(subject.call, WARMUP, 1);
  await measure(subject.call, WARMUP * 4, CONCURRENCY);
  const c1 = await measure(subject.call, SERIAL, 1);
  const c64 = await measure(subject.call, PARALLEL, CONCURRENCY);
  results.set(subject.name, { c1, c64 });
  await subject.close();
}
const baseline = results.get('kafkajs by hand (baseline)');
const ms = (v: number) => v.toFixed(2);
for (const [name, { c1, c64 }] of results) {
  rows.push({
    client: name,
    'c1 p50 ms': ms(c1.p50),
    'c1 p99 ms': ms(c1.p99),
    'c1 p99.9 ms': ms(c1.p999),
    'c64 p50 ms': ms(c64.p50),
    'c64 p99 ms': ms(c64.p99),
    'c64 p99.9 ms': ms(c64.p999),
    'c64 req/s': Math.round(c64.rps),
    'req/s vs baseline': baseline ? (c64.rps / baseline.c64.rps).toFixed(2) : '-',
    'CPU µs/req (c64)': c64.cpuUs.toFixed(0),
  });
}
console.log(
  `request/reply round trips on Kafka (${brokers.join(',')}), 1-partition topics; concurrency 1: ${SERIAL} calls, concurrency ${CONCURRENCY}: ${PARALLEL} calls, after a warm-up; client and server in this process`,
);
console.table(rows);
console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(0);
