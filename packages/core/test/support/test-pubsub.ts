/**
 * TEST HELPER ONLY: a tiny in-process Publisher + Subscriber that records every publish, ack and nack
 * in one event log, so router tests can assert on ordering and settlement. One consumer per topic;
 * groups are ignored. Not a reference transport: the real one lives in src/memory.
 */
import {
  ClosedError,
  type Message,
  type NackOptions,
  type Publisher,
  type ReceivedMessage,
  SPEC_VERSION,
  type Settlement,
  type Subscriber,
  type SubscribeOptions,
} from '@bus/core';

interface Entry {
  readonly message: Message;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly attempt: number;
}

interface TopicState {
  readonly queue: Entry[];
  readonly waiters: Set<() => void>;
  readonly published: Message[];
  nextOffset: number;
}

/** One entry of {@link TestPubSub.events}. */
export type TestEvent =
  | { type: 'publish'; topic: string; id: string }
  | { type: 'ack'; topic: string; id: string; attempt: number }
  | { type: 'nack'; topic: string; id: string; attempt: number; reason: string | Error | undefined };

export class TestPubSub implements Publisher, Subscriber {
  readonly specVersion = SPEC_VERSION;
  readonly events: TestEvent[] = [];
  /** Called before a publish is stored; throw or reject to make it fail. */
  beforePublish: ((topic: string, messages: readonly Message[]) => void | Promise<void>) | undefined;
  /** Messages delivered but not settled right now, and the most there ever were. */
  outstanding = 0;
  maxOutstanding = 0;
  closeCalls = 0;
  readonly #partitions: number;
  readonly #topics = new Map<string, TopicState>();
  #closed = false;

  constructor(options: { partitions?: number } = {}) {
    this.#partitions = options.partitions ?? 4;
  }

  async publish(topic: string, ...messages: Message[]): Promise<void> {
    if (this.#closed) throw new ClosedError('TestPubSub');
    await this.beforePublish?.(topic, messages);
    const state = this.#topic(topic);
    for (const message of messages) {
      state.published.push(message);
      this.events.push({ type: 'publish', topic, id: message.id });
      this.#enqueue(state, {
        message,
        topic,
        partition: this.#partitionOf(message),
        offset: state.nextOffset++,
        attempt: 1,
      });
    }
  }

  /** Messages ever published to `topic`, in order. */
  published(topic: string): readonly Message[] {
    return this.#topic(topic).published;
  }

  /** Events of one type, optionally for one topic. */
  eventsOf<T extends TestEvent['type']>(type: T, topic?: string): Extract<TestEvent, { type: T }>[] {
    return this.events.filter(
      (e): e is Extract<TestEvent, { type: T }> => e.type === type && (topic === undefined || e.topic === topic),
    );
  }

  async *subscribe(topic: string, options: SubscribeOptions = {}): AsyncIterable<ReceivedMessage> {
    const state = this.#topic(topic);
    const { signal } = options;
    while (!this.#closed && !signal?.aborted) {
      const entry = state.queue.shift();
      if (entry !== undefined) {
        yield this.#receive(entry);
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          state.waiters.delete(wake);
          signal?.removeEventListener('abort', wake);
          resolve();
        };
        state.waiters.add(wake);
        signal?.addEventListener('abort', wake, { once: true });
      });
    }
  }

  async close(): Promise<void> {
    this.closeCalls++;
    this.#closed = true;
    for (const state of this.#topics.values()) for (const wake of [...state.waiters]) wake();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #topic(topic: string): TopicState {
    let state = this.#topics.get(topic);
    if (state === undefined) {
      state = { queue: [], waiters: new Set(), published: [], nextOffset: 0 };
      this.#topics.set(topic, state);
    }
    return state;
  }

  #enqueue(state: TopicState, entry: Entry): void {
    state.queue.push(entry);
    for (const wake of [...state.waiters]) wake();
  }

  #partitionOf(message: Message): number {
    if (typeof message.key !== 'string') return 0;
    let hash = 0;
    for (let i = 0; i < message.key.length; i++) hash = (hash * 31 + message.key.charCodeAt(i)) | 0;
    return Math.abs(hash) % this.#partitions;
  }

  #receive(entry: Entry): ReceivedMessage {
    this.outstanding++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    let settlement: Settlement = 'pending';
    const { message } = entry;
    const received: ReceivedMessage = {
      id: message.id,
      payload: message.payload,
      headers: message.headers,
      ...(message.key === undefined ? {} : { key: message.key }),
      topic: entry.topic,
      partition: entry.partition,
      offset: entry.offset,
      deliveryAttempt: entry.attempt,
      get settlement() {
        return settlement;
      },
      ack: () => {
        if (settlement !== 'pending') return false;
        settlement = 'acked';
        this.outstanding--;
        this.events.push({ type: 'ack', topic: entry.topic, id: message.id, attempt: entry.attempt });
        return true;
      },
      nack: (nackOptions: NackOptions = {}) => {
        if (settlement !== 'pending') return false;
        settlement = 'nacked';
        this.outstanding--;
        this.events.push({
          type: 'nack',
          topic: entry.topic,
          id: message.id,
          attempt: entry.attempt,
          reason: nackOptions.reason,
        });
        const again = () => this.#enqueue(this.#topic(entry.topic), { ...entry, attempt: entry.attempt + 1 });
        if (nackOptions.delayMs) setTimeout(again, nackOptions.delayMs);
        else again();
        return true;
      },
    };
    return received;
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws with `what`). */
export async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
