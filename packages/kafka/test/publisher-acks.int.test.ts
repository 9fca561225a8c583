import { createMessage } from '@bus/core';
import { KafkaPublisher } from '@bus/kafka';
import { testInfra } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic, endOffsetTotal, readBack } from './publisher-helpers.ts';

const brokers = () => testInfra().kafka.brokers;

// The resend of partitions kafkajs leaves unacknowledged is proven where leadership can move (the
// cluster project); here: the per-partition check never gets in the way of the normal path.
describe('KafkaPublisher acknowledgements per partition (real broker)', () => {
  it('acknowledges every partition of keyed and keyless batches once', async () => {
    const topic = await createTopic('pub-acks', 6);
    await using publisher = new KafkaPublisher({ brokers: brokers(), lingerMs: 20 });
    const keyed = Array.from({ length: 600 }, (_, i) =>
      createMessage({ id: `keyed-${i}`, key: `k${i % 37}`, payload: new Uint8Array([i & 0xff]) }),
    );
    const keyless = Array.from({ length: 300 }, (_, i) =>
      createMessage({ id: `keyless-${i}`, payload: new Uint8Array([i & 0xff]) }),
    );
    const calls: Promise<void>[] = [];
    for (let i = 0; i < keyed.length; i += 20) calls.push(publisher.publish(topic, ...keyed.slice(i, i + 20)));
    for (let i = 0; i < keyless.length; i += 30) calls.push(publisher.publish(topic, ...keyless.slice(i, i + 30)));
    await Promise.all(calls);

    const stats = publisher.stats();
    expect(stats.messagesPublished).toBe(900);
    expect(stats.messagesFailed).toBe(0);
    expect(stats.partitionResends).toBe(0);

    const records = await readBack(topic, 900);
    // Exactly once in the log: nothing resent, nothing duplicated.
    expect(await endOffsetTotal(topic)).toBe(900);
    const ids = records.map((r) => r.headers['bus-message-id']);
    expect(new Set(ids).size).toBe(900);
    // Keyless messages are spread over the partitions, and each key keeps to one partition.
    const keylessPartitions = records.filter((r) => r.headers['bus-message-id']!.startsWith('keyless'));
    expect(new Set(keylessPartitions.map((r) => r.partition)).size).toBe(6);
    const partitionOfKey = new Map<string, number>();
    for (const record of records) {
      if (record.key === null) continue;
      const key = record.key.toString();
      expect(record.partition).toBe(partitionOfKey.get(key) ?? record.partition);
      partitionOfKey.set(key, record.partition);
    }
    expect(partitionOfKey.size).toBe(37);
  });

  it('keeps working with the idempotent producer, acks 1 and acks 0 (no results to check)', async () => {
    const topic = await createTopic('pub-acks-levels', 3);
    for (const acks of ['all', 1, 0] as const) {
      await using publisher = new KafkaPublisher({ brokers: brokers(), acks, idempotent: acks === 'all' });
      await publisher.publish(
        topic,
        ...Array.from({ length: 30 }, (_, i) =>
          createMessage({ id: `${acks}-${i}`, key: `k${i}`, payload: new Uint8Array(1) }),
        ),
      );
      expect(publisher.stats()).toMatchObject({ messagesPublished: 30, partitionResends: 0 });
    }
    expect((await readBack(topic, 90)).length).toBe(90);
  });
});
