import { DeadLetterHeaders } from '../../middleware/dead-letter.js';
import type { DeadLetterQueue } from '../../middleware/dead-letter-queue.js';
import { createMessage } from '../../message-helpers.js';
import type { Message, Publisher, Subscriber } from '../../pubsub.js';
import type { DeadLetterQueueConformanceOptions } from '../dead-letter-queue-options.js';
import { within } from '../internal/deadline.js';
import { Reader } from '../internal/reader.js';

const utf8 = new TextEncoder();

/** Where a hand-written dead letter says its original came from, and what it says failed. */
export interface LetterOrigin {
  readonly topic: string;
  readonly partition?: number;
  readonly offset: number;
  readonly errorClass?: string;
}

/** Per-suite helpers of the dead-letter queue suite: deadlines, resources closed after each case, letters. */
export class DeadLetterSuiteContext {
  readonly options: DeadLetterQueueConformanceOptions;
  /** Deadline of one wait (a message, a group join), scaled. */
  readonly waitMs: number;
  readonly #timeoutScale: number;
  #open: { close(): Promise<void> }[] = [];
  #readers: Reader[] = [];

  constructor(options: DeadLetterQueueConformanceOptions) {
    this.options = options;
    this.#timeoutScale = options.timeoutScale ?? 1;
    this.waitMs = 10_000 * this.#timeoutScale;
  }

  /** The vitest timeout of a case: `baseMs` scaled. */
  testTimeout(baseMs = 30_000): number {
    return baseMs * this.#timeoutScale;
  }

  async queue(topic: string): Promise<DeadLetterQueue> {
    const queue = await this.options.createQueue(topic);
    this.#open.push(queue);
    return queue;
  }

  async publisher(): Promise<Publisher> {
    const publisher = await this.options.createPublisher();
    this.#open.push(publisher);
    return publisher;
  }

  async subscriber(): Promise<Subscriber> {
    const subscriber = await this.options.createSubscriber();
    this.#open.push(subscriber);
    return subscriber;
  }

  topic(partitions = 1): Promise<string> {
    return this.options.createTopic({ partitions: this.options.features.partitions ? partitions : 1 });
  }

  /** A name unique to this run: a group, or a topic nobody creates. */
  unique(label: string): string {
    return `dlq-conformance-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Starts reading `topic` in a new group (before replaying, so transports without history see it too). */
  async reader(topic: string): Promise<Reader> {
    const reader = new Reader(await this.subscriber(), topic, { group: this.unique('reader') });
    this.#readers.push(reader);
    return reader;
  }

  /** Stops every reader and closes every queue, publisher and subscriber the case made. */
  async cleanup(): Promise<void> {
    const readers = this.#readers;
    const open = this.#open;
    this.#readers = [];
    this.#open = [];
    await Promise.allSettled(readers.map((reader) => reader.stop(this.waitMs)));
    await within(Promise.allSettled(open.map((resource) => resource.close())), this.waitMs * 3, 'resources to close');
  }
}

/**
 * A dead letter as the `deadLetter` middleware writes one: the original message (id `id`, payload
 * `id` as text, `key`, a fixed timestamp, header `x-origin`) plus the `bus-dlq-*` headers.
 */
export function letter(id: string, origin: LetterOrigin, key?: string): Message {
  const failedAt = new Date(1_700_000_000_000 + origin.offset * 1000).toISOString();
  return createMessage({
    id,
    payload: utf8.encode(id),
    timestamp: 1_700_000_000_000 + origin.offset,
    ...(key === undefined ? {} : { key }),
    headers: {
      'x-origin': `${origin.topic}@${origin.offset}`,
      [DeadLetterHeaders.originalTopic]: origin.topic,
      [DeadLetterHeaders.originalPartition]: String(origin.partition ?? 0),
      [DeadLetterHeaders.originalOffset]: String(origin.offset),
      [DeadLetterHeaders.originalConsumerGroup]: 'billing',
      [DeadLetterHeaders.errorClass]: origin.errorClass ?? 'TypeError',
      [DeadLetterHeaders.errorMessage]: `failed ${id}`,
      [DeadLetterHeaders.attempts]: '2',
      [DeadLetterHeaders.firstFailedAt]: failedAt,
      [DeadLetterHeaders.failedAt]: failedAt,
    },
  });
}

/** A record of a dead-letter topic that `deadLetter` did not write (no `bus-dlq-*` headers). */
export function strayRecord(id: string): Message {
  return createMessage({ id, payload: utf8.encode(id), headers: { 'x-origin': 'hand-written' } });
}

/** Publishes `messages` to `topic` one call each, so their order on a partition is the order given. */
export async function publishInOrder(publisher: Publisher, topic: string, messages: readonly Message[]): Promise<void> {
  for (const message of messages) await publisher.publish(topic, message);
}

/** Settles with the error `run` rejects with; fails when it succeeds. */
export async function rejectionOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}
