import {
  ConfigError,
  DeadLetterHeaders,
  deadLetter,
  MemoryBroker,
  payloadText,
  type ReceivedMessage,
  RetryNotDueError,
  RetryTopicHeaders,
  Router,
  retry,
  retryTopicName,
  retryTopics,
  textMessage,
  withRetryTopics,
} from '@bus/core';
import { describe, expect, it } from 'vitest';
import { context, received } from '../support/received.ts';
import { TestPubSub, until } from '../support/test-pubsub.ts';

interface Handled {
  readonly text: string;
  readonly topic: string;
  readonly at: number;
}

describe('retryTopics', () => {
  it('moves failures through <topic>.retry.<n> with growing delays, then to the DLQ, while the main topic keeps flowing', async () => {
    await using broker = new MemoryBroker({ defaultPartitions: 2 });
    const publisher = broker.publisher();
    const delaysMs = [300, 600];
    const handled: Handled[] = [];
    const failures: Handled[] = [];
    const logged: { level: string; msg: string }[] = [];
    const log = (level: string) => (_fields: unknown, msg?: string) => logged.push({ level, msg: msg ?? '' });
    const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
    const router = new Router({ logger });
    const handlers = withRetryTopics(
      {
        name: 'billing',
        subscribeTopic: 'orders',
        subscriber: broker.subscriber(),
        group: 'billing',
        handle: (message: ReceivedMessage) => {
          const text = payloadText(message);
          const seen = failures.filter((f) => f.text === text).length;
          if (text === 'poison' || (text === 'flaky' && seen === 0)) {
            failures.push({ text, topic: message.topic, at: Date.now() });
            throw new Error(`${text} failed`);
          }
          handled.push({ text, topic: message.topic, at: Date.now() });
        },
      },
      { publisher, delaysMs },
    );
    expect(handlers.map((h) => [h.name, h.subscribeTopic])).toEqual([
      ['billing', 'orders'],
      ['billing.retry.1', 'orders.retry.1'],
      ['billing.retry.2', 'orders.retry.2'],
    ]);
    for (const handler of handlers) router.addConsumerHandler(handler);
    const run = router.run();

    await publisher.publish('orders', textMessage('poison', { id: 'p', key: 'order-1', headers: { trace: 't' } }));
    await publisher.publish('orders', textMessage('flaky', { key: 'order-2' }));
    await until(() => failures.length === 2, 'both failed on the main topic');
    // The main topic keeps flowing while both wait in .retry.1.
    await publisher.publish(
      'orders',
      ...Array.from({ length: 20 }, (_, i) => textMessage(`ok-${i}`, { key: `k${i}` })),
    );
    await until(() => handled.filter((h) => h.text.startsWith('ok-')).length === 20, 'the healthy messages');
    expect(failures.filter((f) => f.topic !== 'orders')).toEqual([]);

    await until(() => handled.some((h) => h.text === 'flaky'), 'flaky handled from .retry.1', 5_000);
    const flaky = handled.find((h) => h.text === 'flaky');
    const flakyFailure = failures.find((f) => f.text === 'flaky');
    expect(flaky?.topic).toBe('orders.retry.1');
    // Lower bound only: never early.
    expect((flaky?.at ?? 0) - (flakyFailure?.at ?? 0)).toBeGreaterThanOrEqual((delaysMs[0] ?? 0) - 5);

    const dlq = broker.deadLetterQueue('orders.dlq');
    await until(
      () => (broker.describeTopic('orders.dlq')?.reduce((n, p) => n + p.end, 0) ?? 0) === 1,
      'the DLQ',
      5_000,
    );
    const poisonFailures = failures.filter((f) => f.text === 'poison');
    expect(poisonFailures.map((f) => f.topic)).toEqual(['orders', 'orders.retry.1', 'orders.retry.2']);
    const [first, second, third] = poisonFailures.map((f) => f.at);
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual((delaysMs[0] ?? 0) - 5);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual((delaysMs[1] ?? 0) - 5);

    const [letter] = await dlq.list();
    expect(letter?.failure).toMatchObject({
      originalTopic: 'orders',
      originalOffset: 0,
      consumerGroup: 'billing',
      handler: 'billing.retry.2',
      errorMessage: 'poison failed',
      attempts: 3,
    });
    // Stamped by the middleware just after the handler threw on the main topic: at or after the
    // handler's own clock reading, and before the first retry.
    const firstFailedAt = letter?.failure?.firstFailedAt.getTime() ?? 0;
    expect(firstFailedAt).toBeGreaterThanOrEqual(first ?? 0);
    expect(firstFailedAt).toBeLessThan(second ?? 0);
    expect(letter?.original?.headers).toEqual({ trace: 't' });
    expect(Object.keys(letter?.message.headers ?? {}).some((h) => h.startsWith('bus-retry-'))).toBe(false);

    // Deferrals until due are logged at debug, never as handler failures.
    expect(logged.filter((l) => l.msg === 'message not due yet; deferred').length).toBeGreaterThan(0);
    expect(logged.filter((l) => l.msg === 'handler failed; nacked')).toEqual([]);

    // A replay from the DLQ starts again on the main topic.
    await dlq.replay({ partition: letter?.partition ?? 0, offset: letter?.offset ?? 0 });
    await until(() => failures.filter((f) => f.text === 'poison').length === 4, 'the replay failing on the main topic');
    expect(failures.at(-1)?.topic).toBe('orders');
    await router.close();
    await run;
  });

  it('defers a message that is not due with RetryNotDueError, which retry and deadLetter leave alone', async () => {
    const pubsub = new TestPubSub();
    let calls = 0;
    const handler = deadLetter({ publisher: pubsub, topic: 'dlq' })(
      retryTopics({ publisher: pubsub, delaysMs: [60_000] })(
        retry({ maxRetries: 3, initialIntervalMs: 1 })(() => {
          calls++;
        }),
      ),
    );
    const notDue = received({
      topic: retryTopicName('orders', 1),
      headers: {
        [RetryTopicHeaders.originalTopic]: 'orders',
        [RetryTopicHeaders.attempt]: '1',
        [RetryTopicHeaders.dueAt]: String(Date.now() + 60_000),
      },
    });
    const error = await Promise.resolve(handler(notDue, context())).catch((e: unknown) => e);
    expect(RetryNotDueError.isInstance(error) && error.retryAfterMs).toBeGreaterThan(59_000);
    expect(calls).toBe(0);
    expect(pubsub.published('dlq')).toHaveLength(0);

    // Retry headers on another topic than the one they name do not make a retry.
    await handler(received({ topic: 'orders', headers: notDue.headers }), context());
    expect(calls).toBe(1);
  });

  it('nacks (throws) when the retry-topic publish fails, and validates its options all at once', async () => {
    const pubsub = new TestPubSub();
    pubsub.beforePublish = () => {
      throw new Error('broker down');
    };
    const handler = retryTopics({ publisher: pubsub, delaysMs: [10] })(() => {
      throw new Error('handler failed');
    });
    await expect(Promise.resolve(handler(received(), context()))).rejects.toThrow('handler failed');

    let thrown: unknown;
    try {
      retryTopics({ publisher: {} as never, delaysMs: [-1, 1.5], deadLetterTopic: '' });
    } catch (error) {
      thrown = error;
    }
    expect(ConfigError.isInstance(thrown) && thrown.issues.map((i) => i.path)).toEqual([
      'publisher',
      'delaysMs[0]',
      'delaysMs[1]',
      'deadLetterTopic',
    ]);
    expect(DeadLetterHeaders.originalTopic).toBe('bus-dlq-original-topic');
  });
});
