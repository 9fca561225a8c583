import type { ReceivedMessage, Subscriber } from '@bus/core';

/** Reads `count` messages of `topic` as group `group`, acking each. */
export async function readMessages(
  subscriber: Subscriber,
  topic: string,
  count: number,
  group = `reader-${Math.random().toString(36).slice(2)}`,
): Promise<ReceivedMessage[]> {
  const read: ReceivedMessage[] = [];
  if (count === 0) return read;
  for await (const message of subscriber.subscribe(topic, { group })) {
    read.push(message);
    message.ack();
    if (read.length === count) break;
  }
  return read;
}
