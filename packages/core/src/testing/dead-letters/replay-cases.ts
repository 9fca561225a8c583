import { expect, it } from 'vitest';
import { DEAD_LETTER_HEADER_PREFIX, DeadLetterHeaders, deadLetter } from '../../middleware/dead-letter.js';
import {
  DEAD_LETTER_REPLAY_HEADERS,
  type DeadLetter,
  DeadLetterNotFoundError,
} from '../../middleware/dead-letter-queue.js';
import { retry } from '../../middleware/retry.js';
import { payloadText, textMessage } from '../../message-helpers.js';
import { Router } from '../../router/router.js';
import { type DeadLetterSuiteContext, letter, publishInOrder, rejectionOf, strayRecord } from './context.js';

class ChargeDeclined extends Error {
  override name = 'ChargeDeclined';
}

const positionOf = (l: DeadLetter) => ({ partition: l.partition, offset: l.offset });

/** replay by position and by predicate, purge, and the whole path from a failing handler and back. */
export function replayCases(ctx: DeadLetterSuiteContext): void {
  it(
    'replays one position: the original id, payload, key, timestamp and headers plus the replay headers, to the original topic; the letter stays',
    async () => {
      const original = await ctx.topic();
      const dlqTopic = await ctx.topic();
      const publisher = await ctx.publisher();
      await publishInOrder(publisher, dlqTopic, [
        letter('l-0', { topic: original, offset: 3 }, 'order-1'),
        letter('l-1', { topic: original, offset: 4 }, 'order-1'),
      ]);
      const queue = await ctx.queue(dlqTopic);
      const [, second] = await queue.list();
      const at = positionOf(second as DeadLetter);
      const reader = await ctx.reader(original);
      const before = Date.now();
      expect(await queue.replay(at)).toEqual({ replayed: [at], skipped: [] });

      const [replayed] = await reader.take(1, ctx.waitMs);
      expect(replayed?.id).toBe('l-1');
      expect(payloadText(replayed ?? { payload: new Uint8Array() })).toBe('l-1');
      expect(replayed?.key).toBe('order-1');
      expect(replayed?.timestamp).toBe(1_700_000_000_004);
      const { [DEAD_LETTER_REPLAY_HEADERS.replayedAt]: replayedAt, ...headers } = replayed?.headers ?? {};
      expect(headers).toEqual({
        'x-origin': `${original}@4`,
        [DEAD_LETTER_REPLAY_HEADERS.replayedFrom]: `${dlqTopic}/${at.partition}/${at.offset}`,
      });
      expect(new Date(replayedAt ?? '').getTime()).toBeGreaterThanOrEqual(before - 1000);
      // Replay copies; the letter stays until purged.
      expect(await queue.count()).toBe(2);
    },
    ctx.testTimeout(),
  );

  it(
    'replays every letter a predicate accepts, each to its own original topic, in the order held, skipping records without bus-dlq headers',
    async () => {
      const orders = await ctx.topic();
      const payments = await ctx.topic();
      const dlqTopic = await ctx.topic();
      const publisher = await ctx.publisher();
      await publishInOrder(publisher, dlqTopic, [
        letter('o-0', { topic: orders, offset: 0, errorClass: 'TimeoutError' }, 'k'),
        letter('o-1', { topic: orders, offset: 1 }, 'k'),
        strayRecord('stray'),
        letter('p-0', { topic: payments, offset: 0, errorClass: 'TimeoutError' }, 'k'),
        letter('o-2', { topic: orders, offset: 2, errorClass: 'TimeoutError' }, 'k'),
      ]);
      const queue = await ctx.queue(dlqTopic);
      const held = await queue.list();
      const ordersReader = await ctx.reader(orders);
      const paymentsReader = await ctx.reader(payments);

      const report = await queue.replay((l) => l.failure === undefined || l.failure.errorClass === 'TimeoutError');
      const idAt = (p: { partition: number; offset: number }) =>
        held.find((l) => l.partition === p.partition && l.offset === p.offset)?.message.id;
      expect(report.replayed.map(idAt)).toEqual(['o-0', 'p-0', 'o-2']);
      expect(report.skipped.map(idAt)).toEqual(['stray']);
      const replayedOrders = await ordersReader.take(2, ctx.waitMs);
      if (ctx.options.features.guaranteedOrderPerKey) {
        expect(replayedOrders.map((m) => m.id)).toEqual(['o-0', 'o-2']);
      } else {
        expect(replayedOrders.map((m) => m.id).sort()).toEqual(['o-0', 'o-2']);
      }
      expect((await paymentsReader.take(1, ctx.waitMs)).map((m) => m.id)).toEqual(['p-0']);
      for (const message of replayedOrders) {
        expect(Object.keys(message.headers).some((h) => h.startsWith(DEAD_LETTER_HEADER_PREFIX))).toBe(false);
      }
      expect(await queue.count()).toBe(5);
    },
    ctx.testTimeout(60_000),
  );

  it(
    'purges every letter held and says how many; their positions are gone, and later letters are listed after them',
    async () => {
      const original = await ctx.topic();
      const dlqTopic = await ctx.topic(2);
      const publisher = await ctx.publisher();
      await publishInOrder(
        publisher,
        dlqTopic,
        Array.from({ length: 4 }, (_, i) => letter(`l-${i}`, { topic: original, offset: i }, `order-${i}`)),
      );
      const queue = await ctx.queue(dlqTopic);
      const before = await queue.list();
      expect(await queue.purge()).toBe(4);
      expect(await queue.count()).toBe(0);
      expect(await queue.list()).toEqual([]);
      expect(await queue.purge()).toBe(0);
      const gone = await rejectionOf(() => queue.replay(positionOf(before[0] as DeadLetter)));
      expect(DeadLetterNotFoundError.isInstance(gone)).toBe(true);

      await publishInOrder(publisher, dlqTopic, [letter('after', { topic: original, offset: 9 }, 'order-0')]);
      const [after, ...none] = await queue.list();
      expect(none).toEqual([]);
      expect(after?.message.id).toBe('after');
      const purgedOnItsPartition = before.filter((l) => l.partition === after?.partition);
      for (const purged of purgedOnItsPartition) expect(after?.offset).toBeGreaterThan(purged.offset);
      expect(await queue.count()).toBe(1);
    },
    ctx.testTimeout(),
  );

  it(
    'holds what the deadLetter middleware wrote; a replayed message that fails again is a new letter, one that succeeds is handled',
    async () => {
      const topic = await ctx.topic();
      const dlqTopic = await ctx.topic();
      const publisher = await ctx.publisher();
      const group = ctx.unique('billing');
      let healed = false;
      const handled: string[] = [];
      const router = new Router({
        middleware: [deadLetter({ publisher, topic: dlqTopic }), retry({ maxRetries: 1, initialIntervalMs: 1 })],
      });
      router.addConsumerHandler({
        name: 'billing',
        subscribeTopic: topic,
        subscriber: await ctx.subscriber(),
        group,
        handle: (message) => {
          if (!healed) throw new ChargeDeclined('card declined', { cause: new RangeError('amount out of range') });
          handled.push(`${message.id} from ${message.headers[DEAD_LETTER_REPLAY_HEADERS.replayedFrom]}`);
        },
      });
      const run = router.run();
      try {
        const queue = await ctx.queue(dlqTopic);
        const before = Date.now();
        await publisher.publish(
          topic,
          textMessage('poison', { id: 'poison-1', key: 'order-1', headers: { trace: 't' } }),
        );
        const [first] = await eventually(
          ctx,
          () => queue.list(),
          (letters) => letters.length === 1,
          'the dead letter',
        );
        expect(first?.message.id).toBe('poison-1');
        expect(first?.original?.headers).toEqual({ trace: 't' });
        expect(first?.message.headers[DeadLetterHeaders.originalTopic]).toBe(topic);
        expect(first?.failure).toMatchObject({
          originalTopic: topic,
          consumerGroup: group,
          handler: 'billing',
          errorClass: 'ChargeDeclined',
          errorMessage: 'card declined',
          causes: [{ errorClass: 'RangeError', message: 'amount out of range' }],
          attempts: 2,
        });
        expect(first?.failure?.stack).toContain('ChargeDeclined: card declined');
        expect(first?.failure?.firstFailedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
        expect(first?.failure?.lastFailedAt.getTime()).toBeGreaterThanOrEqual(
          first?.failure?.firstFailedAt.getTime() ?? 0,
        );

        // Still failing: the replay is dead-lettered again, as a second letter that says where it was replayed from.
        const at = positionOf(first as DeadLetter);
        await queue.replay(at);
        const letters = await eventually(
          ctx,
          () => queue.list(),
          (l) => l.length === 2,
          'the second dead letter',
        );
        const again = letters.find((l) => l.offset !== at.offset || l.partition !== at.partition);
        expect(again?.message.id).toBe('poison-1');
        expect(again?.original?.headers[DEAD_LETTER_REPLAY_HEADERS.replayedFrom]).toBe(
          `${dlqTopic}/${at.partition}/${at.offset}`,
        );
        expect(again?.failure?.originalTopic).toBe(topic);

        healed = true;
        await queue.replay(at);
        await eventually(
          ctx,
          async () => handled,
          (h) => h.length === 1,
          'the healed handler to take the replay',
        );
        expect(handled).toEqual([`poison-1 from ${dlqTopic}/${at.partition}/${at.offset}`]);
        expect(await queue.count()).toBe(2);
      } finally {
        await router.close();
        await run;
      }
    },
    ctx.testTimeout(90_000),
  );
}

/** Polls `read` until `done` holds, within the suite's wait deadline (several on slow transports). */
async function eventually<T>(
  ctx: DeadLetterSuiteContext,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
): Promise<T> {
  const deadline = Date.now() + ctx.waitMs * 3;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
