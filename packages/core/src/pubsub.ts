import type { Message, ReceivedMessage } from './message.js';

/**
 * Version of the Publisher/Subscriber contract. A transport declares the version it was built for
 * in `specVersion`; {@link assertSpecVersion} rejects one built for another contract.
 */
export const SPEC_VERSION = 1 as const;

/** The contract version type. */
export type SpecVersion = typeof SPEC_VERSION;

/**
 * Sends messages to topics.
 *
 * Contract:
 * - `publish` resolves only when the transport has durably accepted every message (for Kafka:
 *   acknowledged according to its `acks`), and rejects with a typed error otherwise. A rejected
 *   publish may still have stored some messages: callers that retry must tolerate duplicates.
 * - Messages of one `publish` call with the same key keep their order.
 * - `close()` flushes what is pending, then releases connections. Publishing after close rejects
 *   with a `ClosedError`. `close()` is idempotent; `await using` calls it.
 */
export interface Publisher extends AsyncDisposable {
  /** The contract version this transport implements. */
  readonly specVersion: SpecVersion;
  /** Publishes `messages` to `topic`; see the interface contract for when it settles. */
  publish(topic: string, ...messages: Message[]): Promise<void>;
  /** Flushes pending messages and releases resources. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link Subscriber.subscribe}. */
export interface SubscribeOptions {
  /**
   * Consumer group. Members of one group share the topic's partitions (competing consumers);
   * different groups each get every message (fan-out). Transports may default it.
   */
  group?: string;
  /** Aborting stops this subscription like leaving the loop does. */
  signal?: AbortSignal;
}

/**
 * Receives messages from topics.
 *
 * Contract:
 * - `subscribe` returns an `AsyncIterable`; consumption starts when iteration starts.
 * - The consumer settles every message with `ack()` or `nack()`. Only acked messages are
 *   committed; a transport commits an offset only when every message before it was acked.
 * - Leaving the loop (`break`, `return`, a throw) or aborting `signal` ends the subscription.
 *   Messages that were not acked are redelivered later, to this or another member: never lost.
 * - `close()` ends every subscription (their loops finish) and releases resources. Idempotent;
 *   `await using` calls it.
 */
export interface Subscriber extends AsyncDisposable {
  /** The contract version this transport implements. */
  readonly specVersion: SpecVersion;
  /** Subscribes to `topic`; see the interface contract. */
  subscribe(topic: string, options?: SubscribeOptions): AsyncIterable<ReceivedMessage>;
  /** Ends every subscription and releases resources. Idempotent. */
  close(): Promise<void>;
}

/**
 * Optional fast path of a subscription's iterator: `iterator[takeReady]()` returns a message that is
 * ready now, synchronously, or `undefined` when none is (then the consumer calls `next()` as usual).
 * It lets a consumer such as the Router drain a transport's buffer without a promise per message.
 *
 * Contract for transports offering it: a message it returns is handed out exactly as `next()` would
 * hand it out; it returns `undefined` once the subscription is stopping or failed, and now and then
 * when messages are ready, so that `next()` can yield to I/O. Never throws. A decorator that wraps
 * the iterator keeps the fast path only by forwarding this method.
 */
export const takeReady: unique symbol = Symbol.for('bus.subscription.takeReady');

/** An iterator that offers the {@link takeReady} fast path. */
export interface ReadyTaker {
  /** See {@link takeReady}. */
  [takeReady](): ReceivedMessage | undefined;
}

/** Throws a `TypeError` unless `transport` implements this version of the contract. */
export function assertSpecVersion(transport: { readonly specVersion?: unknown }, what = 'transport'): void {
  if (transport.specVersion !== SPEC_VERSION) {
    throw new TypeError(
      `${what} implements bus contract version ${String(transport.specVersion)}, but @bus/core expects ${SPEC_VERSION}`,
    );
  }
}
