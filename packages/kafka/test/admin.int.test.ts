import { textMessage } from '@bus/core';
import { KafkaAdmin, KafkaErrorCode, KafkaPublisher } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { rawKafka } from './publisher-helpers.ts';

const brokers = () => testInfra().kafka.brokers;

describe('KafkaAdmin (real broker)', () => {
  it('ensureTopics creates, is idempotent, and reports partition mismatches', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const a = uniqueName('adm-a');
    const b = uniqueName('adm-b');
    const first = await admin.ensureTopics([
      { name: a, partitions: 3, configs: { 'retention.ms': '3600000' } },
      { name: b, partitions: 1 },
    ]);
    expect(first).toEqual({ created: [a, b], existing: [] });
    expect(await admin.ensureTopics([{ name: a, partitions: 3 }])).toEqual({ created: [], existing: [a] });

    const mismatch = await admin.ensureTopics([{ name: a, partitions: 5 }]).catch((e: unknown) => e);
    expect(mismatch).toMatchObject({ code: KafkaErrorCode.TOPIC_MISMATCH, topic: a });
    expect((mismatch as Error).message).toContain('has 3 partitions, wanted 5');

    const described = await admin.describeTopic(a);
    expect(described.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    for (const p of described.partitions) {
      expect(p.leader).toBeGreaterThanOrEqual(0);
      expect(p.replicas).toContain(p.leader);
      expect(p.isr).toContain(p.leader);
    }
    expect(described.configs['retention.ms']).toBe('3600000');

    expect(await admin.deleteTopics([a, b, uniqueName('adm-never')])).toEqual([a, b]);
    await expect(admin.describeTopic(a)).rejects.toMatchObject({ code: KafkaErrorCode.UNKNOWN_TOPIC });
  });

  it('ensureTopics returns only once every partition takes writes: a publish right after it writes each message once', async () => {
    // Metadata names a partition's leader before that leader serves it. A produce in between was
    // refused for some partitions and resent by kafkajs for all, so others got their records twice
    // (1 run in 3 on the shared broker, before ensureTopics waited for ListOffsets too).
    await using admin = new KafkaAdmin({ brokers: brokers() });
    for (let round = 0; round < 5; round++) {
      const topic = uniqueName('adm-ready');
      await admin.ensureTopics([{ name: topic, partitions: 3 }]);
      await using publisher = new KafkaPublisher({ brokers: brokers() });
      for (let call = 0; call < 3; call++) {
        const batch = Array.from({ length: 20 }, (_, i) => textMessage(`m-${call * 20 + i}`, { key: `k-${i % 7}` }));
        await publisher.publish(topic, ...batch);
      }
      const written = (await admin.watermarks(topic)).reduce((sum, p) => sum + (p.high - p.low), 0);
      expect(written, `records in round ${round}`).toBe(60);
    }
  });

  it('validates topic specs, every problem at once', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const error = await admin
      .ensureTopics([
        { name: 'bad name', partitions: 1 },
        { name: 'ok', partitions: 0 },
        { name: 'ok', partitions: 1, replicationFactor: 0 },
      ])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((error as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      '[0].name',
      '[1].partitions',
      '[2].name',
      '[2].replicationFactor',
    ]);
  });

  it('consumerLag, resetOffsets (earliest, latest, timestamp) and listGroups', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const topic = uniqueName('adm-lag');
    const group = uniqueName('adm-group');
    await admin.ensureTopics([{ name: topic, partitions: 2 }]);
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    const base = Date.now() - 60_000;
    // Ten messages, keyed over both partitions, timestamps one second apart.
    await publisher.publish(
      topic,
      ...Array.from({ length: 10 }, (_, i) => textMessage(`m${i}`, { key: `k${i}`, timestamp: base + i * 1_000 })),
    );

    expect(await admin.resetOffsets(group, topic, { to: 'earliest' })).toEqual({
      partitions: [
        { partition: 0, offset: 0 },
        { partition: 1, offset: 0 },
      ],
    });
    const full = await admin.consumerLag(group, [topic]);
    expect(full.totalLag).toBe(10);
    expect(full.topics[topic]).toBe(10);
    expect(full.partitions.map((p) => p.committedOffset)).toEqual([0, 0]);
    expect(full.partitions.reduce((sum, p) => sum + p.endOffset, 0)).toBe(10);

    await admin.resetOffsets(group, topic, { to: { timestamp: base + 6_500 } });
    expect((await admin.consumerLag(group)).totalLag).toBe(3);

    await admin.resetOffsets(group, topic, { to: 'latest' });
    const none = await admin.consumerLag(group, [topic]);
    expect(none.totalLag).toBe(0);

    const groups = await admin.listGroups();
    expect(groups.find((g) => g.groupId === group)).toMatchObject({ state: 'Empty', members: 0 });
  });

  it('refuses to reset a group with active members', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const topic = uniqueName('adm-busy');
    const group = uniqueName('adm-busy-group');
    await admin.ensureTopics([{ name: topic, partitions: 1 }]);
    const consumer = rawKafka().consumer({ groupId: group, maxWaitTimeInMs: 100 });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ eachMessage: async () => {} });
      await joined;
      const error = await admin.resetOffsets(group, topic, { to: 'earliest' }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: KafkaErrorCode.GROUP_NOT_EMPTY });
      expect((await admin.listGroups()).find((g) => g.groupId === group)).toMatchObject({
        state: 'Stable',
        members: 1,
      });
    } finally {
      await consumer.disconnect();
    }
  });
});
