import {
  ConfigError,
  DeadLetterHeaders,
  deadLetter,
  MemoryBroker,
  PublishError,
  type ReceivedMessage,
  Router,
  retry,
  TimeoutError,
  textMessage,
  timeout,
} from '@bus/core';
import { describe, expect, it } from 'vitest';
import { context, received } from '../support/received.ts';
import { TestPubSub, until } from '../support/test-pubsub.ts';

describe('deadLetter', () => {
  it('publishes the failed message with its payload, key, headers and bus-dlq-* headers, then returns normally', async () => {
    const dlq = new TestPubSub();
    const handler = deadLetter({ publisher: dlq, topic: 'orders.dlq' })(() => {
      throw new TimeoutError('charge card', 500);
    });
    const message = received({
      id: 'm-1',
      key: 'customer-7',
      headers: { trace: 'abc' },
      payload: new Uint8Array([9, 8, 7]),
      topic: 'orders',
      partition: 3,
      offset: 42,
      deliveryAttempt: 2,
    });
    await expect(handler(message, context({ handlerName: 'billing' }))).resolves.toBeUndefined();

    const [letter] = dlq.published('orders.dlq');
    expect(letter).toBeDefined();
    expect(letter?.id).toBe('m-1');
    expect(letter?.key).toBe('customer-7');
    expect([...(letter?.payload ?? [])]).toEqual([9, 8, 7]);
    expect(letter?.headers).toMatchObject({
      trace: 'abc',
      [DeadLetterHeaders.originalTopic]: 'orders',
      [DeadLetterHeaders.originalPartition]: '3',
      [DeadLetterHeaders.originalOffset]: '42',
      [DeadLetterHeaders.handler]: 'billing',
      [DeadLetterHeaders.errorMessage]: 'charge card did not complete within 500 ms',
      [DeadLetterHeaders.errorClass]: 'TimeoutError',
      [DeadLetterHeaders.errorCode]: 'TIMEOUT',
      [DeadLetterHeaders.retryCount]: '1',
    });
    expect(Date.parse(letter?.headers[DeadLetterHeaders.failedAt] ?? '')).not.toBeNaN();
    expect(Object.keys(DeadLetterHeaders).length).toBe(
      Object.values(DeadLetterHeaders).filter((h) => h.startsWith('bus-dlq-')).length,
    );
  });

  it('counts in-process retries in the retry-count header when retry runs inside it', async () => {
    const dlq = new TestPubSub();
    const handler = deadLetter({ publisher: dlq, topic: 'dlq' })(
      retry({ maxRetries: 2, initialIntervalMs: 1, randomizationFactor: 0 })(() => {
        throw new Error('still broken');
      }),
    );
    await handler(received({ deliveryAttempt: 3 }), context());
    expect(dlq.published('dlq')[0]?.headers[DeadLetterHeaders.retryCount]).toBe(String(2 + 2));
  });

  it('rethrows errors the filter rejects, and the original error when the dead-letter publish fails', async () => {
    const dlq = new TestPubSub();
    const filtered = deadLetter({ publisher: dlq, topic: 'dlq', filter: (e) => e.message === 'poison' })(() => {
      throw new Error('transient');
    });
    await expect(filtered(received(), context())).rejects.toThrow('transient');
    expect(dlq.published('dlq')).toHaveLength(0);

    dlq.beforePublish = () => {
      throw new PublishError('dlq', 'broker down');
    };
    const failing = deadLetter({ publisher: dlq, topic: 'dlq' })(() => {
      throw new Error('poison');
    });
    await expect(failing(received(), context())).rejects.toThrow('poison');
  });

  it('acks the original through the router once the dead letter is stored', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    router.addConsumerHandler({
      name: 'poisoned',
      subscribeTopic: 'in',
      subscriber: bus,
      middleware: [deadLetter({ publisher: bus, topic: 'in.dlq' })],
      handle: () => {
        throw new Error('cannot parse');
      },
    });
    const run = router.run();
    await bus.publish('in', textMessage('{bad json', { id: 'p-1' }));
    await until(() => bus.eventsOf('ack', 'in').length === 1, 'original acked');
    await router.close();
    await run;
    const publishOfLetter = bus.events.findIndex((e) => e.type === 'publish' && e.topic === 'in.dlq');
    const ack = bus.events.findIndex((e) => e.type === 'ack' && e.topic === 'in');
    expect(publishOfLetter).toBeGreaterThanOrEqual(0);
    expect(publishOfLetter).toBeLessThan(ack);
    expect(bus.eventsOf('nack')).toEqual([]);
  });

  it('end to end over MemoryBroker: timeout per attempt, retries, then the dead-letter topic and a commit', async () => {
    await using broker = new MemoryBroker();
    const dlqPublisher = broker.publisher();
    const router = new Router({ closeTransports: false });
    let attempts = 0;
    router.addConsumerHandler({
      name: 'payments',
      subscribeTopic: 'payments',
      subscriber: broker.subscriber(),
      group: 'payments',
      middleware: [
        deadLetter({ publisher: dlqPublisher, topic: 'payments.dlq' }),
        retry({ maxRetries: 2, initialIntervalMs: 1, randomizationFactor: 0 }),
        timeout({ timeoutMs: 20 }),
      ],
      handle: async (_message, { signal }) => {
        attempts++;
        // Never answers: only the timeout ends each attempt.
        await new Promise<void>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      },
    });
    const run = router.run();
    await broker.publisher().publish('payments', textMessage('charge', { id: 'pay-1', key: 'acct-9' }));
    await until(() => broker.committedOffsets('payments', 'payments')?.[0] === 1, 'original committed');
    await router.close();
    await run;

    expect(attempts).toBe(3);
    const letters: ReceivedMessage[] = [];
    for await (const letter of broker.subscriber().subscribe('payments.dlq', { group: 'inspect' })) {
      letters.push(letter);
      letter.ack();
      break;
    }
    expect(letters[0]?.id).toBe('pay-1');
    expect(letters[0]?.key).toBe('acct-9');
    expect(letters[0]?.headers).toMatchObject({
      [DeadLetterHeaders.errorClass]: 'TimeoutError',
      [DeadLetterHeaders.retryCount]: '2',
      [DeadLetterHeaders.handler]: 'payments',
      [DeadLetterHeaders.originalTopic]: 'payments',
    });
  });

  it('reports every invalid option at once', () => {
    expect(() => deadLetter({ publisher: {} as never, topic: '', filter: 1 as never })).toThrow(
      expect.objectContaining({
        issues: [
          expect.objectContaining({ path: 'publisher' }),
          expect.objectContaining({ path: 'topic' }),
          expect.objectContaining({ path: 'filter' }),
        ],
      }),
    );
    expect(() => deadLetter(undefined as never)).toThrow(ConfigError);
  });
});
