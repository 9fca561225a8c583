import { type Codec, decodeWith, TYPE_HEADER } from '@bus/codecs';
import {
  assertSpecVersion,
  BusError,
  ConfigIssues,
  type ReceivedMessage,
  type Subscriber,
  topicNameProblem,
} from '@bus/core';

/** Turns a message into a typed value: a codec for the payload, or a function of the whole message. */
export type TypedParser<T> = Codec<T> | ((message: ReceivedMessage) => T | Promise<T>);

/** Options of {@link subscribeTyped}. */
export interface TypedStreamOptions<T> {
  /** Where messages come from. The stream never closes it. */
  subscriber: Subscriber;
  /** Topics to read; each is subscribed in `group`. */
  topics: readonly string[];
  /** Consumer group. */
  group: string;
  /**
   * The type this stream yields. A message whose `typeHeader` names another type is skipped (acked,
   * counted in `skipped`); one without the header is this type.
   */
  type: string;
  /** Header naming a message's type. Default `bus-type`, as `@bus/codecs` marshalers write it. */
  typeHeader?: string;
  /** Parses a message. A failure ends the iteration with a `TypedStreamError` and leaves it unacked. */
  parse: TypedParser<T>;
  /** Values buffered ahead of the consumer. When full, reading pauses (backpressure, never loss). Default 100. */
  queueMaxSize?: number;
  /**
   * Keep only the freshest value: a new value replaces one the consumer has not taken yet, and the
   * replaced value counts as consumed. For state snapshots (prices, positions), not for commands.
   */
  latestOnly?: boolean;
  /** When consumed values are acked (so the transport may commit them): every `everyMessages` values or every `intervalMs`. Default `{ everyMessages: 1 }`. */
  commit?: { everyMessages?: number; intervalMs?: number };
  /** Aborting ends the stream like `close()`. */
  signal?: AbortSignal;
}

/** Counters of a {@link TypedStream}. */
export interface TypedStreamStats {
  /** Values handed to the consumer. */
  delivered: number;
  /** Values replaced before the consumer took them (`latestOnly`). */
  replaced: number;
  /** Messages of other types. */
  skipped: number;
  /** Messages acked so far. */
  acked: number;
}

const STREAM_ERROR_MARKER = 'bus.error.rpc.stream';

/** A message of a typed stream could not be parsed; it stays unacked and is delivered again later. */
export class TypedStreamError extends BusError {
  /** Topic, partition and offset of the message. */
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;

  constructor(type: string, message: ReceivedMessage, cause: unknown) {
    super(`Message ${message.topic}[${message.partition}]@${message.offset} could not be parsed as ${type}`, {
      code: 'STREAM_PARSE_FAILED',
      cause,
    });
    this.name = 'TypedStreamError';
    this.topic = message.topic;
    this.partition = message.partition;
    this.offset = message.offset;
    this.mark(STREAM_ERROR_MARKER);
  }

  static override isInstance(error: unknown): error is TypedStreamError {
    return BusError.hasMarker(error, STREAM_ERROR_MARKER);
  }
}

/** An `AsyncIterable` of one type's values, read from topics with bounded buffering. */
export interface TypedStream<T> extends AsyncIterable<T>, AsyncDisposable {
  /** Counters (a snapshot). */
  readonly stats: TypedStreamStats;
  /**
   * Acks what was consumed, ends the subscriptions; values not consumed (the last one taken included)
   * are delivered again later. Idempotent.
   */
  close(): Promise<void>;
}

interface Entry<T> {
  readonly value: T;
  readonly message: ReceivedMessage;
}

/**
 * Reads `topics` as a stream of parsed values of one type. A value counts as consumed when the
 * consumer asks for the next one (or leaves the loop); consumed values are acked by count or interval.
 */
export function subscribeTyped<T>(options: TypedStreamOptions<T>): TypedStream<T> {
  const issues = new ConfigIssues('subscribeTyped');
  issues.require(typeof options?.subscriber?.subscribe === 'function', 'subscriber', 'must be a Subscriber');
  if (!Array.isArray(options?.topics) || options.topics.length === 0)
    issues.add('topics', 'must list at least one topic');
  else {
    for (const [i, topic] of options.topics.entries()) {
      const problem = topicNameProblem(topic);
      if (problem !== undefined) issues.add(`topics[${i}]`, problem);
    }
  }
  issues.require(typeof options?.group === 'string' && options.group !== '', 'group', 'must be a non-empty string');
  issues.require(typeof options?.type === 'string' && options.type !== '', 'type', 'must be a non-empty string');
  const parse = options?.parse as unknown;
  const isCodec = typeof (parse as Codec<T> | null)?.decode === 'function';
  issues.require(isCodec || typeof parse === 'function', 'parse', 'must be a codec or a function');
  issues.integer(options?.queueMaxSize, 'queueMaxSize', { min: 1, max: 1_000_000 });
  issues.integer(options?.commit?.everyMessages, 'commit.everyMessages', { min: 1, max: 1_000_000 });
  issues.integer(options?.commit?.intervalMs, 'commit.intervalMs', { min: 1, max: 2 ** 31 - 1 });
  issues.throwIfAny();
  assertSpecVersion(options.subscriber, 'subscriber');
  return new TypedStreamImpl(options, isCodec);
}

class TypedStreamImpl<T> implements TypedStream<T> {
  readonly #options: TypedStreamOptions<T>;
  readonly #isCodec: boolean;
  readonly #max: number;
  readonly #everyMessages: number;
  readonly #queue: Entry<T>[] = [];
  readonly #consumed: ReceivedMessage[] = [];
  readonly #stop = new AbortController();
  readonly #stats: TypedStreamStats = { delivered: 0, replaced: 0, skipped: 0, acked: 0 };
  #pumps: Promise<void>[] | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #current: ReceivedMessage | undefined;
  #failure: Error | undefined;
  #ended = false;
  #closed = false;
  #wakeConsumer: (() => void) | undefined;
  readonly #wakeProducers: (() => void)[] = [];

  constructor(options: TypedStreamOptions<T>, isCodec: boolean) {
    this.#options = options;
    this.#isCodec = isCodec;
    this.#max = options.latestOnly ? 1 : (options.queueMaxSize ?? 100);
    this.#everyMessages = options.commit?.everyMessages ?? (options.commit?.intervalMs === undefined ? 1 : Infinity);
    options.signal?.addEventListener('abort', () => void this.close(), { once: true });
  }

  get stats(): TypedStreamStats {
    return { ...this.#stats };
  }

  #start(): void {
    if (this.#pumps !== undefined) return;
    const interval = this.#options.commit?.intervalMs;
    if (interval !== undefined) {
      this.#timer = setInterval(() => this.#flush(), interval);
      this.#timer.unref?.();
    }
    this.#pumps = this.#options.topics.map((topic) => this.#pump(topic));
    void Promise.all(this.#pumps).then(() => {
      this.#ended = true;
      this.#wakeConsumer?.();
    });
  }

  async #pump(topic: string): Promise<void> {
    const typeHeader = this.#options.typeHeader ?? TYPE_HEADER;
    try {
      const messages = this.#options.subscriber.subscribe(topic, {
        group: this.#options.group,
        signal: this.#stop.signal,
      });
      for await (const message of messages) {
        const type = message.headers[typeHeader];
        if (type !== undefined && type !== this.#options.type) {
          message.ack();
          this.#stats.skipped++;
          continue;
        }
        let value: T;
        try {
          value = await this.#parse(message);
        } catch (error) {
          this.#fail(new TypedStreamError(this.#options.type, message, error));
          return;
        }
        if (this.#options.latestOnly) {
          const stale = this.#queue.shift();
          if (stale !== undefined) {
            this.#stats.replaced++;
            this.#done(stale.message);
          }
        } else {
          while (this.#queue.length >= this.#max && !this.#stop.signal.aborted) {
            await new Promise<void>((resolve) => this.#wakeProducers.push(resolve));
          }
          if (this.#stop.signal.aborted) return;
        }
        this.#queue.push({ value, message });
        this.#wakeConsumer?.();
      }
    } catch (error) {
      if (!this.#stop.signal.aborted) this.#fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async #parse(message: ReceivedMessage): Promise<T> {
    if (this.#isCodec) {
      const ctx = {
        topic: message.topic,
        role: 'value' as const,
        headers: message.headers,
        partition: message.partition,
        offset: message.offset,
      };
      return decodeWith(this.#options.parse as Codec<T>, message.payload, ctx);
    }
    return (this.#options.parse as (message: ReceivedMessage) => T | Promise<T>)(message);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#stop.abort();
    this.#wakeConsumer?.();
  }

  #done(message: ReceivedMessage): void {
    this.#consumed.push(message);
    if (this.#consumed.length >= this.#everyMessages) this.#flush();
  }

  #flush(): void {
    for (const message of this.#consumed.splice(0)) if (message.ack()) this.#stats.acked++;
  }

  async #next(): Promise<IteratorResult<T>> {
    if (this.#current !== undefined) {
      this.#done(this.#current);
      this.#current = undefined;
    }
    this.#start();
    for (;;) {
      const entry = this.#queue.shift();
      if (entry !== undefined) {
        this.#wakeProducers.shift()?.();
        this.#current = entry.message;
        this.#stats.delivered++;
        return { value: entry.value, done: false };
      }
      if (this.#failure !== undefined) {
        const failure = this.#failure;
        await this.close();
        throw failure;
      }
      if (this.#closed || this.#ended) return { value: undefined, done: true };
      await new Promise<void>((resolve) => {
        this.#wakeConsumer = resolve;
      });
      this.#wakeConsumer = undefined;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.#next(),
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The value in the consumer's hands when it left the loop may have failed it (a throw in the
    // loop body also ends up here): left unacked, it is delivered again. At-least-once.
    this.#current = undefined;
    this.#flush();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#stop.abort();
    for (const wake of this.#wakeProducers.splice(0)) wake();
    this.#wakeConsumer?.();
    await Promise.all(this.#pumps ?? []);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
