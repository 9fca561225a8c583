import type { Message, Publisher, Subscriber } from '../../pubsub.js';
import { createMessage, payloadText } from '../../message-helpers.js';
import type { ConformanceOptions } from '../options.js';
import { within } from './deadline.js';
import { Reader } from './reader.js';

const utf8 = new TextEncoder();

/** Per-suite helpers: scaled deadlines, resource tracking, unique names, numbered messages. */
export class SuiteContext {
  readonly options: ConformanceOptions;
  /** Deadline of one wait (a message, a group join), scaled. */
  readonly waitMs: number;
  readonly #timeoutScale: number;
  readonly #volumeScale: number;
  #open: (Publisher | Subscriber)[] = [];
  #readers: Reader[] = [];

  constructor(options: ConformanceOptions) {
    this.options = options;
    this.#timeoutScale = options.timeoutScale ?? 1;
    this.#volumeScale = options.volumeScale ?? 1;
    this.waitMs = 10_000 * this.#timeoutScale;
  }

  /** The vitest timeout of a case: `baseMs` scaled. */
  testTimeout(baseMs = 30_000): number {
    return baseMs * this.#timeoutScale;
  }

  /** `count` scaled by volumeScale, at least `min`. */
  volume(count: number, min = 10): number {
    return Math.max(min, Math.round(count * this.#volumeScale));
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
    return this.options.createTopic({ partitions });
  }

  /** A group name unique to this run. */
  group(label = 'group'): string {
    return `conformance-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  }

  /** Starts reading `topic` as a member of `group`; stopped after the case. */
  reader(subscriber: Subscriber, topic: string, group: string, signal?: AbortSignal): Reader {
    const reader = new Reader(subscriber, topic, signal ? { group, signal } : { group });
    this.#readers.push(reader);
    return reader;
  }

  /** Stops every reader and closes every publisher and subscriber the case made. */
  async cleanup(): Promise<void> {
    const readers = this.#readers;
    const open = this.#open;
    this.#readers = [];
    this.#open = [];
    await Promise.allSettled(readers.map((reader) => reader.stop(this.waitMs)));
    const closing = Promise.allSettled(open.map((resource) => resource.close()));
    await within(closing, this.waitMs * 3, 'publishers and subscribers to close');
  }
}

/** Message `index` of a numbered series: id `${prefix}-${index}`, payload the same text, header `x-seq`. */
export function numbered(prefix: string, index: number, key?: string): Message {
  const id = `${prefix}-${index}`;
  return createMessage({
    id,
    payload: utf8.encode(id),
    headers: { 'x-seq': String(index) },
    ...(key === undefined ? {} : { key }),
  });
}

/** `count` numbered messages. */
export function series(prefix: string, count: number, key?: (index: number) => string | undefined): Message[] {
  return Array.from({ length: count }, (_, index) => numbered(prefix, index, key?.(index)));
}

/** Publishes `messages` in batches of `batch`, awaiting each batch. */
export async function publishAll(publisher: Publisher, topic: string, messages: Message[], batch = 100): Promise<void> {
  for (let start = 0; start < messages.length; start += batch) {
    await publisher.publish(topic, ...messages.slice(start, start + batch));
  }
}

/** The sequence number a numbered message carries. */
export function seqOf(message: Message): number {
  return Number(message.headers['x-seq']);
}

/** Ids of `messages`, in order. */
export function idsOf(messages: readonly Message[]): string[] {
  return messages.map((message) => message.id);
}

/** Checks a received numbered message's payload matches its id. */
export function payloadMatchesId(message: Message): boolean {
  return payloadText(message) === message.id;
}

/** A key as bytes (strings as UTF-8), so transports that return keys as bytes compare equal. */
export function keyBytes(key: string | Uint8Array | undefined): Uint8Array | undefined {
  return typeof key === 'string' ? utf8.encode(key) : key;
}
