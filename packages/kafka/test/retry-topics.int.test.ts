import { payloadText, type ReceivedMessage, Router, retryTopicName, textMessage, withRetryTopics } from '@bus/core';
import { KafkaAdmin, KafkaDeadLetterQueue, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { brokers, waitFor } from './subscriber-helpers.js';

async function createTopics(names: readonly string[], partitions: number): Promise<void> {
  // On kafkajs whichever driver is tested; ensureTopics waits out a new topic's transient errors.
  await using admin = new KafkaAdmin({ brokers: brokers(), driver: 'kafkajs' });
  await admin.ensureTopics(names.map((name) => ({ name, partitions, replicationFactor: 1 })));
}

interface Attempt {
  readonly text: string;
  readonly topic: string;
  readonly at: number;
  readonly failed: boolean;
}

describe('retry topics on the real broker', () => {
  it('honours each retry topic delay (lower bound), keeps the main topic flowing meanwhile, then dead-letters', async () => {
    const topic = uniqueName('retry-orders');
    const delaysMs = [4_000, 6_000];
    const dlqTopic = `${topic}.dlq`;
    await createTopics([topic, retryTopicName(topic, 1), retryTopicName(topic, 2)], 3);
    await createTopics([dlqTopic], 1);
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    await using dlq = new KafkaDeadLetterQueue({ brokers: brokers(), topic: dlqTopic });

    const attempts: Attempt[] = [];
    const router = new Router();
    const handlers = withRetryTopics(
      {
        name: 'billing',
        subscribeTopic: topic,
        subscriber: new KafkaSubscriber({ brokers: brokers() }),
        group: uniqueName('retry-billing'),
        concurrency: 8,
        orderBy: 'key' as const,
        handle: (message: ReceivedMessage) => {
          const text = payloadText(message);
          const earlier = attempts.filter((a) => a.text === text).length;
          const failed = text === 'poison' || (text === 'flaky' && earlier === 0);
          attempts.push({ text, topic: message.topic, at: Date.now(), failed });
          if (failed) throw new Error(`${text} failed`);
        },
      },
      { publisher, delaysMs, deadLetterTopic: dlqTopic },
    );
    for (const handler of handlers) router.addConsumerHandler(handler);
    const run = router.run();

    await publisher.publish(topic, textMessage('poison', { key: 'order-1' }), textMessage('flaky', { key: 'order-2' }));
    await waitFor(() => attempts.filter((a) => a.failed).length === 2, 'both failed once on the main topic');
    const healthy = Array.from({ length: 200 }, (_, i) => textMessage(`ok-${i}`, { key: `order-${3 + (i % 40)}` }));
    await publisher.publish(topic, ...healthy);
    await waitFor(() => attempts.filter((a) => a.text.startsWith('ok-')).length >= 200, 'the healthy messages');
    // The main topic flowed while both waited in .retry.1: neither was tried again yet.
    expect(attempts.filter((a) => a.text === 'poison' || a.text === 'flaky').map((a) => a.topic)).toEqual([
      topic,
      topic,
    ]);

    await waitFor(async () => (await dlq.count()) === 1, 'the poison message in the DLQ', 60_000);
    const of = (text: string) => attempts.filter((a) => a.text === text);
    expect(of('flaky').map((a) => [a.topic, a.failed])).toEqual([
      [topic, true],
      [retryTopicName(topic, 1), false],
    ]);
    expect(of('poison').map((a) => a.topic)).toEqual([topic, retryTopicName(topic, 1), retryTopicName(topic, 2)]);
    // Lower bounds only: a retry is never early.
    const [first, second, third] = of('poison').map((a) => a.at);
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(delaysMs[0] ?? 0);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(delaysMs[1] ?? 0);
    const flaky = of('flaky');
    expect((flaky[1]?.at ?? 0) - (flaky[0]?.at ?? 0)).toBeGreaterThanOrEqual(delaysMs[0] ?? 0);

    const [letter] = await dlq.list();
    expect(letter?.failure).toMatchObject({
      originalTopic: topic,
      handler: 'billing.retry.2',
      errorMessage: 'poison failed',
      attempts: 3,
    });
    expect(letter?.failure?.firstFailedAt.getTime()).toBeGreaterThanOrEqual(first ?? Number.NaN);
    expect(letter?.failure?.firstFailedAt.getTime()).toBeLessThan(second ?? Number.NaN);
    await router.close();
    await run;
  }, 120_000);
});
