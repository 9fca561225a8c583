import { MemoryBroker, type Message, payloadText, Router, textMessage } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { gate } from './support/deferred.ts';
import { until } from './support/test-pubsub.ts';

describe('Router restarts (at-least-once across shutdowns)', () => {
  it('loses nothing and never skips ahead within a key when routers are closed mid-stream and replaced', async () => {
    const total = 10_000;
    const keys = 200;
    const generations = 4;
    await using broker = new MemoryBroker({ defaultPartitions: 4 });
    const publisher = broker.publisher();
    const nextSequence = new Array<number>(keys).fill(0);
    const batch: Message[] = [];
    for (let i = 0; i < total; i++) {
      const k = i % keys;
      batch.push(textMessage(String(nextSequence[k]), { key: `key-${k}` }));
      nextSequence[k] = (nextSequence[k] ?? 0) + 1;
    }
    await publisher.publish('restart-in', ...batch);

    const committedTotal = (): number =>
      (broker.committedOffsets('restart-in', 'restart') ?? []).reduce((a, b) => a + b, 0);
    const highest = new Map<string, number>();
    const skips: string[] = [];
    let handledTotal = 0;
    for (let generation = 0; generation < generations; generation++) {
      const last = generation === generations - 1;
      const router = new Router({ closeTransports: false });
      const enough = gate();
      let handledHere = 0;
      router.addConsumerHandler({
        name: `gen-${generation}`,
        subscribeTopic: 'restart-in',
        subscriber: broker.subscriber(),
        group: 'restart',
        concurrency: 8,
        handle: async (message) => {
          const key = message.key as string;
          const sequence = Number(payloadText(message));
          const seen = highest.get(key) ?? -1;
          if (sequence > seen + 1) skips.push(`${key}: ${sequence} after ${seen}`);
          highest.set(key, Math.max(seen, sequence));
          if (sequence % 5 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
          handledTotal++;
          handledHere++;
          if (!last && handledHere === Math.floor(total / generations)) enough.resolve();
        },
      });
      const run = router.run();
      if (last) {
        // The final generation finishes everything that is left.
        await until(() => committedTotal() === total, 'every offset committed', 30_000);
      } else {
        await enough.promise;
      }
      // Close mid-stream: in-flight handlers drain, waiting messages are nacked back to the broker.
      await router.close({ timeoutMs: 5_000 });
      await run;
    }

    expect(skips).toEqual([]);
    expect(handledTotal).toBeGreaterThanOrEqual(total);
    for (let k = 0; k < keys; k++) expect(highest.get(`key-${k}`)).toBe(total / keys - 1);
    expect(committedTotal()).toBe(total);
  }, 60_000);
});
