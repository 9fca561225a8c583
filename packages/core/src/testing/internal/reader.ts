import type { ReceivedMessage, Subscriber } from '../../pubsub.js';
import { DeadlineError, within } from './deadline.js';

/** What {@link Reader.take} does with each message it collects. */
export type Settle = 'ack' | 'none';

/**
 * One subscription read step by step with deadlines. Reading starts at construction (so a
 * group member joins right away), and a read that timed out stays pending for the next call,
 * so no delivered message is ever dropped by the suite itself.
 */
export class Reader {
  readonly #iterator: AsyncIterator<ReceivedMessage>;
  readonly #label: string;
  #pending: Promise<IteratorResult<ReceivedMessage>> | undefined;
  #ended = false;

  constructor(subscriber: Subscriber, topic: string, options: { group: string; signal?: AbortSignal; label?: string }) {
    const subscribeOptions = options.signal
      ? { group: options.group, signal: options.signal }
      : { group: options.group };
    this.#iterator = subscriber.subscribe(topic, subscribeOptions)[Symbol.asyncIterator]();
    this.#label = options.label ?? `${topic} (group ${options.group})`;
    this.#prime();
  }

  /** The next message, within `timeoutMs`. Throws if the subscription ends first. */
  async next(timeoutMs: number, what = 'a message'): Promise<ReceivedMessage> {
    const result = await this.#read(timeoutMs, what);
    if (result.done) throw new Error(`The subscription to ${this.#label} ended while waiting for ${what}`);
    return result.value;
  }

  /** Collects `count` messages within `timeoutMs` in total, settling each as `settle` says (default ack). */
  async take(count: number, timeoutMs: number, settle: Settle = 'ack'): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const messages: ReceivedMessage[] = [];
    while (messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new DeadlineError(`${count} messages from ${this.#label} (got ${messages.length})`, timeoutMs);
      const message = await this.next(left, `message ${messages.length + 1} of ${count} from ${this.#label}`);
      if (settle === 'ack') message.ack();
      messages.push(message);
    }
    return messages;
  }

  /**
   * Reads until `done(message)` returns true, within `timeoutMs` in total. `handle` settles each
   * message (default: ack). Returns every message read.
   */
  async until(
    done: (message: ReceivedMessage, all: readonly ReceivedMessage[]) => boolean,
    timeoutMs: number,
    what: string,
    handle: (message: ReceivedMessage) => void = (message) => {
      message.ack();
    },
  ): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + timeoutMs;
    const messages: ReceivedMessage[] = [];
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new DeadlineError(`${what} (read ${messages.length} messages)`, timeoutMs);
      const message = await this.next(left, what);
      messages.push(message);
      handle(message);
      if (done(message, messages)) return messages;
    }
  }

  /** Resolves once the subscription has ended (after an abort or close), within `timeoutMs`. */
  async ended(timeoutMs: number): Promise<void> {
    for (;;) {
      const result = await this.#read(timeoutMs, `the end of the subscription to ${this.#label}`);
      if (result.done) return;
    }
  }

  /** Leaves the loop, as `break` in a for-await does. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#ended) return;
    this.#ended = true;
    await within(Promise.resolve(this.#iterator.return?.()), timeoutMs, `the subscription to ${this.#label} to stop`);
  }

  #prime(): void {
    const pending = this.#iterator.next();
    // The suite always awaits it later, or drops it on stop; never an unhandled rejection.
    pending.catch(() => {});
    this.#pending = pending;
  }

  async #read(timeoutMs: number, what: string): Promise<IteratorResult<ReceivedMessage>> {
    if (this.#pending === undefined) {
      if (this.#ended) return { done: true, value: undefined };
      this.#prime();
    }
    const result = await within(this.#pending as Promise<IteratorResult<ReceivedMessage>>, timeoutMs, what);
    this.#pending = undefined;
    if (result.done) this.#ended = true;
    return result;
  }
}
