import { expect, it } from 'vitest';
import { itWhen } from '../internal/feature-gate.js';
import { numbered, publishAll, type SuiteContext, seqOf } from '../internal/context.js';

/** Ordering per key, and isolation of a poison message, across partitions. */
export function orderCases(ctx: SuiteContext): void {
  itWhen(ctx.options.features.guaranteedOrderPerKey)(
    'keeps publish order per key across partitions, even with nacks',
    async () => {
      const topic = await ctx.topic(4);
      const keys = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];
      const count = ctx.volume(300, 60);
      const messages = Array.from({ length: count }, (_, i) => numbered('order', i, keys[i % keys.length]));
      const publisher = await ctx.publisher();
      await publishAll(publisher, topic, messages, 50);
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const ackedPerKey = new Map<string, number[]>();
      const seen = new Set<number>();
      await reader.until(
        () => seen.size === count,
        ctx.waitMs * 2,
        `all ${count} messages`,
        (message) => {
          const seq = seqOf(message);
          // Fail the first delivery of every 7th message, so redeliveries must keep the order too.
          if (seq % 7 === 3 && message.deliveryAttempt === 1 && !seen.has(seq)) {
            message.nack();
            return;
          }
          message.ack();
          seen.add(seq);
          const key = textKey(message.key) as string;
          const acked = ackedPerKey.get(key) ?? [];
          acked.push(seq);
          ackedPerKey.set(key, acked);
        },
      );
      for (const [key, acked] of ackedPerKey) {
        const expected = messages.filter((m) => textKey(m.key) === key).map(seqOf);
        // Duplicates are allowed (at-least-once), going back is not.
        const inOrder = acked.filter((seq, i) => i === 0 || seq !== acked[i - 1]);
        expect(inOrder, `order of key ${key}`).toEqual(expected);
      }
    },
    ctx.testTimeout(60_000),
  );

  it(
    'does not let a poison message block other partitions',
    async () => {
      const topic = await ctx.topic(4);
      const publisher = await ctx.publisher();
      const keys = Array.from({ length: 16 }, (_, i) => `probe-${i}`);
      await publisher.publish(topic, ...keys.map((key, i) => numbered('probe', i, key)));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const probes = await reader.take(keys.length, ctx.waitMs);
      const partitionOfKey = new Map(probes.map((m) => [textKey(m.key), m.partition]));
      const poisonKey = keys[0] as string;
      const poisonPartition = partitionOfKey.get(poisonKey);
      const otherKeys = keys.filter((key) => partitionOfKey.get(key) !== poisonPartition);
      expect(otherKeys.length, 'keys landing on another partition than the poison').toBeGreaterThan(0);
      await publisher.publish(topic, numbered('poison', 0, poisonKey));
      const others = otherKeys.map((key, i) => numbered('healthy', i, key));
      await publisher.publish(topic, ...others);
      const pending = new Set(others.map((m) => m.id));
      let poisonDeliveries = 0;
      await reader.until(
        () => pending.size === 0 && poisonDeliveries >= 2,
        ctx.waitMs * 2,
        'the healthy messages while the poison message keeps failing',
        (message) => {
          if (message.id === 'poison-0') {
            poisonDeliveries++;
            message.nack({ delayMs: 20, reason: new Error('poison') });
          } else {
            message.ack();
            pending.delete(message.id);
          }
        },
      );
      // Everything healthy went through while the poison message was still being redelivered.
      expect(pending.size).toBe(0);
      expect(poisonDeliveries).toBeGreaterThanOrEqual(2);
    },
    ctx.testTimeout(),
  );

  it(
    'holds back the rest of a partition while a message nacked with a delay waits, and only that partition',
    async () => {
      // What non-blocking retry topics rely on: a consumer defers a message that is not due yet by
      // nacking it with a delay; later messages of its partition must wait, the others flow.
      const topic = await ctx.topic(2);
      const publisher = await ctx.publisher();
      const keys = Array.from({ length: 16 }, (_, i) => `hold-${i}`);
      await publisher.publish(topic, ...keys.map((key, i) => numbered('probe', i, key)));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const probes = await reader.take(keys.length, ctx.waitMs);
      const partitionOfKey = new Map(probes.map((m) => [textKey(m.key), m.partition]));
      const heldKey = keys[0] as string;
      const otherKey = keys.find((key) => partitionOfKey.get(key) !== partitionOfKey.get(heldKey));
      const sameKey = keys.find((key) => key !== heldKey && partitionOfKey.get(key) === partitionOfKey.get(heldKey));
      expect(otherKey, 'a key on the other partition').toBeDefined();

      await publisher.publish(topic, numbered('held', 0, heldKey));
      const held = await reader.next(ctx.waitMs, 'the message to defer');
      expect(held.id).toBe('held-0');
      const delayMs = 3_000;
      const nackedAt = performance.now();
      expect(held.nack({ delayMs })).toBe(true);
      const behind = [
        numbered('behind', 0, heldKey),
        ...(sameKey === undefined ? [] : [numbered('behind', 1, sameKey)]),
      ];
      const flowing = Array.from({ length: 5 }, (_, i) => numbered('flowing', i, otherKey));
      await publisher.publish(topic, ...behind, ...flowing);

      const order: string[] = [];
      let redeliveredAfterMs = Number.NaN;
      await reader.until(
        () => order.length === 1 + behind.length + flowing.length,
        ctx.waitMs + delayMs,
        'the other partition, then the deferred message, then what waited behind it',
        (message) => {
          if (message.id === 'held-0') redeliveredAfterMs = performance.now() - nackedAt;
          order.push(message.id);
          message.ack();
        },
      );
      // Lower bound only (a little slack for timer granularity): the deferred message was not early.
      expect(redeliveredAfterMs).toBeGreaterThanOrEqual(delayMs - 20);
      const heldAt = order.indexOf('held-0');
      // Nothing of its partition overtook it...
      for (const message of behind) expect(order.indexOf(message.id), message.id).toBeGreaterThan(heldAt);
      // ...while the other partition was delivered during the wait.
      for (const message of flowing) expect(order.indexOf(message.id), message.id).toBeLessThan(heldAt);
    },
    ctx.testTimeout(),
  );
}

/** A key as text whether the transport returns it as a string or as UTF-8 bytes. */
function textKey(key: string | Uint8Array | undefined): string | undefined {
  return typeof key === 'string' || key === undefined ? key : new TextDecoder().decode(key);
}
