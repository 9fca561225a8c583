/**
 * Proves the integration-test infrastructure is real: a Kafka broker with consumer groups, SASL, TLS and
 * mTLS, and a Confluent-compatible schema registry, as found by the global setup. Test names carry the
 * versions so the output shows what ran.
 */
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { type Consumer, type KafkaConfig, Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { startDedicatedKafka, testInfra, uniqueName } from '../src/index.ts';

const infra = testInfra();
const kafkaLabel = `Kafka ${infra.kafka.version ?? '?'} (${infra.source}, ${infra.kafka.brokers.join(',')})`;
const registryLabel = `registry ${infra.registry.version ?? '?'} (${infra.registry.url})`;

function kafka(config: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'bus-smoke',
    brokers: infra.kafka.brokers,
    logLevel: logLevel.NOTHING,
    ...config,
  });
}

/** Resolves when `condition()` holds, polling until the deadline; rejects with `what` otherwise. */
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe(`real broker: ${kafkaLabel}`, () => {
  it('creates a topic with 3 partitions', async () => {
    const admin = kafka().admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const topic = uniqueName('smoke-create');
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })).toBe(true);
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(3);
    await admin.deleteTopics({ topics: [topic] });
  });

  it('produces and consumes 1,000 messages through a consumer group, in per-partition order', async () => {
    const client = kafka();
    const admin = client.admin();
    await admin.connect();
    const topic = uniqueName('smoke-order');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = client.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const total = 1_000;
    const keys = 20;
    for (let batch = 0; batch < total / 100; batch++) {
      await producer.send({
        topic,
        messages: Array.from({ length: 100 }, (_, j) => {
          const i = batch * 100 + j;
          return { key: `k${i % keys}`, value: JSON.stringify({ i, key: `k${i % keys}` }) };
        }),
      });
    }

    const consumer: Consumer = client.consumer({ groupId: uniqueName('smoke-group') });
    cleanups.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: Array<{ partition: number; offset: bigint; i: number; key: string }> = [];
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const { i, key } = JSON.parse(message.value?.toString() ?? '{}') as { i: number; key: string };
        received.push({ partition, offset: BigInt(message.offset), i, key });
      },
    });
    await until(() => received.length >= total, 60_000, `${total} messages`);
    await consumer.disconnect();

    expect(received).toHaveLength(total);
    expect(new Set(received.map((r) => r.i)).size).toBe(total);
    const partitions = new Set(received.map((r) => r.partition));
    expect(partitions.size).toBeGreaterThan(1);
    for (const p of partitions) {
      const inPartition = received.filter((r) => r.partition === p);
      for (let n = 1; n < inPartition.length; n++) {
        expect(inPartition[n]!.offset).toBeGreaterThan(inPartition[n - 1]!.offset);
        // Messages of one partition arrive in the order they were produced.
        expect(inPartition[n]!.i).toBeGreaterThan(inPartition[n - 1]!.i);
      }
    }
    for (let k = 0; k < keys; k++) {
      const seq = received.filter((r) => r.key === `k${k}`).map((r) => r.i);
      expect(seq).toEqual([...seq].sort((a, b) => a - b));
      // A key always lands on one partition.
      expect(new Set(received.filter((r) => r.key === `k${k}`).map((r) => r.partition)).size).toBe(1);
    }
  });
});

/**
 * The SASL and TLS listeners are part of the infra contract: a source without them fails these tests
 * with a message naming what is missing, rather than skipping them.
 */
function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the ${infra.source} infra offers no ${what}; these tests need it`);
  return value;
}

const sasl = infra.kafka.sasl;
describe(`real broker SASL_PLAINTEXT: ${kafkaLabel}`, () => {
  const saslClient = (mechanism: SASLOptions) =>
    kafka({
      brokers: required(sasl, 'SASL listener').brokers,
      sasl: mechanism,
      connectionTimeout: 3_000,
      retry: { retries: 2 },
    });

  it('SCRAM-SHA-512 with the right password connects and lists topics', async () => {
    const admin = saslClient({ mechanism: 'scram-sha-512', ...required(sasl, 'SASL listener').scram512 }).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    expect(Array.isArray(await admin.listTopics())).toBe(true);
    await admin.disconnect();
  });

  it('SCRAM-SHA-512 with a wrong password fails fast with an authentication error', async () => {
    const admin = saslClient({
      mechanism: 'scram-sha-512',
      username: required(sasl, 'SASL listener').scram512.username,
      password: 'wrong-password',
    }).admin();
    const started = Date.now();
    const error = await admin.connect().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const elapsed = Date.now() - started;
    await admin.disconnect().catch(() => undefined);
    expect(error).toBeDefined();
    expect(error?.name).toBe('KafkaJSSASLAuthenticationError');
    expect(elapsed).toBeLessThan(5_000);
  });

  it('PLAIN and SCRAM-SHA-256 users connect', async () => {
    const plain = saslClient({ mechanism: 'plain', ...required(sasl, 'SASL listener').plain }).admin();
    await plain.connect();
    await plain.listTopics();
    await plain.disconnect();
    const scram256 = saslClient({
      mechanism: 'scram-sha-256',
      ...required(required(sasl, 'SASL listener').scram256, 'SCRAM-SHA-256 user'),
    }).admin();
    await scram256.connect();
    await scram256.listTopics();
    await scram256.disconnect();
  });
});

const ssl = infra.kafka.ssl;
describe(`real broker TLS: ${kafkaLabel}`, () => {
  it('connects over TLS, verifying the broker certificate with the generated CA', async () => {
    const admin = kafka({
      brokers: required(ssl, 'TLS listener').brokers,
      ssl: { ca: [required(ssl, 'TLS listener').caPem] },
    }).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    expect(Array.isArray(await admin.listTopics())).toBe(true);
    await admin.disconnect();
  });

  it('connects over mTLS with the client certificate', async () => {
    const admin = kafka({
      brokers: required(required(ssl, 'TLS listener').mtlsBrokers, 'mTLS listener'),
      ssl: {
        ca: [required(ssl, 'TLS listener').caPem],
        cert: required(required(ssl, 'TLS listener').clientCertPem, 'client certificate'),
        key: required(required(ssl, 'TLS listener').clientKeyPem, 'client key'),
      },
    }).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    expect(Array.isArray(await admin.listTopics())).toBe(true);
    await admin.disconnect();
  });

  it('the mTLS listener refuses a client without a certificate', async () => {
    const admin = kafka({
      brokers: required(required(ssl, 'TLS listener').mtlsBrokers, 'mTLS listener'),
      ssl: { ca: [required(ssl, 'TLS listener').caPem] },
      connectionTimeout: 3_000,
      retry: { retries: 0 },
    }).admin();
    await expect(admin.connect()).rejects.toThrow();
    await admin.disconnect().catch(() => undefined);
  });
});

describe(`real schema registry: ${registryLabel}`, () => {
  const registry = new SchemaRegistry({ host: infra.registry.url });
  const v1 = {
    type: 'record',
    name: 'OrderPlaced',
    namespace: 'bus.smoke',
    fields: [
      { name: 'orderId', type: 'string' },
      { name: 'amount', type: 'double' },
    ],
  };

  it('registers an Avro schema and round-trips a record through @kafkajs/confluent-schema-registry', async () => {
    const subject = `${uniqueName('smoke-avro')}-value`;
    const { id } = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    expect(id).toBeGreaterThan(0);
    const record = { orderId: 'o-1', amount: 12.5 };
    const encoded = await registry.encode(id, record);
    // Confluent wire format: magic byte 0, then the 4-byte schema id.
    expect(encoded[0]).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(id);
    expect(await registry.decode(encoded)).toEqual(record);
    // A fresh client (empty cache) resolves the id through GET /schemas/ids/{id}.
    const fresh = new SchemaRegistry({ host: infra.registry.url });
    expect(await fresh.decode(encoded)).toEqual(record);
    expect(await registry.getLatestSchemaId(subject)).toBe(id);
  });

  it('rejects an incompatible schema (global BACKWARD compatibility)', async () => {
    const subject = `${uniqueName('smoke-compat')}-value`;
    await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(v1) }, { subject });
    // A new required field without a default cannot read old data: not BACKWARD compatible.
    const incompatible = { ...v1, fields: [...v1.fields, { name: 'currency', type: 'string' }] };
    const compatible = { ...v1, fields: [...v1.fields, { name: 'note', type: ['null', 'string'], default: null }] };

    const check = async (schema: object) => {
      const res = await fetch(`${infra.registry.url}/compatibility/subjects/${subject}/versions/latest`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema: JSON.stringify(schema), schemaType: 'AVRO' }),
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { is_compatible: boolean }).is_compatible;
    };
    expect(await check(incompatible)).toBe(false);
    expect(await check(compatible)).toBe(true);
    await expect(
      registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject }),
    ).rejects.toThrow();
  });
});

describe('dedicated broker (startDedicatedKafka)', () => {
  it('starts, produces, stops, starts again on the same port and data, and consumes', async () => {
    // A cluster id that starts with '-': StorageTool once read it as an option (1 format in 64 failed).
    const clusterId = '-bus-dash-first-id-AAA';
    await using dedicated = await startDedicatedKafka({ clusterId });
    const client = new Kafka({
      clientId: 'bus-smoke-dedicated',
      brokers: dedicated.brokers,
      logLevel: logLevel.NOTHING,
    });
    const admin = client.admin();
    await admin.connect();
    const described = await admin.describeCluster().finally(() => admin.disconnect());
    expect(described.clusterId).toBe(clusterId);
    expect(dedicated.clusterId).toBe(clusterId);
    const topic = uniqueName('smoke-dedicated');
    const producer = client.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'a', value: 'before-restart' }] });
    await producer.disconnect();

    await dedicated.stop();
    expect(dedicated.running).toBe(false);
    await dedicated.start();
    expect(dedicated.running).toBe(true);

    const consumer = client.consumer({ groupId: uniqueName('smoke-dedicated-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
      },
    });
    try {
      await until(() => values.length >= 1, 60_000, 'the message produced before the restart');
    } finally {
      await consumer.disconnect();
    }
    expect(values).toEqual(['before-restart']);
  }, 180_000);
});
