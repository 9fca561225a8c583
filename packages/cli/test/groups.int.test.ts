import { textMessage } from '@bus/core';
import { KafkaAdmin, KafkaPublisher } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { bus, busBin, kafkaUrl } from './helpers.ts';

const brokers = () => testInfra().kafka.brokers;

interface Lag {
  groupId: string;
  totalLag: number;
  topics: Record<string, number>;
  partitions: { topic: string; partition: number; committedOffset: number | null; endOffset: number; lag: number }[];
}

/** A topic of two partitions holding `count` records on partition 0 (one key), and a group at its start. */
async function topicWithGroup(count: number): Promise<{ topic: string; group: string; full: number }> {
  const topic = uniqueName('cli-groups');
  const group = uniqueName('cli-group');
  await using admin = new KafkaAdmin({ brokers: brokers() });
  await admin.ensureTopics([{ name: topic, partitions: 2 }]);
  await using publisher = new KafkaPublisher({ brokers: brokers() });
  await publisher.publish(topic, ...Array.from({ length: count }, (_, i) => textMessage(`m${i}`, { key: 'one' })));
  const full = (await admin.watermarks(topic)).find((w) => w.high === count)!.partition;
  await admin.resetOffsets(group, topic, { to: 'earliest' });
  return { topic, group, full };
}

describe('bus groups (real broker)', () => {
  it('lists groups and shows lag per partition and in total', async () => {
    const { topic, group, full } = await topicWithGroup(8);
    const list = await bus(['--url', kafkaUrl(), '--json', 'groups', 'list']);
    expect(list.json()).toContainEqual({ groupId: group, protocolType: 'consumer', state: 'Empty', members: 0 });

    const lag = await bus(['--url', kafkaUrl(), '--json', 'groups', 'lag', group]);
    const [doc] = lag.json<Lag>();
    expect(doc).toMatchObject({ groupId: group, totalLag: 8, topics: { [topic]: 8 } });
    expect(doc!.partitions.find((p) => p.partition === full)).toEqual({
      topic,
      partition: full,
      committedOffset: 0,
      endOffset: 8,
      lag: 8,
    });

    const table = await bus(['--url', kafkaUrl(), 'groups', 'lag', group]);
    expect(table.stdout).toContain(`total lag of ${group}: 8`);

    const watched = await busBin([
      '--url',
      kafkaUrl(),
      '--json',
      'groups',
      'lag',
      group,
      '--watch',
      '--interval',
      '100',
      '--count',
      '3',
    ]);
    expect(watched.code).toBe(0);
    const rounds = watched.json<Lag & { at: string }>();
    expect(rounds).toHaveLength(3);
    for (const round of rounds) {
      expect(round.totalLag).toBe(8);
      expect(Number.isNaN(Date.parse(round.at))).toBe(false);
    }
  });

  it('resets a group to latest, to a time and to explicit offsets', async () => {
    const { topic, group, full } = await topicWithGroup(5);
    const latest = await bus(['--url', kafkaUrl(), '--json', 'groups', 'reset', group, '--to', 'latest']);
    expect(latest.json()).toEqual([
      {
        groupId: group,
        partitions: [0, 1].map((partition) => ({ topic, partition, offset: partition === full ? 5 : 0 })),
      },
    ]);
    const explicit = await bus([
      '--url',
      kafkaUrl(),
      '--json',
      'groups',
      'reset',
      group,
      '--topic',
      topic,
      '--to',
      `${full}:2`,
    ]);
    expect(explicit.json()).toEqual([{ groupId: group, partitions: [{ topic, partition: full, offset: 2 }] }]);
    expect((await bus(['--url', kafkaUrl(), '--json', 'groups', 'lag', group])).json<Lag>()[0]!.totalLag).toBe(3);

    const past = await bus(['--url', kafkaUrl(), '--json', 'groups', 'reset', group, '--to', '2000-01-01T00:00:00Z']);
    expect(past.code).toBe(0);
    expect((await bus(['--url', kafkaUrl(), '--json', 'groups', 'lag', group])).json<Lag>()[0]!.totalLag).toBe(5);

    const outside = await bus(['--url', kafkaUrl(), 'groups', 'reset', group, '--topic', topic, '--to', `${full}:99`]);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(
      /^error \[KAFKA_INVALID_OFFSETS\]: Cannot reset offsets on "[^"]+": offset 99 of partition \d is outside 0\.\.5\n$/,
    );
    // The group committed to one topic only: explicit offsets need no --topic then.
    const oneTopic = await bus(['--url', kafkaUrl(), '--json', 'groups', 'reset', group, '--to', `${full}:1`]);
    expect(oneTopic.json()).toEqual([{ groupId: group, partitions: [{ topic, partition: full, offset: 1 }] }]);
    const bad = await bus(['--url', kafkaUrl(), 'groups', 'reset', group, '--to', 'soon']);
    expect(bad.code).toBe(2);
  });

  it('describes members, refuses to reset or delete an active group, and deletes it once empty', async () => {
    const { topic, group } = await topicWithGroup(1);
    const kafka = new kafkajs.Kafka({ brokers: brokers(), clientId: 'cli-member', logLevel: kafkajs.logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({ eachMessage: async () => {} });
      await joined;
      const described = await bus(['--url', kafkaUrl(), '--json', 'groups', 'describe', group]);
      const [doc] = described.json<{
        state: string;
        members: { clientId: string; host: string; assignment: unknown }[];
      }>();
      expect(doc?.state).toBe('Stable');
      expect(doc?.members).toHaveLength(1);
      expect(doc?.members[0]).toMatchObject({ clientId: 'cli-member', assignment: [{ topic, partitions: [0, 1] }] });
      const table = await bus(['--url', kafkaUrl(), 'groups', 'describe', group]);
      expect(table.stdout).toContain(`${topic}[0,1]`);

      const reset = await bus(['--url', kafkaUrl(), 'groups', 'reset', group, '--to', 'earliest']);
      expect(reset.code).toBe(1);
      expect(reset.stderr).toMatch(/^error \[KAFKA_GROUP_NOT_EMPTY\]/);
      const busy = await bus(['--url', kafkaUrl(), 'groups', 'delete', group]);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/^error \[KAFKA_GROUP_NOT_EMPTY\]/);
    } finally {
      await consumer.disconnect();
    }
    const deleted = await busBin(['--url', kafkaUrl(), '--json', 'groups', 'delete', group]);
    expect(deleted.code).toBe(0);
    expect(deleted.json()).toEqual([{ groupId: group, deleted: true }]);
    const gone = await bus(['--url', kafkaUrl(), 'groups', 'delete', group]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`error [KAFKA_UNKNOWN_GROUP]: Consumer group "${group}" does not exist\n`);
    const list = await bus(['--url', kafkaUrl(), '--json', 'groups', 'list']);
    expect(list.json<{ groupId: string }>().map((g) => g.groupId)).not.toContain(group);
  });
});
