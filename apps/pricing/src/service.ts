import type { Publisher, Subscriber } from '@bus/core';
import { RpcServer } from '@bus/rpc';
import { quote } from './catalog.js';
import { quoteRoute } from './route.js';

/** Options of {@link startPricingService}. */
export interface PricingServiceOptions {
  publisher: Publisher;
  subscriber: Subscriber;
  /** Topic prefix, as in {@link quoteRoute}. Default `shop`. */
  prefix?: string;
}

/**
 * Serves the quote route. Every instance started with the same prefix joins the group
 * `<prefix>.pricing`, so running more instances shares the requests between them.
 */
export function startPricingService(options: PricingServiceOptions): RpcServer {
  const prefix = options.prefix ?? 'shop';
  const server = new RpcServer({
    publisher: options.publisher,
    subscriber: options.subscriber,
    group: `${prefix}.pricing`,
  });
  return server.handle(quoteRoute(prefix), (request) => quote(request));
}
