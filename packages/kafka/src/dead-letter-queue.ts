import {
  type BusError,
  checkDeadLetterSelector,
  ClosedError,
  ConfigIssues,
  type DeadLetter,
  type DeadLetterFailure,
  type DeadLetterListOptions,
  DeadLetterNotFoundError,
  type DeadLetterPosition,
  type DeadLetterQueue,
  type DeadLetterReplayOptions,
  type DeadLetterReplayReport,
  type DeadLetterSelector,
  type Message,
  type Publisher,
  readDeadLetter,
  replayMessageOf,
  resolveDeadLetterListOptions,
  topicNameProblem,
} from '@bus/core';
import { connectionSecrets, type KafkaConnectionOptions, validateConnectionOptions } from './connection.js';
import { toKafkaError } from './errors.js';
import type { AdminDriver } from './internal/driver/admin-driver.js';
import { createAdminDriver } from './internal/driver/create-driver.js';
import { type ReadRange, readRanges } from './internal/topic-reader.js';
import { KafkaPublisher } from './publisher.js';
import { BINARY_KEY_HEADER, DEFAULT_MESSAGE_ID_HEADER } from './subscriber-options.js';

/** Options of {@link KafkaDeadLetterQueue}: how to connect, and which topic. */
export interface KafkaDeadLetterQueueOptions extends KafkaConnectionOptions {
  /** The dead-letter topic, e.g. `orders.dlq`. */
  topic: string;
  /**
   * Publishes replays. Not closed by the queue: its owner closes it. Default: a `KafkaPublisher`
   * on the same connection, created on the first replay and closed with the queue.
   */
  publisher?: Publisher;
  /** Header carrying the message id, as the publisher and subscribers use it. Default `bus-message-id`. */
  messageIdHeader?: string;
  /** Reading letters fails with a `TimeoutError` after this long. Default 30,000 ms. */
  readTimeoutMs?: number;
}

/** Most letters replayed in one publish. */
const REPLAY_BATCH = 500;

/** Offsets of one partition: the first held and the next to be written. */
interface PartitionBounds {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

/**
 * The {@link DeadLetterQueue} of a Kafka topic, on either driver (`driver` option). Reads never
 * commit and join no consumer group: `list` and `replay` fetch the partitions' offset ranges
 * directly, read-committed. `count` is
 * offset arithmetic (high watermark minus the first offset held, per partition), exact unless
 * transactional producers wrote to the topic (their commit markers take offsets too). `purge`
 * deletes records below the high watermarks it saw (Kafka's DeleteRecords), so consumer groups of
 * the dead-letter topic skip them as well.
 *
 * @example
 * await using dlq = new KafkaDeadLetterQueue({ brokers: 'localhost:9092', topic: 'orders.dlq' });
 * for (const letter of await dlq.list({ limit: 20 })) console.log(letter.failure?.errorMessage);
 * await dlq.replay((letter) => letter.failure?.errorCode === 'TIMEOUT');
 */
export class KafkaDeadLetterQueue implements DeadLetterQueue, AsyncDisposable {
  readonly topic: string;
  readonly #options: KafkaDeadLetterQueueOptions;
  readonly #admin: AdminDriver;
  readonly #secrets: readonly string[];
  readonly #messageIdHeader: string;
  readonly #readTimeoutMs: number;
  #connecting: Promise<void> | undefined;
  #connected = false;
  #ownPublisher: KafkaPublisher | undefined;
  #closed = false;
  /** Calls still running, which `close()` waits for before disconnecting. */
  readonly #running = new Set<Promise<unknown>>();

  /** Validates `options` (a `ConfigError` lists every problem); does not connect yet. */
  constructor(options: KafkaDeadLetterQueueOptions) {
    const issues = new ConfigIssues('KafkaDeadLetterQueue');
    validateConnectionOptions(options, issues);
    const problem = topicNameProblem(options?.topic);
    if (problem !== undefined) issues.add('topic', problem);
    if (options?.publisher !== undefined && typeof options.publisher?.publish !== 'function') {
      issues.add('publisher', 'must be a Publisher');
    }
    if (
      options?.messageIdHeader !== undefined &&
      (typeof options.messageIdHeader !== 'string' || !options.messageIdHeader)
    ) {
      issues.add('messageIdHeader', 'must be a non-empty string');
    }
    issues.integer(options?.readTimeoutMs, 'readTimeoutMs', { min: 1, max: 2_147_483_647 });
    issues.throwIfAny();
    this.#admin = createAdminDriver(options, 'KafkaDeadLetterQueue');
    this.#options = options;
    this.#secrets = connectionSecrets(options);
    this.topic = options.topic;
    this.#messageIdHeader = options.messageIdHeader ?? DEFAULT_MESSAGE_ID_HEADER;
    this.#readTimeoutMs = options.readTimeoutMs ?? 30_000;
  }

  async list(options?: DeadLetterListOptions): Promise<readonly DeadLetter[]> {
    const { limit, from, signal } = resolveDeadLetterListOptions(options);
    return this.#run('list dead letters', signal, async () => {
      const bounds = await this.#bounds(signal);
      const ranges: ReadRange[] = [];
      for (const { partition, low, high } of bounds) {
        if (from !== undefined && partition < from.partition) continue;
        const start = partition === from?.partition ? Math.max(low, from.offset) : low;
        // Offsets are at least as many as records, so `limit` offsets hold at most `limit` letters.
        ranges.push({ partition, from: start, to: Math.min(high, start + limit) });
      }
      const letters: DeadLetter[] = [];
      await this.#read(ranges, signal, ({ partition, offset, message }) => {
        letters.push(readDeadLetter(message, { partition, offset }));
      });
      letters.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      return letters.slice(0, limit);
    });
  }

  async count(options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.#run('count dead letters', options.signal, async () => {
      const bounds = await this.#bounds(options.signal);
      return bounds.reduce((sum, { low, high }) => sum + (high - low), 0);
    });
  }

  async replay(selector: DeadLetterSelector, options: DeadLetterReplayOptions = {}): Promise<DeadLetterReplayReport> {
    checkDeadLetterSelector(selector);
    const { signal } = options;
    return this.#run('replay dead letters', signal, async () => {
      const bounds = await this.#bounds(signal);
      const replayed: DeadLetterPosition[] = [];
      const skipped: DeadLetterPosition[] = [];
      const publisher = this.#publisher();
      // Chosen letters are published in batches (one publish per original topic), in the order read.
      let batch: { letter: DeadLetter & { original: Message; failure: DeadLetterFailure } }[] = [];
      const flush = async () => {
        const byTopic = new Map<string, Message[]>();
        for (const { letter } of batch) {
          const messages = byTopic.get(letter.failure.originalTopic) ?? [];
          messages.push(replayMessageOf(this.topic, letter));
          byTopic.set(letter.failure.originalTopic, messages);
        }
        for (const [topic, messages] of byTopic) await publisher.publish(topic, ...messages);
        for (const { letter } of batch) replayed.push({ partition: letter.partition, offset: letter.offset });
        batch = [];
      };
      const choose = async (letter: DeadLetter) => {
        const { original, failure } = letter;
        if (original === undefined || failure === undefined) {
          skipped.push({ partition: letter.partition, offset: letter.offset });
          return;
        }
        signal?.throwIfAborted();
        batch.push({ letter: { ...letter, original, failure } });
        if (batch.length >= REPLAY_BATCH) await flush();
      };
      if (typeof selector === 'function') {
        const ranges = bounds.map(({ partition, low, high }) => ({ partition, from: low, to: high }));
        await this.#read(ranges, signal, async ({ partition, offset, message }) => {
          const letter = readDeadLetter(message, { partition, offset });
          if (selector(letter)) await choose(letter);
        });
      } else {
        await choose(await this.#letterAt(bounds, selector, signal));
      }
      await flush();
      return { replayed, skipped };
    });
  }

  async purge(options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.#run('purge dead letters', options.signal, async () => {
      const bounds = (await this.#bounds(options.signal)).filter(({ low, high }) => high > low);
      if (bounds.length === 0) return 0;
      const admin = await this.#ready();
      await admin.deleteRecords(
        this.topic,
        bounds.map(({ partition, high }) => ({ partition, offset: high })),
      );
      return bounds.reduce((sum, { low, high }) => sum + (high - low), 0);
    });
  }

  /**
   * Waits for running calls (each bounded by `readTimeoutMs`), then disconnects and closes the
   * publisher it created (not one it was given). Later calls reject with `ClosedError`. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#running]);
    await Promise.allSettled([this.#connecting]);
    await this.#ownPublisher?.close();
    if (this.#connected) {
      this.#connected = false;
      await this.#admin.disconnect();
    }
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #letterAt(
    bounds: readonly PartitionBounds[],
    position: DeadLetterPosition,
    signal: AbortSignal | undefined,
  ): Promise<DeadLetter> {
    const partition = bounds.find((b) => b.partition === position.partition);
    if (partition === undefined || position.offset < partition.low || position.offset >= partition.high) {
      throw new DeadLetterNotFoundError(this.topic, position);
    }
    let found: DeadLetter | undefined;
    const range = { partition: position.partition, from: position.offset, to: position.offset + 1 };
    await this.#read([range], signal, ({ offset, message }) => {
      if (offset === position.offset) found = readDeadLetter(message, position);
    });
    if (found === undefined) throw new DeadLetterNotFoundError(this.topic, position);
    return found;
  }

  /** Offsets of every partition, in partition order; none when the topic does not exist. */
  async #bounds(signal: AbortSignal | undefined): Promise<PartitionBounds[]> {
    signal?.throwIfAborted();
    const admin = await this.#ready();
    if (!(await admin.listTopics()).includes(this.topic)) return [];
    const offsets = await admin.watermarks(this.topic);
    signal?.throwIfAborted();
    return offsets
      .map(({ partition, low, high }) => ({ partition, low, high }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** Reads after `#bounds`, which connected (a call running while `close()` waits may go on). */
  #read(
    ranges: readonly ReadRange[],
    signal: AbortSignal | undefined,
    onRecord: (record: { partition: number; offset: number; message: Message }) => Promise<void> | void,
  ): Promise<void> {
    return readRanges(this.#admin, this.topic, ranges, {
      messageIdHeader: this.#messageIdHeader,
      binaryKeyHeader: BINARY_KEY_HEADER,
      timeoutMs: this.#readTimeoutMs,
      signal,
      onRecord,
    });
  }

  #publisher(): Publisher {
    if (this.#options.publisher !== undefined) return this.#options.publisher;
    const {
      topic: _topic,
      publisher: _publisher,
      messageIdHeader,
      readTimeoutMs: _timeout,
      ...connection
    } = this.#options;
    this.#ownPublisher ??= new KafkaPublisher({
      ...connection,
      ...(messageIdHeader === undefined ? {} : { messageIdHeader }),
    });
    return this.#ownPublisher;
  }

  async #ready(): Promise<AdminDriver> {
    if (this.#closed) throw new ClosedError('KafkaDeadLetterQueue');
    if (!this.#connected) {
      this.#connecting ??= this.#admin
        .connect()
        .then(() => {
          this.#connected = true;
        })
        .finally(() => {
          this.#connecting = undefined;
        });
      await this.#connecting;
    }
    return this.#admin;
  }

  #run<T>(operation: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError('KafkaDeadLetterQueue'));
    const running = this.#attempt(operation, signal, fn);
    this.#running.add(running);
    const forget = () => this.#running.delete(running);
    running.then(forget, forget);
    return running;
  }

  async #attempt<T>(operation: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      // An aborted signal's reason is the caller's own, so it is passed on as it is.
      if ((signal?.aborted && error === signal.reason) || (error instanceof Error && error.name === 'AbortError')) {
        throw error;
      }
      throw toKafkaError(error, { operation, topic: this.topic, secrets: this.#secrets }) as BusError;
    }
  }
}
