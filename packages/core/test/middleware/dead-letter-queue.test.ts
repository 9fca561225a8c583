import {
  ConfigError,
  DEAD_LETTER_REPLAY_HEADERS,
  DeadLetterHeaders,
  DeadLetterNotFoundError,
  deadLetter,
  MemoryBroker,
  payloadText,
  Router,
  retry,
  textMessage,
} from '@bus/core';
import { describe, expect, it } from 'vitest';
import { until } from '../support/test-pubsub.ts';

class ChargeDeclined extends Error {
  override name = 'ChargeDeclined';
}

/** A router whose `billing` handler fails on payloads starting with "poison" until `healed`. */
function poisonRouter(broker: MemoryBroker) {
  const state = { healed: false, handled: [] as string[] };
  const dlqPublisher = broker.publisher();
  const router = new Router({
    middleware: [
      deadLetter({ publisher: dlqPublisher, topic: 'orders.dlq' }),
      retry({ maxRetries: 2, initialIntervalMs: 1, randomizationFactor: 0 }),
    ],
  });
  router.addHandler({
    name: 'billing',
    subscribeTopic: 'orders',
    subscriber: broker.subscriber(),
    group: 'billing-group',
    handle: (message) => {
      const text = payloadText(message);
      if (text.startsWith('poison') && !state.healed) {
        throw new ChargeDeclined('card declined', { cause: new TypeError('amount is NaN', { cause: 'gateway 402' }) });
      }
      const replayed = message.headers[DEAD_LETTER_REPLAY_HEADERS.replayedFrom] ? ' (replayed)' : '';
      const binary = message.binaryHeaders?.['x-bin'] === undefined ? '' : ' (binary header)';
      state.handled.push(`${text}${replayed}${binary}`);
    },
  });
  return { router, state };
}

describe('MemoryBroker.deadLetterQueue', () => {
  it('lists a poison message with its failure, counts it, replays it to the original topic, then purges', async () => {
    await using broker = new MemoryBroker({ defaultPartitions: 2 });
    const { router, state } = poisonRouter(broker);
    const run = router.run();
    const publisher = broker.publisher();
    const before = Date.now();
    await publisher.publish(
      'orders',
      textMessage('poison-1', {
        id: 'p-1',
        key: 'order-1',
        headers: { trace: 't-1' },
        binaryHeaders: { 'x-bin': new Uint8Array([0xff, 0x00]) },
      }),
      textMessage('ok-1', { key: 'order-2' }),
    );
    const dlq = broker.deadLetterQueue('orders.dlq');
    await until(() => state.handled.includes('ok-1'), 'the healthy message handled');
    await until(() => (broker.describeTopic('orders.dlq')?.reduce((n, p) => n + p.end, 0) ?? 0) === 1, 'dead-lettered');

    expect(await dlq.count()).toBe(1);
    const [letter, ...rest] = await dlq.list();
    expect(rest).toEqual([]);
    expect(letter?.message.id).toBe('p-1');
    expect(letter?.original?.headers).toEqual({ trace: 't-1' });
    // Binary headers travel with the dead letter and its replay.
    expect(letter?.original?.binaryHeaders).toEqual({ 'x-bin': new Uint8Array([0xff, 0x00]) });
    expect(letter?.original?.key).toBe('order-1');
    expect(letter?.failure).toMatchObject({
      originalTopic: 'orders',
      consumerGroup: 'billing-group',
      handler: 'billing',
      errorClass: 'ChargeDeclined',
      errorMessage: 'card declined',
      causes: [
        { errorClass: 'TypeError', message: 'amount is NaN' },
        { errorClass: 'string', message: 'gateway 402' },
      ],
      attempts: 3,
    });
    expect(letter?.failure?.stack).toContain('ChargeDeclined: card declined');
    expect(letter?.failure?.firstFailedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(letter?.failure?.lastFailedAt.getTime()).toBeGreaterThanOrEqual(
      letter?.failure?.firstFailedAt.getTime() ?? 0,
    );
    expect(letter?.message.headers[DeadLetterHeaders.errorCauseClass]).toBe('TypeError');

    state.healed = true;
    const report = await dlq.replay({ partition: letter?.partition ?? -1, offset: letter?.offset ?? -1 });
    expect(report).toEqual({ replayed: [{ partition: letter?.partition, offset: letter?.offset }], skipped: [] });
    await until(() => state.handled.includes('poison-1 (replayed) (binary header)'), 'the replayed message handled');
    expect(await dlq.count()).toBe(1);

    expect(await dlq.purge()).toBe(1);
    expect(await dlq.count()).toBe(0);
    expect(await dlq.list()).toEqual([]);
    await router.close();
    await run;
  });

  it('replays every letter a predicate accepts, keeps per-key order of the replayed messages, and pages with from', async () => {
    await using broker = new MemoryBroker();
    const { router, state } = poisonRouter(broker);
    const run = router.run();
    const publisher = broker.publisher();
    for (let i = 0; i < 5; i++) await publisher.publish('orders', textMessage(`poison-${i}`, { key: 'order-9' }));
    const dlq = broker.deadLetterQueue('orders.dlq');
    await until(() => broker.describeTopic('orders.dlq')?.[0]?.end === 5, 'five dead letters');

    const firstPage = await dlq.list({ limit: 2 });
    expect(firstPage.map((l) => l.offset)).toEqual([0, 1]);
    const secondPage = await dlq.list({ limit: 10, from: { partition: 0, offset: 2 } });
    expect(secondPage.map((l) => payloadText(l.message))).toEqual(['poison-2', 'poison-3', 'poison-4']);

    state.healed = true;
    const report = await dlq.replay((l) => payloadText(l.message) !== 'poison-0');
    expect(report.replayed.map((p) => p.offset)).toEqual([1, 2, 3, 4]);
    await until(() => state.handled.length === 4, 'four replays handled');
    expect(state.handled).toEqual([1, 2, 3, 4].map((i) => `poison-${i} (replayed)`));
    await router.close();
    await run;
  });

  it('treats a missing topic as empty, skips records without bus-dlq headers, and rejects bad input with typed errors', async () => {
    await using broker = new MemoryBroker();
    const dlq = broker.deadLetterQueue('nothing.dlq');
    expect(await dlq.count()).toBe(0);
    expect(await dlq.list()).toEqual([]);
    expect(await dlq.purge()).toBe(0);
    await expect(dlq.replay({ partition: 0, offset: 0 })).rejects.toSatisfy(DeadLetterNotFoundError.isInstance);

    await broker.publisher().publish('nothing.dlq', textMessage('hand-written'));
    expect((await dlq.list())[0]).toMatchObject({ original: undefined, failure: undefined });
    expect(await dlq.replay(() => true)).toEqual({ replayed: [], skipped: [{ partition: 0, offset: 0 }] });

    const invalid = await dlq.list({ limit: 0, from: { partition: -1, offset: 1.5 } }).catch((e: unknown) => e);
    expect(ConfigError.isInstance(invalid) && invalid.issues.map((i) => i.path)).toEqual([
      'limit',
      'from.partition',
      'from.offset',
    ]);
    await expect(dlq.replay('0/0' as never)).rejects.toSatisfy(ConfigError.isInstance);
    expect(() => broker.deadLetterQueue('')).toThrow(ConfigError);

    await dlq.purge();
    await expect(dlq.replay({ partition: 0, offset: 0 })).rejects.toThrow('No dead letter at nothing.dlq/0/0');
  });
});
