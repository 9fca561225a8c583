import type { ReceivedMessage } from '../../pubsub.js';

/** What the `retry` middleware saw of one delivery, for the dead-letter headers. */
interface FailureRecord {
  retries: number;
  firstFailedAt: number;
}

const failures = new WeakMap<ReceivedMessage, FailureRecord>();

/** Records a failed attempt of `message` at `now` (ms since the epoch); the first one sticks. */
export function recordFailure(message: ReceivedMessage, now: number): void {
  if (!failures.has(message)) failures.set(message, { retries: 0, firstFailedAt: now });
}

/** Records that `message` has been retried `count` times in this process. */
export function recordRetries(message: ReceivedMessage, count: number): void {
  const record = failures.get(message);
  if (record === undefined) failures.set(message, { retries: count, firstFailedAt: Date.now() });
  else record.retries = count;
}

/** How often `message` was retried in this process (0 when the retry middleware never ran). */
export function retriesOf(message: ReceivedMessage): number {
  return failures.get(message)?.retries ?? 0;
}

/** When this process first saw `message` fail, if it recorded it. */
export function firstFailureOf(message: ReceivedMessage): number | undefined {
  return failures.get(message)?.firstFailedAt;
}
