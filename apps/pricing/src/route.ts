import { jsonCodec } from '@bus/codecs/json';
import { defineRoute } from '@bus/rpc';
import { z } from 'zod';

/** What a caller asks: the price of `quantity` units of `sku` for a customer. */
export const QuoteRequest = z.object({
  sku: z.string().min(1),
  quantity: z.number().int().positive(),
  customerId: z.string().min(1),
});

/** What the pricing service answers. Amounts are in cents, so no rounding happens on the wire. */
export const QuoteReply = z.object({
  sku: z.string(),
  quantity: z.number().int(),
  unitPriceCents: z.number().int(),
  discountPercent: z.number(),
  totalCents: z.number().int(),
  currency: z.literal('EUR'),
});

/** A quote request. */
export type QuoteRequest = z.infer<typeof QuoteRequest>;
/** A quote. */
export type QuoteReply = z.infer<typeof QuoteReply>;

/**
 * The quote route, shared by the service and its callers. `prefix` namespaces the request topic
 * (`<prefix>.pricing.quote`), so several runs can share one Kafka cluster.
 */
export function quoteRoute(prefix = 'shop') {
  return defineRoute({
    name: 'pricing.quote',
    topic: `${prefix}.pricing.quote`,
    // Both directions are validated: a bad request becomes an error reply, never a crash.
    request: jsonCodec({ schema: QuoteRequest }),
    reply: jsonCodec({ schema: QuoteReply }),
  });
}
