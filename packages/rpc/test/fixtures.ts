import { jsonCodec } from '@bus/codecs/json';
import { defineRoute } from '@bus/rpc';
import { z } from 'zod';

export const Quote = defineRoute({
  name: 'billing.quote',
  request: jsonCodec({ schema: z.object({ sku: z.string(), qty: z.number().int() }) }),
  reply: jsonCodec({ schema: z.object({ sku: z.string(), total: z.number() }) }),
});

/** A code-carrying error, as handlers throw them. */
export class OutOfStock extends Error {
  readonly code = 'OUT_OF_STOCK';
  readonly isRetryable = true;
}

/** A promise with its resolver, to await an event without sleeping. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
