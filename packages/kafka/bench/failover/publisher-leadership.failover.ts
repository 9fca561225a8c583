/**
 * The publisher side of issue 16 on real brokers: kill -9 the node leading most partitions while two
 * publishers stream sequence-numbered messages, one with bus's per-partition acknowledgement check (the
 * default) and one without it (kafkajs's behaviour, through the internal switch). Every message that
 * `publish()` acknowledged must be in the log, in per-key order; the unchecked publisher's losses are
 * reported, not asserted (they depend on timing).
 */
import { createMessage } from '@bus/core';
import { KafkaPublisher, type KafkaPublisherOptions } from '@bus/kafka';
import { testCluster, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import {
  busiestLeader,
  clusterKafka,
  healCluster,
  waitFor,
  waitForFullIsr,
  withAdmin,
} from '../../test-cluster/cluster-helpers.ts';

const cluster = testCluster();
const SKIP_ACKNOWLEDGEMENT_CHECK = Symbol.for('bus.kafka.publisher.skipAcknowledgementCheck');
const CALLERS = 24;
const PER_CALL = 10;
const MESSAGES = 30_000;
const KILL_AFTER = 6_000;

interface Stream {
  readonly topic: string;
  readonly publisher: KafkaPublisher;
  readonly acked: Set<number>;
  failed: number;
  /** Failed calls by error code (and kafkajs cause type), for the log. */
  readonly errors: Map<string, number>;
  sent: number;
  /** Longest time without any call settling, once streaming (ms): the publisher's stall. */
  maxStallMs: number;
  lastSettled: number;
  /** Callers stop once `sent` reaches it. */
  limit: number;
}

/** Each caller owns its keys and awaits each call, so per-key order is defined by the sequence numbers. */
async function stream(s: Stream, callers = CALLERS): Promise<void> {
  s.lastSettled = performance.now();
  const caller = async (c: number) => {
    while (s.sent < s.limit) {
      const first = s.sent;
      s.sent += PER_CALL;
      const seqs = Array.from({ length: PER_CALL }, (_, i) => first + i);
      const messages = seqs.map((seq) =>
        createMessage({
          id: String(seq),
          key: `c${c}-k${seq % 4}`,
          payload: new TextEncoder().encode(String(seq)),
        }),
      );
      try {
        await s.publisher.publish(s.topic, ...messages);
        const now = performance.now();
        s.maxStallMs = Math.max(s.maxStallMs, now - s.lastSettled);
        s.lastSettled = now;
        for (const seq of seqs) s.acked.add(seq);
      } catch (error) {
        s.failed += PER_CALL;
        const e = error as { code?: string; cause?: { type?: string; name?: string } };
        const key = `${e.code}/${e.cause?.type ?? e.cause?.name ?? '-'}`;
        s.errors.set(key, (s.errors.get(key) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => caller(c)));
}

/** Every record of `topic` up to its current end offsets: key and sequence number, per partition in order. */
async function readAll(topic: string): Promise<{ key: string; seq: number }[][]> {
  const kafka = clusterKafka(cluster);
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const byPartition = ends.map(() => [] as { key: string; seq: number }[]);
  const remaining = new Map(ends.filter((e) => Number(e.high) > 0).map((e) => [e.partition, Number(e.high)]));
  const consumer = kafka.consumer({ groupId: `${topic}-readback`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      byPartition[partition]!.push({ key: String(message.key), seq: Number(String(message.value)) });
      if (Number(message.offset) + 1 >= (remaining.get(partition) ?? 0)) remaining.delete(partition);
    },
  });
  await waitFor(() => remaining.size === 0, `reading ${topic} back to its end offsets`, 120_000);
  await consumer.disconnect();
  return byPartition;
}

/**
 * A fresh 6-partition topic with replication factor 3. Not kafkajs's `waitForLeaders`: on a cluster,
 * the broker it asks may not know the topic yet and answers UNKNOWN_TOPIC_OR_PARTITION, which kafkajs
 * does not retry. Polling for a full ISR does.
 */
async function topicWithLeaders(prefix: string): Promise<string> {
  const topic = uniqueName(prefix);
  try {
    await withAdmin((admin) => admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 3 }] }));
  } catch (error) {
    // Created, but kafkajs's metadata refresh afterwards asked a broker that does not know it yet.
    if ((error as { type?: unknown }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
  }
  await waitForFullIsr([topic]);
  return topic;
}

function verdict(s: Stream, log: { key: string; seq: number }[][]) {
  const inLog = new Set<number>();
  let duplicates = 0;
  let orderViolations = 0;
  for (const records of log) {
    const lastOfKey = new Map<string, number>();
    for (const { key, seq } of records) {
      if (inLog.has(seq)) {
        duplicates++;
        continue;
      }
      inLog.add(seq);
      const last = lastOfKey.get(key);
      if (last !== undefined && seq < last) orderViolations++;
      lastOfKey.set(key, Math.max(seq, last ?? -1));
    }
  }
  const lost = [...s.acked].filter((seq) => !inLog.has(seq)).length;
  return {
    acked: s.acked.size,
    failed: s.failed,
    lost,
    duplicates,
    orderViolations,
    resends: s.publisher.stats().partitionResends,
    maxStallMs: Math.round(s.maxStallMs),
    errors: Object.fromEntries(s.errors),
  };
}

/** Two publishers on two fresh topics, with the check (the default) and without it. */
async function streams(limit: number): Promise<{ checked: Stream; unchecked: Stream }> {
  const options = {
    brokers: cluster.brokers,
    timeoutMs: 30_000,
    retry: { retries: 8, initialRetryTimeMs: 100, maxRetryTimeMs: 2_000 },
  };
  const checked: Stream = {
    topic: await topicWithLeaders('pub-lead-checked'),
    publisher: new KafkaPublisher(options),
    acked: new Set(),
    failed: 0,
    errors: new Map(),
    maxStallMs: 0,
    lastSettled: performance.now(),
    sent: 0,
    limit,
  };
  const unchecked: Stream = {
    topic: await topicWithLeaders('pub-lead-unchecked'),
    publisher: new KafkaPublisher({ ...options, [SKIP_ACKNOWLEDGEMENT_CHECK]: true } as KafkaPublisherOptions),
    acked: new Set(),
    failed: 0,
    errors: new Map(),
    maxStallMs: 0,
    lastSettled: performance.now(),
    sent: 0,
    limit,
  };
  return { checked, unchecked };
}

/** Closes both publishers, reads both topics back and checks the one with the acknowledgement check. */
async function judge(what: string, checked: Stream, unchecked: Stream): Promise<void> {
  await Promise.all([checked.publisher.close(), unchecked.publisher.close()]);
  await waitForFullIsr([checked.topic, unchecked.topic]);
  const withCheck = verdict(checked, await readAll(checked.topic));
  const withoutCheck = verdict(unchecked, await readAll(unchecked.topic));
  console.log(`${what}; with the check: ${JSON.stringify(withCheck)}`);
  console.log(`${what}; without the check (kafkajs alone): ${JSON.stringify(withoutCheck)}`);
  expect(withCheck.acked).toBeGreaterThan(KILL_AFTER);
  expect(withCheck.lost).toBe(0);
  expect(withCheck.orderViolations).toBe(0);
}

describe('KafkaPublisher when partition leadership moves (3-node cluster)', () => {
  it('loses no acknowledged message when the busiest leader is killed mid-stream', async () => {
    await healCluster(cluster);
    const { checked, unchecked } = await streams(MESSAGES);
    const victim = await busiestLeader(checked.topic);
    const running = Promise.all([stream(checked), stream(unchecked)]);
    await waitFor(() => checked.acked.size >= KILL_AFTER, `${KILL_AFTER} acknowledged before the kill`, 120_000, 20);
    await cluster.kill9(victim);
    await running;
    await cluster.start(victim);
    await judge(`kill -9 of node ${victim}`, checked, unchecked);
  });

  it('loses no acknowledged message through a rolling restart under load', async () => {
    await healCluster(cluster);
    const { checked, unchecked } = await streams(Number.POSITIVE_INFINITY);
    // Fewer callers: the restarts take minutes, and about 100k messages per publisher are enough.
    const running = Promise.all([stream(checked, 8), stream(unchecked, 8)]);
    await waitFor(
      () => checked.acked.size >= KILL_AFTER,
      `${KILL_AFTER} acknowledged before the restarts`,
      120_000,
      20,
    );
    for (const node of [1, 2, 3]) {
      await cluster.stop(node);
      await cluster.start(node);
      await waitForFullIsr([checked.topic, unchecked.topic]);
    }
    checked.limit = checked.sent;
    unchecked.limit = unchecked.sent;
    await running;
    await judge('rolling restart of nodes 1, 2, 3', checked, unchecked);
  });
});
