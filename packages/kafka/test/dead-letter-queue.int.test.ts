import {
  ClosedError,
  ConfigError,
  DEAD_LETTER_REPLAY_HEADERS,
  DeadLetterHeaders,
  DeadLetterNotFoundError,
  deadLetter,
  payloadText,
  Router,
  retry,
  textMessage,
} from '@bus/core';
import { KafkaDeadLetterQueue, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { brokers, createTopic, waitFor } from './subscriber-helpers.js';

class ChargeDeclined extends Error {
  override name = 'ChargeDeclined';
}

describe('KafkaDeadLetterQueue on the real broker', () => {
  it('a poison message is retried, dead-lettered with its headers, listed, counted, replayed and handled; purge empties the queue', async () => {
    const topic = await createTopic('dlq-orders', 3);
    const dlqTopic = await createTopic('dlq-orders.dlq', 2);
    const group = uniqueName('dlq-billing');
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    await using dlq = new KafkaDeadLetterQueue({ brokers: brokers(), topic: dlqTopic });

    let healed = false;
    const handled: string[] = [];
    let attempts = 0;
    const router = new Router({
      middleware: [
        deadLetter({ publisher, topic: dlqTopic }),
        retry({ maxRetries: 2, initialIntervalMs: 10, randomizationFactor: 0 }),
      ],
    });
    router.addConsumerHandler({
      name: 'billing',
      subscribeTopic: topic,
      subscriber: new KafkaSubscriber({ brokers: brokers() }),
      group,
      concurrency: 4,
      orderBy: 'key',
      handle: (message) => {
        const text = payloadText(message);
        if (text === 'poison' && !healed) {
          attempts++;
          throw new ChargeDeclined('card declined', { cause: new RangeError('amount out of range') });
        }
        const replayedFrom = message.headers[DEAD_LETTER_REPLAY_HEADERS.replayedFrom];
        handled.push(replayedFrom === undefined ? text : `${text} from ${replayedFrom}`);
      },
    });
    const run = router.run();

    const before = Date.now();
    await publisher.publish(
      topic,
      textMessage('poison', { id: 'poison-1', key: 'order-1', headers: { trace: 't-1' } }),
    );
    const others = Array.from({ length: 50 }, (_, i) => textMessage(`ok-${i}`, { key: `order-${2 + (i % 10)}` }));
    await publisher.publish(topic, ...others);
    // Other aggregates are never blocked by the poison message.
    await waitFor(() => handled.length === 50, 'the 50 healthy messages handled');
    await waitFor(async () => (await dlq.count()) === 1, 'one dead letter');
    expect(attempts).toBe(3);

    const letters = await dlq.list();
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    expect(letter?.message.id).toBe('poison-1');
    expect(letter?.message.key).toBe('order-1');
    expect(letter?.message.headers).toMatchObject({
      trace: 't-1',
      [DeadLetterHeaders.originalTopic]: topic,
      [DeadLetterHeaders.originalConsumerGroup]: group,
      [DeadLetterHeaders.errorClass]: 'ChargeDeclined',
      [DeadLetterHeaders.errorMessage]: 'card declined',
      [DeadLetterHeaders.errorCauseClass]: 'RangeError',
      [DeadLetterHeaders.attempts]: '3',
      [DeadLetterHeaders.retryCount]: '2',
    });
    expect(letter?.message.headers[DeadLetterHeaders.errorStack]).toContain('ChargeDeclined: card declined');
    expect(letter?.failure).toMatchObject({
      originalTopic: topic,
      consumerGroup: group,
      handler: 'billing',
      errorClass: 'ChargeDeclined',
      causes: [{ errorClass: 'RangeError', message: 'amount out of range' }],
      attempts: 3,
    });
    const failure = letter?.failure;
    expect(failure?.firstFailedAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(failure?.lastFailedAt.getTime()).toBeGreaterThanOrEqual(failure?.firstFailedAt.getTime() ?? Number.NaN);
    expect(letter?.original?.headers).toEqual({ trace: 't-1' });
    const poisonOffset = failure?.originalOffset ?? -1;
    expect(poisonOffset).toBeGreaterThanOrEqual(0);

    healed = true;
    const position = { partition: letter?.partition ?? -1, offset: letter?.offset ?? -1 };
    expect(await dlq.replay(position)).toEqual({ replayed: [position], skipped: [] });
    await waitFor(
      () => handled.includes(`poison from ${dlqTopic}/${position.partition}/${position.offset}`),
      'the replayed message handled',
    );
    // Replay copies: the letter stays until purged.
    expect(await dlq.count()).toBe(1);
    expect(await dlq.purge()).toBe(1);
    expect(await dlq.count()).toBe(0);
    expect(await dlq.list()).toEqual([]);
    await expect(dlq.replay(position)).rejects.toSatisfy(DeadLetterNotFoundError.isInstance);

    await router.close();
    await run;
  });

  it('pages with from and limit, replays by predicate in order, and treats a missing topic as empty', async () => {
    const topic = await createTopic('dlq-pages', 1);
    const dlqTopic = await createTopic('dlq-pages.dlq', 1);
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    const letters = Array.from({ length: 6 }, (_, i) =>
      textMessage(`letter-${i}`, {
        key: 'order-7',
        headers: {
          [DeadLetterHeaders.originalTopic]: topic,
          [DeadLetterHeaders.originalPartition]: '0',
          [DeadLetterHeaders.originalOffset]: String(i),
          [DeadLetterHeaders.errorClass]: i % 2 === 0 ? 'TimeoutError' : 'TypeError',
          [DeadLetterHeaders.errorMessage]: 'boom',
          [DeadLetterHeaders.failedAt]: new Date().toISOString(),
        },
      }),
    );
    await publisher.publish(dlqTopic, ...letters, textMessage('not a dead letter'));
    await using dlq = new KafkaDeadLetterQueue({ brokers: brokers(), topic: dlqTopic, publisher });

    expect(await dlq.count()).toBe(7);
    const first = await dlq.list({ limit: 4 });
    expect(first.map((l) => payloadText(l.message))).toEqual(['letter-0', 'letter-1', 'letter-2', 'letter-3']);
    const rest = await dlq.list({ from: { partition: 0, offset: 4 } });
    expect(rest.map((l) => l.offset)).toEqual([4, 5, 6]);
    expect(rest[2]).toMatchObject({ failure: undefined, original: undefined });

    const report = await dlq.replay((l) => l.failure === undefined || l.failure.errorClass === 'TimeoutError');
    expect(report.replayed.map((p) => p.offset)).toEqual([0, 2, 4]);
    expect(report.skipped).toEqual([{ partition: 0, offset: 6 }]);

    // The replays land on the original topic, in order, with the original headers and the replay ones.
    const reader = new KafkaSubscriber({ brokers: brokers() });
    const seen: { text: string; headers: Record<string, string> }[] = [];
    for await (const message of reader.subscribe(topic, { group: uniqueName('dlq-pages-reader') })) {
      seen.push({ text: payloadText(message), headers: { ...message.headers } });
      message.ack();
      if (seen.length === 3) break;
    }
    await reader.close();
    expect(seen.map((s) => s.text)).toEqual(['letter-0', 'letter-2', 'letter-4']);
    expect(seen[0]?.headers[DEAD_LETTER_REPLAY_HEADERS.replayedFrom]).toBe(`${dlqTopic}/0/0`);
    expect(Object.keys(seen[0]?.headers ?? {}).some((name) => name.startsWith('bus-dlq-'))).toBe(false);

    await using missing = new KafkaDeadLetterQueue({ brokers: brokers(), topic: uniqueName('dlq-missing') });
    expect(await missing.count()).toBe(0);
    expect(await missing.list()).toEqual([]);
    expect(await missing.purge()).toBe(0);
  });

  it('close() leaves a publisher it was given open', async () => {
    const topic = await createTopic('dlq-given-publisher', 1);
    const dlqTopic = await createTopic('dlq-given-publisher.dlq', 1);
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    await publisher.publish(
      dlqTopic,
      textMessage('letter', {
        headers: {
          [DeadLetterHeaders.originalTopic]: topic,
          [DeadLetterHeaders.originalPartition]: '0',
          [DeadLetterHeaders.originalOffset]: '0',
        },
      }),
    );
    const dlq = new KafkaDeadLetterQueue({ brokers: brokers(), topic: dlqTopic, publisher });
    expect((await dlq.replay({ partition: 0, offset: 0 })).replayed).toHaveLength(1);
    await dlq.close();
    await expect(dlq.count()).rejects.toSatisfy(ClosedError.isInstance);
    // Still the caller's to use and to close.
    await publisher.publish(topic, textMessage('after close'));
  });

  it('rejects invalid options, all at once, with a ConfigError', () => {
    const error = (() => {
      try {
        new KafkaDeadLetterQueue({ brokers: [], topic: '', readTimeoutMs: 0 });
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(ConfigError.isInstance(error) && error.issues.map((i) => i.path).sort()).toEqual([
      'brokers',
      'readTimeoutMs',
      'topic',
    ]);
  });
});
