import { textMessage } from '@bus/core';
import { KafkaAdmin, KafkaErrorCode, KafkaPublisher } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { rawKafka } from './publisher-helpers.ts';

const brokers = () => testInfra().kafka.brokers;
const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString());

describe('KafkaAdmin inspection (real broker)', () => {
  it('peeks a bounded range of one partition, and waits at the end for a new record', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const topic = uniqueName('adm-peek');
    await admin.ensureTopics([{ name: topic, partitions: 2 }]);
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    const messages = Array.from({ length: 20 }, (_, i) =>
      textMessage(`v${i}`, { key: 'same-key', headers: { n: String(i) }, timestamp: 1_700_000_000_000 + i }),
    );
    await publisher.publish(topic, ...messages);
    const partition = (await admin.watermarks(topic)).find((w) => w.high === 20)!.partition;

    const middle = await admin.peek(topic, { partition, from: 5, to: 9 });
    expect(middle.records.map((r) => text(r.value))).toEqual(['v5', 'v6', 'v7', 'v8']);
    expect(middle.records[0]).toMatchObject({ topic, partition, offset: 5, timestamp: 1_700_000_000_005 });
    expect(text(middle.records[0]!.key)).toBe('same-key');
    expect(middle.records[0]!.headers.n).toBe('5');
    expect(middle).toMatchObject({ nextOffset: 9, lowWatermark: 0, highWatermark: 20 });

    const limited = await admin.peek(topic, { partition, from: 0, limit: 3 });
    expect(limited.records.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(limited.nextOffset).toBe(3);
    const toEnd = await admin.peek(topic, { partition, from: 15 });
    expect(toEnd.records.map((r) => r.offset)).toEqual([15, 16, 17, 18, 19]);
    expect((await admin.peek(topic, { partition, from: 20 })).records).toEqual([]);

    // Waiting at the end returns the next record once it is written.
    const waiting = admin.peek(topic, { partition, from: 20, waitMs: 10_000 });
    await publisher.publish(topic, textMessage('late', { key: 'same-key' }));
    const late = await waiting;
    expect(late.records.map((r) => text(r.value))).toEqual(['late']);
    expect(late.nextOffset).toBe(21);
  });

  it('concurrent waiting peeks of different partitions each get their own new records', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const topic = uniqueName('adm-peek-many');
    await admin.ensureTopics([{ name: topic, partitions: 3 }]);
    const peeks = Promise.all([0, 1, 2].map((partition) => admin.peek(topic, { partition, from: 0, waitMs: 15_000 })));
    // Observed at once, so a failed peek fails this test instead of surfacing as an unhandled rejection.
    peeks.catch(() => {});
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    // Keys until every partition got one: the waiting peeks end as their partition gets a record.
    const seen = new Set<number>();
    for (let i = 0; seen.size < 3 && i < 200; i++) {
      await publisher.publish(topic, textMessage(`k${i}`, { key: `k${i}` }));
      for (const w of await admin.watermarks(topic)) if (w.high > 0) seen.add(w.partition);
    }
    const results = await peeks;
    for (const [partition, result] of results.entries()) {
      expect(result.records.length).toBeGreaterThan(0);
      expect(result.records.every((r) => r.partition === partition)).toBe(true);
    }
  });

  it('peek leaves out records of aborted transactions and control records', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const topic = uniqueName('adm-peek-tx');
    await admin.ensureTopics([{ name: topic, partitions: 1 }]);
    await using publisher = new KafkaPublisher({ brokers: brokers(), transactionalId: uniqueName('peek-tx') });
    await publisher.transaction(async (tx) => {
      await tx.publish(topic, textMessage('committed-1'));
    });
    await publisher
      .transaction(async (tx) => {
        await tx.publish(topic, textMessage('aborted'));
        throw new Error('abort it');
      })
      .catch(() => {});
    await publisher.transaction(async (tx) => {
      await tx.publish(topic, textMessage('committed-2'));
    });
    const all = await admin.peek(topic, { partition: 0, from: 0 });
    expect(all.records.map((r) => text(r.value))).toEqual(['committed-1', 'committed-2']);
    expect(all.nextOffset).toBe(all.highWatermark);
  });

  it('peek rejects bad input with typed errors', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const topic = uniqueName('adm-peek-bad');
    await admin.ensureTopics([{ name: topic, partitions: 1 }]);
    const config = await admin.peek(topic, { partition: -1, from: 5, to: 2, limit: 0 }).catch((e: unknown) => e);
    expect(config).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((config as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual(['partition', 'to', 'limit']);
    await expect(admin.peek(topic, { partition: 3, from: 0 })).rejects.toMatchObject({
      code: KafkaErrorCode.INVALID_OFFSETS,
    });
    await expect(admin.peek(topic, { partition: 0, from: 7 })).rejects.toMatchObject({
      code: KafkaErrorCode.INVALID_OFFSETS,
    });
    await expect(admin.peek(uniqueName('adm-none'), { partition: 0, from: 0 })).rejects.toMatchObject({
      code: KafkaErrorCode.UNKNOWN_TOPIC,
    });
  });

  it('resets a group to explicit offsets, and rejects offsets outside the partitions', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const topic = uniqueName('adm-explicit');
    const group = uniqueName('adm-explicit-group');
    await admin.ensureTopics([{ name: topic, partitions: 2 }]);
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    // One key: all six records land in one partition, the other stays empty.
    await publisher.publish(topic, ...Array.from({ length: 6 }, (_, i) => textMessage(`m${i}`, { key: 'one' })));
    const full = (await admin.watermarks(topic)).find((w) => w.high === 6)!.partition;
    await admin.resetOffsets(group, topic, { to: 'latest' });

    const result = await admin.resetOffsets(group, topic, { to: { offsets: [{ partition: full, offset: 4 }] } });
    expect(result.partitions).toEqual([{ partition: full, offset: 4 }]);
    const lag = await admin.consumerLag(group, [topic]);
    expect(lag.partitions.find((p) => p.partition === full)?.committedOffset).toBe(4);
    expect(lag.partitions.find((p) => p.partition !== full)?.committedOffset).toBe(0);
    expect(lag.totalLag).toBe(2);

    const outside = await admin
      .resetOffsets(group, topic, {
        to: {
          offsets: [
            { partition: full, offset: 7 },
            { partition: 5, offset: 0 },
          ],
        },
      })
      .catch((e: unknown) => e);
    expect(outside).toMatchObject({ code: KafkaErrorCode.INVALID_OFFSETS, topic });
    expect((outside as Error).message).toContain(`offset 7 of partition ${full} is outside 0..6`);
    expect((outside as Error).message).toContain('partition 5 does not exist');
    const shape = await admin
      .resetOffsets(group, topic, {
        to: {
          offsets: [
            { partition: 0, offset: -1 },
            { partition: 0, offset: 1 },
          ],
        },
      })
      .catch((e: unknown) => e);
    expect((shape as { issues: { path: string }[] }).issues.map((i) => i.path)).toEqual([
      'to.offsets[0].offset',
      'to.offsets[1].partition',
    ]);
    expect((await admin.consumerLag(group, [topic])).totalLag).toBe(2);
  });

  it('describes a group’s members and deletes the group once it is empty', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const topic = uniqueName('adm-members');
    const group = uniqueName('adm-members-group');
    await admin.ensureTopics([{ name: topic, partitions: 3 }]);
    await expect(admin.describeGroup(group)).rejects.toMatchObject({ code: KafkaErrorCode.UNKNOWN_GROUP });
    await expect(admin.deleteGroup(group)).rejects.toMatchObject({ code: KafkaErrorCode.UNKNOWN_GROUP });

    const consumer = rawKafka({ clientId: 'inspect-me' }).consumer({ groupId: group, maxWaitTimeInMs: 100 });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ eachMessage: async () => {} });
      await joined;
      const described = await admin.describeGroup(group);
      expect(described).toMatchObject({ groupId: group, state: 'Stable', protocolType: 'consumer' });
      expect(described.members).toHaveLength(1);
      expect(described.members[0]).toMatchObject({
        clientId: 'inspect-me',
        assignment: [{ topic, partitions: [0, 1, 2] }],
      });
      expect(described.members[0]!.host).toMatch(/^[\d.:a-f]+$/);
      await expect(admin.deleteGroup(group)).rejects.toMatchObject({ code: KafkaErrorCode.GROUP_NOT_EMPTY });
    } finally {
      await consumer.disconnect();
    }
    expect((await admin.describeGroup(group)).members).toEqual([]);
    await admin.deleteGroup(group);
    await expect(admin.describeGroup(group)).rejects.toMatchObject({ code: KafkaErrorCode.UNKNOWN_GROUP });
    expect((await admin.listGroups()).map((g) => g.groupId)).not.toContain(group);
  });

  it('lists topics with partition counts and finds offsets by time', async () => {
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const topic = uniqueName('adm-list');
    await admin.ensureTopics([{ name: topic, partitions: 2 }]);
    const listed = await admin.listTopics();
    expect(listed.find((t) => t.name === topic)).toEqual({ name: topic, partitions: 2 });
    expect(listed.some((t) => t.name.startsWith('__'))).toBe(false);
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    const base = Date.now() - 10_000;
    await publisher.publish(
      topic,
      ...Array.from({ length: 4 }, (_, i) => textMessage(`t${i}`, { key: 'one', timestamp: base + i * 1_000 })),
    );
    const full = (await admin.watermarks(topic)).find((w) => w.high === 4)!.partition;
    const found = await admin.offsetsAtTime(topic, base + 1_500);
    expect(found).toEqual([0, 1].map((partition) => ({ partition, offset: partition === full ? 2 : 0 })));
  });
});
