import { testInfra, uniqueName } from '@bus/test-infra';
import kafkajs from 'kafkajs';

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
  const admin = new kafkajs.Kafka({ brokers: brokerList, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: partitions,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: String(2 * 1024 * 1024) }],
        },
      ],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
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
