import {
  MemoryBroker,
  type ReadyTaker,
  type ReceivedMessage,
  Router,
  type Subscriber,
  takeReady,
  textMessage,
} from '@bus/core';
import { describe, expect, it } from 'vitest';
import { until } from './support/test-pubsub.ts';

/** Wraps a subscriber so each iterator counts `next()` and `takeReady` calls (forwarding both). */
function counting(inner: Subscriber, calls: { next: number; takeReady: number }): Subscriber {
  return {
    specVersion: inner.specVersion,
    subscribe(topic, options) {
      return {
        [Symbol.asyncIterator]() {
          const iterator = inner.subscribe(topic, options)[Symbol.asyncIterator]() as AsyncIterator<ReceivedMessage> &
            Partial<ReadyTaker>;
          const wrapped: AsyncIterator<ReceivedMessage> & ReadyTaker = {
            next: () => {
              calls.next++;
              return iterator.next();
            },
            return: () => iterator.return?.() ?? Promise.resolve({ done: true, value: undefined }),
            [takeReady]: () => {
              calls.takeReady++;
              return iterator[takeReady]?.();
            },
          };
          return wrapped;
        },
      };
    },
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
}

describe('Router with a transport offering takeReady', () => {
  it('takes ready messages synchronously in bounded bursts, keeping per-key order and losing nothing', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 4 });
    const count = 5_000;
    const messages = Array.from({ length: count }, (_, i) => textMessage(String(i), { key: `k${i % 7}` }));
    await broker.publisher().publish('burst', ...messages);
    const calls = { next: 0, takeReady: 0 };
    const seen = new Map<string, number[]>();
    let handled = 0;
    const router = new Router();
    router.addConsumerHandler({
      name: 'burst',
      subscribeTopic: 'burst',
      subscriber: counting(broker.subscriber(), calls),
      group: 'g',
      concurrency: 4,
      handle: async (message) => {
        // Half the calls finish later, so bursts stop at the router's limit as well as at the cap.
        if (Number(new TextDecoder().decode(message.payload)) % 2 === 0) await Promise.resolve();
        const key = message.key as string;
        seen.set(key, [...(seen.get(key) ?? []), Number(new TextDecoder().decode(message.payload))]);
        handled++;
      },
    });
    const run = router.run();
    await until(() => handled === count, 'every message handled');
    await router.close();
    await run;

    for (const values of seen.values()) expect(values).toEqual([...values].sort((a, b) => a - b));
    expect([...seen.values()].flat().sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    // Most messages came through the fast path, and next() still ran at least once per burst of 256.
    expect(calls.takeReady).toBeGreaterThan(count / 2);
    expect(calls.next).toBeGreaterThanOrEqual(Math.ceil(count / 257));
    // A slot freed by a handler that finished later is refilled through takeReady too, not with a
    // next() promise per message.
    expect(calls.next).toBeLessThanOrEqual(2 * Math.ceil(count / 256) + 4);
    // Nothing left unacked: a new member of the group finds no message to redeliver.
    const again = broker
      .subscriber()
      .subscribe('burst', { group: 'g' })
      [Symbol.asyncIterator]() as AsyncIterator<ReceivedMessage> & ReadyTaker;
    const pending = again.next();
    expect(again[takeReady]()).toBeUndefined();
    await again.return?.();
    expect((await pending).done).toBe(true);
  });
});
