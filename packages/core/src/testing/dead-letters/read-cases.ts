import { expect, it } from 'vitest';
import { ConfigError } from '../../errors.js';
import { DEAD_LETTER_HEADER_PREFIX } from '../../middleware/dead-letter.js';
import { type DeadLetter, DeadLetterNotFoundError } from '../../middleware/dead-letter-queue.js';
import { payloadText } from '../../message-helpers.js';
import { itWhen } from '../internal/feature-gate.js';
import { type DeadLetterSuiteContext, letter, publishInOrder, rejectionOf, strayRecord } from './context.js';

const KEYS = ['order-1', 'order-2', 'order-3'];

const positionOf = (l: DeadLetter) => `${l.partition}/${l.offset}`;

/** list, count and the rules of reading: order, paging, what a letter holds, bad input. */
export function readCases(ctx: DeadLetterSuiteContext): void {
  it(
    'lists each letter with its message, original and failure; count agrees; reading alters nothing',
    async () => {
      const original = await ctx.topic();
      const dlqTopic = await ctx.topic();
      const publisher = await ctx.publisher();
      // A binary header value (not valid UTF-8) of the original travels with its letter.
      const binaryHeaders = { 'x-trace-bin': new Uint8Array([0xff, 0x00, 0x80]) };
      await publishInOrder(publisher, dlqTopic, [
        { ...letter('l-0', { topic: original, partition: 0, offset: 7 }, 'order-1'), binaryHeaders },
      ]);
      const queue = await ctx.queue(dlqTopic);

      const [first, ...rest] = await queue.list();
      expect(rest).toEqual([]);
      expect(first?.message).toMatchObject({ id: 'l-0', key: 'order-1', timestamp: 1_700_000_000_007 });
      expect(payloadText(first?.message ?? { payload: new Uint8Array() })).toBe('l-0');
      expect(first?.original?.id).toBe('l-0');
      expect(first?.original?.key).toBe('order-1');
      expect(first?.original?.timestamp).toBe(1_700_000_000_007);
      expect(first?.original?.headers).toEqual({ 'x-origin': `${original}@7` });
      expect(first?.original?.binaryHeaders).toEqual(binaryHeaders);
      expect(first?.failure).toMatchObject({
        originalTopic: original,
        originalPartition: 0,
        originalOffset: 7,
        consumerGroup: 'billing',
        errorClass: 'TypeError',
        errorMessage: 'failed l-0',
        causes: [],
        attempts: 2,
      });
      expect(first?.failure?.lastFailedAt.toISOString()).toBe('2023-11-14T22:13:27.000Z');
      expect(await queue.count()).toBe(1);
      // list and count never consume: asking again gives the same answers.
      expect((await queue.list()).map(positionOf)).toEqual([positionOf(first as DeadLetter)]);
      expect(await queue.count()).toBe(1);
    },
    ctx.testTimeout(),
  );

  itWhen(ctx.options.features.partitions)(
    'lists partition by partition in offset order, letters of a key in the order written, and pages with limit and from',
    async () => {
      const original = await ctx.topic();
      const dlqTopic = await ctx.topic(3);
      const publisher = await ctx.publisher();
      const letters = Array.from({ length: 9 }, (_, i) =>
        letter(`l-${i}`, { topic: original, offset: i }, KEYS[i % KEYS.length]),
      );
      await publishInOrder(publisher, dlqTopic, letters);
      const queue = await ctx.queue(dlqTopic);

      const all = await queue.list();
      expect(all.map((l) => l.message.id).sort()).toEqual(letters.map((l) => l.id).sort());
      const sorted = [...all].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      expect(all.map(positionOf)).toEqual(sorted.map(positionOf));
      for (const key of KEYS) {
        const ofKey = all.filter((l) => l.message.key === key).map((l) => l.message.id);
        expect(ofKey).toEqual(letters.filter((l) => l.key === key).map((l) => l.id));
      }
      expect(await queue.count()).toBe(9);

      // Paging with from = the last letter + 1 visits every letter once, in the same order.
      const paged: DeadLetter[] = [];
      let page = await queue.list({ limit: 2 });
      while (page.length > 0) {
        expect(page.length).toBeLessThanOrEqual(2);
        paged.push(...page);
        const last = page[page.length - 1] as DeadLetter;
        page = await queue.list({ limit: 2, from: { partition: last.partition, offset: last.offset + 1 } });
      }
      expect(paged.map(positionOf)).toEqual(all.map(positionOf));
      const lastOne = all[all.length - 1] as DeadLetter;
      expect(await queue.list({ from: { partition: lastOne.partition + 1, offset: 0 } })).toEqual([]);
    },
    ctx.testTimeout(60_000),
  );

  it(
    'pages one partition with limit and from',
    async () => {
      const original = await ctx.topic();
      const dlqTopic = await ctx.topic();
      const publisher = await ctx.publisher();
      await publishInOrder(
        publisher,
        dlqTopic,
        Array.from({ length: 5 }, (_, i) => letter(`p-${i}`, { topic: original, offset: i }, 'order-1')),
      );
      const queue = await ctx.queue(dlqTopic);
      const firstPage = await queue.list({ limit: 2 });
      expect(firstPage.map((l) => l.message.id)).toEqual(['p-0', 'p-1']);
      const { partition, offset } = firstPage[1] as DeadLetter;
      const secondPage = await queue.list({ limit: 10, from: { partition, offset: offset + 1 } });
      expect(secondPage.map((l) => l.message.id)).toEqual(['p-2', 'p-3', 'p-4']);
      expect(await queue.list({ from: { partition, offset: offset + 4 } })).toEqual([]);
    },
    ctx.testTimeout(),
  );

  it(
    'treats a topic that does not exist as an empty queue',
    async () => {
      const queue = await ctx.queue(ctx.unique('missing'));
      expect(await queue.count()).toBe(0);
      expect(await queue.list()).toEqual([]);
      expect(await queue.purge()).toBe(0);
      expect(await queue.replay(() => true)).toEqual({ replayed: [], skipped: [] });
      const error = await rejectionOf(() => queue.replay({ partition: 0, offset: 0 }));
      expect(DeadLetterNotFoundError.isInstance(error)).toBe(true);
    },
    ctx.testTimeout(),
  );

  it(
    'lists a record without bus-dlq headers with no original or failure; replay skips it and leaves it',
    async () => {
      const original = await ctx.topic();
      const dlqTopic = await ctx.topic();
      const publisher = await ctx.publisher();
      await publishInOrder(publisher, dlqTopic, [strayRecord('stray'), letter('l-1', { topic: original, offset: 1 })]);
      const queue = await ctx.queue(dlqTopic);
      const [stray, real] = await queue.list();
      expect(stray).toMatchObject({ original: undefined, failure: undefined });
      expect(stray?.message.id).toBe('stray');
      expect(stray?.message.headers).toEqual({ 'x-origin': 'hand-written' });
      expect(Object.keys(real?.message.headers ?? {}).some((h) => h.startsWith(DEAD_LETTER_HEADER_PREFIX))).toBe(true);
      const strayAt = { partition: stray?.partition ?? -1, offset: stray?.offset ?? -1 };
      expect(await queue.replay(strayAt)).toEqual({ replayed: [], skipped: [strayAt] });
      expect(await queue.count()).toBe(2);
    },
    ctx.testTimeout(),
  );

  it(
    'rejects invalid options with one ConfigError listing every problem, and an empty position with DeadLetterNotFoundError',
    async () => {
      const original = await ctx.topic();
      const dlqTopic = await ctx.topic();
      const publisher = await ctx.publisher();
      await publishInOrder(publisher, dlqTopic, [letter('l-0', { topic: original, offset: 0 })]);
      const queue = await ctx.queue(dlqTopic);

      const invalid = await rejectionOf(() => queue.list({ limit: 0, from: { partition: -1, offset: 1.5 } }));
      expect(ConfigError.isInstance(invalid)).toBe(true);
      expect((invalid as ConfigError).issues.map((issue) => issue.path)).toEqual([
        'limit',
        'from.partition',
        'from.offset',
      ]);
      const tooMany = await rejectionOf(() => queue.list({ limit: 10_001 }));
      expect(ConfigError.isInstance(tooMany)).toBe(true);
      for (const selector of ['0/0', null, { partition: 0 }, { partition: 0, offset: -1 }]) {
        const error = await rejectionOf(() => queue.replay(selector as never));
        expect(ConfigError.isInstance(error), JSON.stringify(selector)).toBe(true);
      }
      const [held] = await queue.list();
      const empty = { partition: held?.partition ?? 0, offset: (held?.offset ?? 0) + 1 };
      const notFound = await rejectionOf(() => queue.replay(empty));
      expect(DeadLetterNotFoundError.isInstance(notFound)).toBe(true);
      expect(notFound).toMatchObject({ code: 'DEAD_LETTER_NOT_FOUND', topic: dlqTopic, position: empty });
      // Nothing was replayed or removed by the refused calls.
      expect(await queue.count()).toBe(1);
    },
    ctx.testTimeout(),
  );

  it(
    "rejects every call given an aborted signal with the signal's reason",
    async () => {
      const queue = await ctx.queue(await ctx.topic());
      const controller = new AbortController();
      const reason = new Error('operator gave up');
      controller.abort(reason);
      const { signal } = controller;
      expect(await rejectionOf(() => queue.list({ signal }))).toBe(reason);
      expect(await rejectionOf(() => queue.count({ signal }))).toBe(reason);
      expect(await rejectionOf(() => queue.replay(() => true, { signal }))).toBe(reason);
      expect(await rejectionOf(() => queue.purge({ signal }))).toBe(reason);
    },
    ctx.testTimeout(),
  );
}
