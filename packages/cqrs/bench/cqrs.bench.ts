// Events/s of publish + handle through @bus/cqrs (EventBus → EventProcessor) against the bare core
// Router with the same codec and broker (a marshaler → publisher.publish, Router.addConsumerHandler
// decoding with the same codec), on the in-memory broker and on the real Kafka broker.
// Run: pnpm --filter @bus/cqrs... build && node bench/cqrs.bench.ts (Node 24 strips the types).
// Brokers: KAFKA_BROKERS or the local infra's connection.json; without them the Kafka rows are skipped, said so.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createMarshaler, type Marshaler } from '@bus/codecs';
import { jsonCodec } from '@bus/codecs/json';
import { createMessage, type Message, MemoryBroker, type Publisher, Router, type Subscriber } from '@bus/core';
import { defineEvent, EventBus, EventProcessor, topics } from '@bus/cqrs';
import { KafkaAdmin, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { z } from 'zod';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
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

interface Transport {
  readonly name: string;
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
const uniquePrefix = (): string => `bench-cqrs-${Date.now().toString(36)}-${runs++}`;

function memory(): Transport {
  const broker = new MemoryBroker({ defaultPartitions: 8 });
  return {
    name: 'memory',
    publisher: () => broker.publisher(),
    subscriber: () => broker.subscriber(),
    topicPrefix: async () => uniquePrefix(),
    close: () => broker.close(),
  };
}

/** Both sides with @bus/kafka's defaults. */
function kafka(brokers: string[]): Transport {
  const options = { brokers };
  return {
    name: 'kafka',
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
}

const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

/** Publishes EVENTS in batches, waits until all are handled; times from the first publish. */
async function timed(
  publishBatch: (from: number) => Promise<void>,
  handled: () => number,
  done: Promise<void>,
): Promise<Sample> {
  const cpu = cpuNow();
  const start = performance.now();
  for (let from = 0; from < EVENTS; from += BATCH) await publishBatch(from);
  await done;
  const ms = performance.now() - start;
  // At-least-once: a rebalance under load may hand a few messages over twice; fewer would be a loss.
  if (handled() < EVENTS) throw new Error(`handled ${handled()} of ${EVENTS}`);
  return { ms, cpuUs: cpuNow() - cpu };
}

async function throughCqrs(transport: Transport): Promise<Sample> {
  const prefix = await transport.topicPrefix();
  const publisher = transport.publisher();
  const events = new EventBus({ publisher, topics: topics.perType(prefix), source: 'urn:bench' });
  const processor = new EventProcessor({
    subscriber: transport.subscriber(),
    topics: events.topics,
    groupPrefix: prefix,
    concurrency: CONCURRENCY,
  });
  let count = 0;
  const all = Promise.withResolvers<void>();
  processor.on(OrderPlaced, (event) => {
    if (event.data.totalCents < 0) throw new Error('unreachable');
    if (++count === EVENTS) all.resolve();
  });
  void processor.run();
  await processor.router.running;
  try {
    return await timed(
      (from) =>
        events
          .publish(
            Array.from({ length: Math.min(BATCH, EVENTS - from) }, (_, i) =>
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

/**
 * `decode: 'marshaler'` is the Router user's usual code (an async handler awaiting `unmarshal`);
 * `decode: 'sync'` calls the same codec's synchronous `decode` in a synchronous handler, the Router's
 * cheapest path: the strictest baseline for cqrs, whose dispatcher is synchronous with a synchronous codec.
 * `decode: 'sync, CloudEvents headers'` is the latter with the 8 headers cqrs's envelope puts on this
 * event instead of the marshaler's 2: what the envelope's wire format costs the transport, without cqrs.
 */
async function throughRouter(
  transport: Transport,
  decode: 'marshaler' | 'sync' | 'sync, CloudEvents headers',
): Promise<Sample> {
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
      decode === 'marshaler'
        ? async (message) => {
            const order = await marshaler.unmarshal(message);
            if (order.totalCents < 0) throw new Error('unreachable');
            if (++count === EVENTS) all.resolve();
          }
        : (message) => {
            const order = codec.decode(message.payload, { topic, role: 'value', headers: message.headers });
            if (order instanceof Promise) throw new Error('the JSON codec decodes synchronously');
            if (order.totalCents < 0) throw new Error('unreachable');
            if (++count === EVENTS) all.resolve();
          },
  });
  void router.run();
  await router.running;
  try {
    return await timed(
      async (from) => {
        const messages = await Promise.all(
          Array.from({ length: Math.min(BATCH, EVENTS - from) }, (_, i) =>
            marshaler.marshal(orderOf(from + i), { topic }),
          ),
        );
        await publisher.publish(
          topic,
          ...(decode === 'sync, CloudEvents headers' ? messages.map(withCloudEventsHeaders) : messages),
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

const best = (samples: Sample[]): Sample => samples.reduce((a, b) => (b.ms < a.ms ? b : a));

const started = performance.now();
const table: Record<string, string | number>[] = [];
const brokers = kafkaBrokers();
const only = process.env.BENCH_ONLY; // 'memory' or 'kafka'
const transports: (() => Transport)[] = only === 'kafka' ? [] : [memory];
if (brokers && only !== 'memory') transports.push(() => kafka(brokers));
else console.log('no Kafka brokers (KAFKA_BROKERS or connection.json): Kafka rows skipped');
for (const make of transports) {
  const transport = make();
  // One warm-up of each, then alternate so both see the same drift in load.
  await throughRouter(transport, 'marshaler');
  await throughRouter(transport, 'sync');
  await throughRouter(transport, 'sync, CloudEvents headers');
  await throughCqrs(transport);
  const router: Sample[] = [];
  const syncRouter: Sample[] = [];
  const ceRouter: Sample[] = [];
  const cqrs: Sample[] = [];
  for (let i = 0; i < REPEATS; i++) {
    router.push(await throughRouter(transport, 'marshaler'));
    syncRouter.push(await throughRouter(transport, 'sync'));
    ceRouter.push(await throughRouter(transport, 'sync, CloudEvents headers'));
    cqrs.push(await throughCqrs(transport));
  }
  await transport.close();
  const r = best(router);
  const s = best(syncRouter);
  const h = best(ceRouter);
  const c = best(cqrs);
  const rate = (s: Sample): number => Math.round((EVENTS / s.ms) * 1000);
  table.push({
    broker: transport.name,
    events: EVENTS,
    'bare Router ev/s': rate(r),
    'cqrs ev/s': rate(c),
    'cqrs / Router': (rate(c) / rate(r)).toFixed(2),
    'sync Router ev/s': rate(s),
    'cqrs / sync Router': (rate(c) / rate(s)).toFixed(2),
    'sync Router + ce headers ev/s': rate(h),
    'cqrs / that': (rate(c) / rate(h)).toFixed(2),
    'Router CPU µs/ev': (r.cpuUs / EVENTS).toFixed(1),
    'sync Router CPU µs/ev': (s.cpuUs / EVENTS).toFixed(1),
    '+ ce headers CPU µs/ev': (h.cpuUs / EVENTS).toFixed(1),
    'cqrs CPU µs/ev': (c.cpuUs / EVENTS).toFixed(1),
  });
}
console.log(
  `publish + handle of ${EVENTS} JSON events (zod-validated) over ${AGGREGATES} aggregates, concurrency ${CONCURRENCY}, batches of ${BATCH}; best of ${REPEATS} after a warm-up, alternating`,
);
console.table(table);
console.log(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
