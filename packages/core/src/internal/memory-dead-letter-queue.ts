import { ClosedError } from '../errors.js';
import {
  type DeadLetter,
  type DeadLetterListOptions,
  DeadLetterNotFoundError,
  type DeadLetterPosition,
  type DeadLetterQueue,
  type DeadLetterReplayOptions,
  type DeadLetterReplayReport,
  type DeadLetterSelector,
} from '../middleware/dead-letter-queue.js';
import {
  checkDeadLetterSelector,
  readDeadLetter,
  replayMessageOf,
  resolveDeadLetterListOptions,
} from '../middleware/dead-letter-record.js';
import type { Message, Publisher } from '../pubsub.js';
import type { MemoryCore } from './memory-core.js';
import type { StoredRecord } from './memory-log.js';
import { MemoryPublisher } from './memory-publisher.js';

/** The {@link DeadLetterQueue} of one topic of a {@link MemoryCore}. */
export class MemoryDeadLetterQueue implements DeadLetterQueue {
  readonly topic: string;
  readonly #core: MemoryCore;
  /** Calls still running, which `close()` waits for. */
  readonly #running = new Set<Promise<unknown>>();
  #closed = false;

  constructor(core: MemoryCore, topic: string) {
    this.#core = core;
    this.topic = topic;
  }

  list(options?: DeadLetterListOptions): Promise<readonly DeadLetter[]> {
    return this.#track(() => this.#list(options));
  }

  count(options?: { signal?: AbortSignal }): Promise<number> {
    return this.#track(() => this.#count(options));
  }

  replay(selector: DeadLetterSelector, options?: DeadLetterReplayOptions): Promise<DeadLetterReplayReport> {
    return this.#track(() => this.#replay(selector, options));
  }

  purge(options?: { signal?: AbortSignal }): Promise<number> {
    return this.#track(() => this.#purge(options));
  }

  /** Waits for running calls; later calls reject with `ClosedError`. The broker stays open. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#running]);
  }

  /** Same as {@link close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #track<T>(call: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new ClosedError('MemoryBroker dead-letter queue'));
    const running = call();
    this.#running.add(running);
    const forget = () => this.#running.delete(running);
    running.then(forget, forget);
    return running;
  }

  async #list(options: DeadLetterListOptions | undefined): Promise<readonly DeadLetter[]> {
    const { limit, from, signal } = resolveDeadLetterListOptions(options);
    this.#checkOpen(signal);
    const letters: DeadLetter[] = [];
    for (const letter of this.#letters(from)) {
      if (letters.length === limit) break;
      letters.push(letter);
    }
    return letters;
  }

  async #count(options: { signal?: AbortSignal } = {}): Promise<number> {
    this.#checkOpen(options.signal);
    const logs = this.#core.findTopic(this.topic)?.logs ?? [];
    return logs.reduce((sum, log) => sum + (log.end - log.start), 0);
  }

  async #replay(selector: DeadLetterSelector, options: DeadLetterReplayOptions = {}): Promise<DeadLetterReplayReport> {
    checkDeadLetterSelector(selector);
    this.#checkOpen(options.signal);
    const chosen =
      typeof selector === 'function' ? [...this.#letters(undefined)].filter(selector) : [this.#letterAt(selector)];
    const replayed: DeadLetterPosition[] = [];
    const skipped: DeadLetterPosition[] = [];
    const publisher: Publisher = new MemoryPublisher(this.#core);
    try {
      for (const letter of chosen) {
        options.signal?.throwIfAborted();
        const position = { partition: letter.partition, offset: letter.offset };
        if (letter.original === undefined || letter.failure === undefined) {
          skipped.push(position);
          continue;
        }
        await publisher.publish(
          letter.failure.originalTopic,
          replayMessageOf(this.topic, { ...letter, original: letter.original }),
        );
        replayed.push(position);
      }
    } finally {
      await publisher.close();
    }
    return { replayed, skipped };
  }

  async #purge(options: { signal?: AbortSignal } = {}): Promise<number> {
    this.#checkOpen(options.signal);
    const logs = this.#core.findTopic(this.topic)?.logs ?? [];
    return logs.reduce((sum, log) => sum + log.deleteBefore(log.end), 0);
  }

  #checkOpen(signal: AbortSignal | undefined): void {
    signal?.throwIfAborted();
    if (this.#core.closed) throw new ClosedError('MemoryBroker');
  }

  #letterAt(position: DeadLetterPosition): DeadLetter {
    const record = this.#core.findTopic(this.topic)?.logs[position.partition]?.get(position.offset);
    if (record === undefined) throw new DeadLetterNotFoundError(this.topic, position);
    return readDeadLetter(messageOf(record), position);
  }

  *#letters(from: DeadLetterPosition | undefined): Generator<DeadLetter> {
    const logs = this.#core.findTopic(this.topic)?.logs ?? [];
    for (let partition = from?.partition ?? 0; partition < logs.length; partition++) {
      const log = logs[partition];
      if (log === undefined) continue;
      const first = partition === from?.partition ? Math.max(from.offset, log.start) : log.start;
      for (let offset = first; offset < log.end; offset++) {
        const record = log.get(offset);
        if (record !== undefined) yield readDeadLetter(messageOf(record), { partition, offset });
      }
    }
  }
}

/** A copy of a stored record, so callers cannot alter the log. */
function messageOf(record: StoredRecord): Message {
  return {
    id: record.id,
    payload: record.payload.slice(),
    headers: { ...record.headers },
    ...(record.binaryHeaders === undefined
      ? {}
      : {
          binaryHeaders: Object.fromEntries(
            Object.entries(record.binaryHeaders).map(([name, value]) => [name, value.slice()]),
          ),
        }),
    ...(record.key === undefined ? {} : { key: typeof record.key === 'string' ? record.key : record.key.slice() }),
    timestamp: record.timestamp,
  };
}
