import { expect, it } from 'vitest';
import { ClosedError } from '../../errors.js';
import type { DeadLetterQueue } from '../../middleware/dead-letter-queue.js';
import { type DeadLetterSuiteContext, letter, publishInOrder, rejectionOf } from './context.js';

/** close() and `await using`: running calls finish, later ones are refused, closing twice is fine. */
export function closeCases(ctx: DeadLetterSuiteContext): void {
  it(
    'close() waits for a running call, then every call rejects with ClosedError; closing again resolves',
    async () => {
      const original = await ctx.topic();
      const dlqTopic = await ctx.topic();
      const publisher = await ctx.publisher();
      await publishInOrder(publisher, dlqTopic, [letter('l-0', { topic: original, offset: 0 })]);
      const queue = await ctx.queue(dlqTopic);
      const listing = queue.list();
      const closing = queue.close();
      expect((await listing).map((l) => l.message.id)).toEqual(['l-0']);
      await closing;
      for (const call of [
        () => queue.list(),
        () => queue.count(),
        () => queue.replay(() => true),
        () => queue.replay({ partition: 0, offset: 0 }),
        () => queue.purge(),
      ]) {
        const error = await rejectionOf(call);
        expect(ClosedError.isInstance(error)).toBe(true);
        expect((error as ClosedError).code).toBe('CLOSED');
      }
      await queue.close();
      await queue[Symbol.asyncDispose]();
    },
    ctx.testTimeout(),
  );

  it(
    'is closed by await using',
    async () => {
      let kept: DeadLetterQueue | undefined;
      {
        await using queue = await ctx.options.createQueue(ctx.unique('using'));
        kept = queue;
        expect(await queue.count()).toBe(0);
      }
      const error = await rejectionOf(() => (kept as DeadLetterQueue).count());
      expect(ClosedError.isInstance(error)).toBe(true);
    },
    ctx.testTimeout(),
  );
}
