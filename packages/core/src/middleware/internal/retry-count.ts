import type { ReceivedMessage } from '../../pubsub.js';

/** In-process retries made by the `retry` middleware, per message, for the dead-letter headers. */
const retries = new WeakMap<ReceivedMessage, number>();

/** Records that `message` has been retried `count` times in this process. */
export function recordRetries(message: ReceivedMessage, count: number): void {
  retries.set(message, count);
}

/** How often `message` was retried in this process (0 when the retry middleware never ran). */
export function retriesOf(message: ReceivedMessage): number {
  return retries.get(message) ?? 0;
}
