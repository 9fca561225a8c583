import { testInfra, uniqueName } from '@bus/test-infra';
import kafkajs, { type Admin, type KafkaConfig } from 'kafkajs';
import { KafkaAdmin } from '../src/admin.ts';

/** A record as read back by a raw kafkajs consumer. */
export interface ReadRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

/** A raw kafkajs client on the test broker (PLAINTEXT unless overridden), silent. */
export function rawKafka(overrides: Partial<KafkaConfig> = {}): InstanceType<typeof kafkajs.Kafka> {
  return new kafkajs.Kafka({
    brokers: testInfra().kafka.brokers,
    clientId: 'bus-kafka-test',
    logLevel: kafkajs.logLevel.NOTHING,
    ...overrides,
  });
}

/** Creates a fresh topic with `partitions` partitions and optional configs; returns its name. */
export async function createTopic(
  prefix: string,
  partitions = 1,
  configs: Record<string, string> = {},
  admin?: Admin,
): Promise<string> {
  const topic = uniqueName(prefix);
  if (admin === undefined) {
    // KafkaAdmin waits out a just-created topic's transient UNKNOWN_TOPIC_OR_PARTITION, where
    // kafkajs' own createTopics wait failed on the loaded shared broker.
    await using busAdmin = new KafkaAdmin({ brokers: testInfra().kafka.brokers, driver: 'kafkajs' });
    await busAdmin.ensureTopics([{ name: topic, partitions, replicationFactor: 1, configs }]);
    return topic;
  }
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: partitions,
        replicationFactor: 1,
        configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })),
      },
    ],
  });
  return topic;
}

/**
 * Reads `count` records of `topic` from the beginning with a raw kafkajs consumer, or fails after
 * `timeoutMs`. With `readCommitted` false, aborted transactional records are visible too.
 */
export async function readBack(
  topic: string,
  count: number,
  options: { timeoutMs?: number; readCommitted?: boolean; kafka?: InstanceType<typeof kafkajs.Kafka> } = {},
): Promise<ReadRecord[]> {
  const kafka = options.kafka ?? rawKafka();
  const consumer = kafka.consumer({
    groupId: uniqueName('readback'),
    readUncommitted: options.readCommitted === false,
    maxWaitTimeInMs: 100,
  });
  const records: ReadRecord[] = [];
  let done!: () => void;
  const enough = new Promise<void>((resolve) => {
    done = resolve;
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          headers[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
        }
        records.push({
          topic: t,
          partition,
          offset: Number(message.offset),
          key: message.key,
          value: message.value,
          headers,
          timestamp: message.timestamp,
        });
        if (records.length >= count) done();
      },
    });
    const timeoutMs = options.timeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      enough,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`read ${records.length} of ${count} records from ${topic} in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Sum of end offsets of `topic` (records written, including transaction markers). */
export async function endOffsetTotal(topic: string): Promise<number> {
  const admin = rawKafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}
