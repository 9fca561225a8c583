import type { ReceivedMessage } from './pubsub.js';

/**
 * Optional fast path of a subscription's iterator: `iterator[takeReady]()` returns a message that is
 * ready now, synchronously, or `undefined` when none is (then the consumer calls `next()` as usual).
 * It lets a consumer such as the Router drain a transport's buffer without a promise per message.
 *
 * Contract for transports offering it: a message it returns is handed out exactly as `next()` would
 * hand it out; it returns `undefined` once the subscription is stopping or failed, and now and then
 * when messages are ready, so that `next()` can yield to I/O. Never throws. A decorator that wraps
 * the iterator keeps the fast path only by forwarding this method.
 */
export const takeReady: unique symbol = Symbol.for('bus.subscription.takeReady');

/** An iterator that offers the {@link takeReady} fast path. */
export interface ReadyTaker {
  /** See {@link takeReady}. */
  [takeReady](): ReceivedMessage | undefined;
}
