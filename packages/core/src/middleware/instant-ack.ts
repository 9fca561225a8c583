import type { Middleware } from '../pubsub.js';

/**
 * Acks each message before its handler runs, so the transport can commit past it at once (lower
 * latency, no redelivery storms for slow handlers).
 *
 * Trade-off: this weakens at-least-once to AT-MOST-ONCE. A handler that fails, times out, or is cut
 * off by a crash or the close deadline loses the message: the later nack is a no-op. Messages the
 * handler returns are still forwarded, but after the ack. Use it only where losing messages is fine
 * (metrics, caches); place `deadLetter` outside it won't help, since the input is already acked.
 */
export function instantAck(): Middleware {
  return (next) => (message, context) => {
    message.ack();
    return next(message, context);
  };
}
