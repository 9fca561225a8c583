import { DeadLetterHeaders, jsonMessage, type Message, textMessage } from '@bus/core';
import { KafkaAdmin, KafkaPublisher } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { bus, busBin, kafkaUrl } from './helpers.ts';

const brokers = () => testInfra().kafka.brokers;

function letter(i: number, originalTopic: string, errorCode: string): Message {
  return jsonMessage(
    { order: i },
    {
      id: `order-${i}`,
      key: `k${i % 3}`,
      headers: {
        trace: `t-${i}`,
        [DeadLetterHeaders.originalTopic]: originalTopic,
        [DeadLetterHeaders.originalPartition]: '0',
        [DeadLetterHeaders.originalOffset]: String(i),
        [DeadLetterHeaders.handler]: 'billing',
        [DeadLetterHeaders.errorClass]: errorCode === 'DECLINED' ? 'ChargeDeclined' : 'TimeoutError',
        [DeadLetterHeaders.errorMessage]: errorCode === 'DECLINED' ? 'card declined' : 'gateway timed out',
        [DeadLetterHeaders.errorCode]: errorCode,
        [DeadLetterHeaders.attempts]: '3',
        [DeadLetterHeaders.failedAt]: '2026-01-02T03:04:05.000Z',
      },
    },
  );
}

/** A dead-letter topic holding 100 TIMEOUT letters, 20 DECLINED ones and one record without dlq headers. */
async function deadLetters(): Promise<{ dlq: string; orders: string }> {
  const dlq = uniqueName('cli-dlq');
  const orders = uniqueName('cli-dlq-orders');
  await using admin = new KafkaAdmin({ brokers: brokers() });
  await admin.ensureTopics([
    { name: dlq, partitions: 2 },
    { name: orders, partitions: 1 },
  ]);
  await using publisher = new KafkaPublisher({ brokers: brokers() });
  await publisher.publish(
    dlq,
    ...Array.from({ length: 120 }, (_, i) => letter(i, orders, i % 6 === 5 ? 'DECLINED' : 'TIMEOUT')),
    textMessage('not a dead letter'),
  );
  return { dlq, orders };
}

describe('bus dlq (real broker, KafkaDeadLetterQueue)', () => {
  it('counts and lists letters with why they failed', async () => {
    const { dlq, orders } = await deadLetters();
    const count = await bus(['--url', kafkaUrl(), '--json', 'dlq', 'count', dlq]);
    expect(count.json()).toEqual([{ topic: dlq, count: 121 }]);
    expect((await busBin(['--url', kafkaUrl(), 'dlq', 'count', dlq])).stdout).toBe('121\n');

    const listed = await bus(['--url', kafkaUrl(), '--json', 'dlq', 'list', dlq, '--limit', '500']);
    const letters = listed.json<{
      partition: number;
      offset: number;
      id: string;
      failure: { originalTopic: string; errorCode: string; attempts: number; handler: string } | null;
      format: string;
      value: unknown;
    }>();
    expect(letters).toHaveLength(121);
    const first = letters.find((l) => l.id === 'order-5')!;
    expect(first.failure).toMatchObject({
      originalTopic: orders,
      errorCode: 'DECLINED',
      attempts: 3,
      handler: 'billing',
    });
    expect(first).toMatchObject({ format: 'json', value: { order: 5 } });
    expect(letters.filter((l) => l.failure === null)).toHaveLength(1);

    const page = await bus(['--url', kafkaUrl(), '--json', 'dlq', 'list', dlq, '--limit', '2', '--from', '1:0']);
    expect(page.json<{ partition: number }>().map((l) => l.partition)).toEqual([1, 1]);
    const table = await bus(['--url', kafkaUrl(), 'dlq', 'list', dlq, '--limit', '3']);
    expect(table.stdout).toMatch(
      /TimeoutError \[TIMEOUT\]: gateway timed out|ChargeDeclined \[DECLINED\]: card declined/,
    );
  });

  it('replays the letters a filter selects to their original topic', async () => {
    const { dlq, orders } = await deadLetters();
    const replayed = await bus(['--url', kafkaUrl(), '--json', 'dlq', 'replay', dlq, '--error-code', 'DECLINED']);
    expect(replayed.stderr).toBe('');
    const [report] = replayed.json<{ replayed: number; skipped: number }>();
    expect(report).toMatchObject({ topic: dlq, replayed: 20, skipped: 0 });
    const back = (await bus(['--url', kafkaUrl(), '--json', 'tail', orders])).json<{
      key: string;
      headers: Record<string, string>;
      value: { order: number };
    }>();
    expect(back.map((r) => r.value.order).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i * 6 + 5),
    );
    for (const record of back) {
      expect(record.headers['bus-replayed-from']).toMatch(new RegExp(`^${dlq}/\\d/\\d+$`));
      expect(Object.keys(record.headers).some((h) => h.startsWith('bus-dlq-'))).toBe(false);
      expect(record.key).toBe(`k${record.value.order % 3}`);
    }

    const listed = await bus(['--url', kafkaUrl(), '--json', 'dlq', 'list', dlq, '--limit', '500']);
    const target = listed
      .json<{ partition: number; offset: number; failure: unknown }>()
      .find((l) => l.failure !== null)!;
    const at = `${target.partition}:${target.offset}`;
    const one = await bus(['--url', kafkaUrl(), '--json', 'dlq', 'replay', dlq, '--at', at]);
    expect(one.json()[0]).toMatchObject({
      replayed: 1,
      replayedPositions: [{ partition: target.partition, offset: target.offset }],
    });
    const nowhere = await bus(['--url', kafkaUrl(), 'dlq', 'replay', dlq, '--at', '0:9999']);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toBe(`error [DEAD_LETTER_NOT_FOUND]: No dead letter at ${dlq}/0/9999\n`);
  });

  it('draws a progress bar on a long replay and reports skipped records', async () => {
    const { dlq, orders } = await deadLetters();
    const progress = { text: '' };
    const replayed = await bus(['--url', kafkaUrl(), '--json', 'dlq', 'replay', dlq, '--progress'], { progress });
    expect(replayed.json()[0]).toMatchObject({ replayed: 120, skipped: 1 });
    expect(progress.text).toMatch(/replaying .* 121\/121 letters read/);
    const count = await bus(['--url', kafkaUrl(), '--json', 'dlq', 'count', orders]);
    expect(count.json()[0]).toMatchObject({ count: 120 });
  });

  it('an unknown dead-letter topic is an error, not an empty queue', async () => {
    const missing = await bus(['--url', kafkaUrl(), 'dlq', 'count', uniqueName('cli-dlq-none')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error \[KAFKA_UNKNOWN_TOPIC\]/);
    const bad = await bus(['--url', kafkaUrl(), 'dlq', 'replay', 'x', '--at', 'first']);
    expect(bad.code).toBe(2);
  });
});
