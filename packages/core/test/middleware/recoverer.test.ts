import { HandlerError, recoverer } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { context, received } from '../support/received.ts';

describe('recoverer', () => {
  it.each([['a string'], [undefined], [null], [{ code: 7 }], [Symbol('s')]])(
    'turns a thrown %s into a HandlerError',
    async (thrown) => {
      const handler = recoverer()(() => {
        throw thrown;
      });
      const error = await Promise.resolve()
        .then(() => handler(received(), context()))
        .catch((e: unknown) => e);
      expect(HandlerError.isInstance(error)).toBe(true);
      expect((error as HandlerError).thrown).toBe(thrown);
      expect((error as Error).stack).toBeTypeOf('string');
    },
  );

  it('rethrows Errors as they are and passes results through', async () => {
    const original = new RangeError('bad');
    await expect(
      Promise.resolve(
        recoverer()(async () => {
          throw original;
        })(received(), context()),
      ),
    ).rejects.toBe(original);
    await expect(Promise.resolve(recoverer()(() => [])(received(), context()))).resolves.toEqual([]);
  });
});
