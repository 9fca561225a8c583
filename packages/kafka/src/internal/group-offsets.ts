import type { Kafka as KafkaClient } from 'kafkajs';

/**
 * Commits explicit offsets for an idle consumer group by briefly joining it. kafkajs' own
 * `admin.setOffsets` waits for a full fetch cycle (about 5 s); joining, committing and leaving
 * takes a fraction of that.
 */
export async function commitGroupOffsets(
  kafka: KafkaClient,
  groupId: string,
  topic: string,
  partitions: readonly { partition: number; offset: string }[],
): Promise<void> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  let failed: (error: unknown) => void = () => {};
  const joined = new Promise<void>((resolve, reject) => {
    failed = reject;
    consumer.on(consumer.events.GROUP_JOIN, () => resolve());
    consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic] });
    // Nothing is consumed: the topic is paused at once and no offset is ever resolved.
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} });
    consumer.pause([{ topic }]);
    await joined;
    await consumer.commitOffsets(partitions.map((p) => ({ topic, partition: p.partition, offset: p.offset })));
  } catch (error) {
    failed(error);
    throw error;
  } finally {
    await consumer.disconnect();
  }
}
