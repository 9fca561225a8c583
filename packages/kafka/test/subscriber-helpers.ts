import { testInfra, uniqueName } from '@bus/test-infra';
import kafkajs from 'kafkajs';
import { KafkaAdmin } from '../src/admin.ts';

/**
 * The driver the clients of this test run default to: `platformatic` in the kafka-platformatic
 * project (which sets BUS_TEST_KAFKA_DRIVER), else kafkajs. For the few cases that differ by driver.
 */
export function testDriver(): 'kafkajs' | 'platformatic' {
  return process.env.BUS_TEST_KAFKA_DRIVER === 'platformatic' ? 'platformatic' : 'kafkajs';
}

/** Brokers of the shared test broker. */
export function brokers(): string[] {
  return testInfra().kafka.brokers;
}

/** Creates a uniquely named topic with `partitions` partitions and returns its name. */
export async function createTopic(
  prefix: string,
  partitions: number,
  brokerList: string[] = brokers(),
): Promise<string> {
  const topic = uniqueName(prefix);
  // KafkaAdmin waits out a just-created topic's transient UNKNOWN_TOPIC_OR_PARTITION, where kafkajs'
  // own createTopics wait failed on the loaded shared broker. On kafkajs, whichever driver is tested.
  await using admin = new KafkaAdmin({ brokers: brokerList, driver: 'kafkajs' });
  await admin.ensureTopics([
    { name: topic, partitions, replicationFactor: 1, configs: { 'max.message.bytes': String(2 * 1024 * 1024) } },
  ]);
  return topic;
}

/** The committed offset of each partition of `topic` for `group` (-1 when none). */
export async function committedOffsets(
  topic: string,
  group: string,
  brokerList: string[] = brokers(),
): Promise<Map<number, number>> {
  const admin = new kafkajs.Kafka({ brokers: brokerList, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Pulls the next message with a deadline, so a test fails instead of hanging. */
export async function nextWithin<T>(iterator: AsyncIterator<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    const result = await Promise.race([iterator.next(), deadline]);
    if (result.done) throw new Error(`iteration ended while waiting for ${what}`);
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}
