import { correlationId, deadLetter, type HandlerEvent, retry, retryTopicName, retryTopics, timeout } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { context, received } from '../support/received.ts';
import { TestPubSub } from '../support/test-pubsub.ts';

/** What an observer saw, without the objects: type, retry number, topic, error message. */
function summary(events: readonly HandlerEvent[]): unknown[] {
  return events.map((e) =>
    e.type === 'retry' ? ['retry', e.retry, e.topic, e.error.message] : ['deadLetter', e.topic, e.error.message],
  );
}

describe('handler events (HandlerContext.onEvent)', () => {
  it('retry and deadLetter report each retry and the dead letter, through timeout and correlationId', async () => {
    const pubsub = new TestPubSub();
    const events: HandlerEvent[] = [];
    let calls = 0;
    const handler = deadLetter({ publisher: pubsub, topic: 'dlq' })(
      correlationId()(
        retry({ maxRetries: 2, initialIntervalMs: 1, randomizationFactor: 0 })(
          timeout({ timeoutMs: 5_000 })(() => {
            throw new Error(`attempt ${++calls}`);
          }),
        ),
      ),
    );
    const message = received();
    await expect(handler(message, context({ onEvent: (e) => events.push(e) }))).resolves.toBeUndefined();
    expect(calls).toBe(3);
    expect(summary(events)).toEqual([
      ['retry', 1, undefined, 'attempt 1'],
      ['retry', 2, undefined, 'attempt 2'],
      ['deadLetter', 'dlq', 'attempt 3'],
    ]);
    expect(events.every((e) => e.message === message)).toBe(true);
    const [letter] = pubsub.published('dlq');
    expect(events[2]?.type === 'deadLetter' && events[2].deadLetter.id).toBe(letter?.id);
    expect(events.map((e) => e.type === 'retry' && e.delayMs)).toEqual([1, 2, false]);
  });

  it('retryTopics reports a move to a retry topic as a retry, and the last move as a dead letter', async () => {
    const pubsub = new TestPubSub();
    const events: HandlerEvent[] = [];
    const handler = retryTopics({ publisher: pubsub, delaysMs: [0] })(() => {
      throw new Error('poison');
    });
    const onEvent = (e: HandlerEvent) => events.push(e);
    await handler(received({ topic: 'orders' }), context({ onEvent }));
    const [moved] = pubsub.published(retryTopicName('orders', 1));
    expect(moved).toBeDefined();
    const headers = { ...moved?.headers };
    await handler(received({ topic: retryTopicName('orders', 1), headers }), context({ onEvent }));
    expect(summary(events)).toEqual([
      ['retry', 1, retryTopicName('orders', 1), 'poison'],
      ['deadLetter', 'orders.dlq', 'poison'],
    ]);
  });

  it('an observer that throws changes nothing: the retry and the dead letter still happen', async () => {
    const pubsub = new TestPubSub();
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (_: unknown, msg?: string) => warnings.push(msg ?? '') };
    let calls = 0;
    const handler = deadLetter({ publisher: pubsub, topic: 'dlq' })(
      retry({ maxRetries: 1, initialIntervalMs: 1 })(() => {
        calls++;
        throw new Error('fails');
      }),
    );
    const onEvent = () => {
      throw new Error('observer bug');
    };
    await expect(handler(received(), context({ onEvent, logger }))).resolves.toBeUndefined();
    expect(calls).toBe(2);
    expect(pubsub.published('dlq')).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('observer failed'))).toHaveLength(2);
  });
});
