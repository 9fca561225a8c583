import type { Logger } from './logger.js';

// The contract of bus, on one screen. Transports implement Publisher and Subscriber
// (docs/implementing-a-transport.md); the Router runs Handlers wrapped in Middleware.

/** A message as published: an opaque payload with text (and, rarely, binary) headers, carried byte-exact. */
export interface Message {
  /** Unique id, a UUID unless the producer chose another. Transports carry it in a header. */
  readonly id: string;
  /** The body, opaque to bus. Codecs turn typed values into payloads. */
  readonly payload: Uint8Array;
  /** Text headers, written as UTF-8. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Header values that are bytes rather than text, for peers that put binary values in headers
   * (Spring Kafka's correlation id, a 4-byte partition number). Absent when there are none.
   *
   * On publish, each is written as-is; a name must not be in `headers` too. On receipt, every
   * transport applies one rule, whoever the producer was: a value that is valid UTF-8 is in
   * `headers`, any other is here. So a binary value that happens to be valid UTF-8 arrives as text:
   * read a header as bytes with `headerBytes(message, name)`, which is exact either way.
   */
  readonly binaryHeaders?: Readonly<Record<string, Uint8Array>>;
  /** Partitioning and ordering key: the same key goes to the same partition, in order. */
  readonly key?: string | Uint8Array;
  /** Event time in ms since the epoch; transports fill in the append time when absent. */
  readonly timestamp?: number;
}

/** Where a received message sits in its transport, and how often it was delivered. */
export interface Delivery {
  /** The topic it was read from. */
  readonly topic: string;
  /** The partition it was read from. */
  readonly partition: number;
  /** Its offset in that partition. */
  readonly offset: number;
  /** 1 on first delivery, incremented on every redelivery this transport can observe. */
  readonly deliveryAttempt: number;
}

/** How a received message was settled. */
export type Settlement = 'pending' | 'acked' | 'nacked';

/** Options of {@link ReceivedMessage.nack}. */
export interface NackOptions {
  /**
   * Wait this long before redelivering: 0 (default) to 2^31−1 ms, else `nack` throws a `ConfigError`.
   * Meanwhile later messages of its partition wait behind it (none overtakes it) and the other
   * partitions keep flowing, so a consumer can defer a message that is not due yet.
   */
  delayMs?: number;
  /** Why the message was refused, for logs and metrics. */
  reason?: string | Error;
}

/**
 * A message handed to a consumer, which settles it exactly once. Until then it is in flight and
 * its offset is never committed. Both methods return `true` only for the call that took effect:
 * `false` once settled, or once its partition was revoked from this consumer.
 */
export interface ReceivedMessage extends Message, Delivery {
  /** `pending` until the first `ack()` or `nack()` takes effect. */
  readonly settlement: Settlement;
  /** Marks it processed, so the transport may commit past it. */
  ack(): boolean;
  /** Refuses it, so it is delivered again (to this or another group member) after `delayMs`. */
  nack(options?: NackOptions): boolean;
}

/** Sends messages to topics. */
export interface Publisher extends AsyncDisposable {
  /** The contract version this transport implements. */
  readonly specVersion: SpecVersion;
  /**
   * Resolves once the transport durably accepted every message; rejects with a typed error
   * otherwise (a retried publish may duplicate). Same-key messages of one call keep their order.
   */
  publish(topic: string, ...messages: Message[]): Promise<void>;
  /** Flushes, then releases resources; later publishes reject with `ClosedError`. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link Subscriber.subscribe}. */
export interface SubscribeOptions {
  /** Members of one group share the partitions; each group gets every message. */
  group?: string;
  /** Aborting ends this subscription, like leaving the loop. */
  signal?: AbortSignal;
}

/**
 * Receives messages. Consumption starts when iteration starts. Only the contiguous prefix of acked
 * messages is committed; leaving the loop, aborting `signal` or `close()` ends the subscription,
 * and whatever was not acked is delivered again later: never lost.
 */
export interface Subscriber extends AsyncDisposable {
  /** The contract version this transport implements. */
  readonly specVersion: SpecVersion;
  /** Subscribes to `topic`, as a member of `options.group`. */
  subscribe(topic: string, options?: SubscribeOptions): AsyncIterable<ReceivedMessage>;
  /** Ends every subscription and releases resources. Idempotent. */
  close(): Promise<void>;
}

/** What a handler gets besides the message. */
export interface HandlerContext {
  /** Name of the handler, as registered with the router. */
  readonly handlerName: string;
  /** Consumer group the handler's subscription belongs to, when the router set one. */
  readonly group?: string | undefined;
  /** Aborted when the handler must stop: a timeout, or the router's close deadline. */
  readonly signal: AbortSignal;
  /** The router's logger, bound to this handler. */
  readonly logger: Logger;
  /**
   * Told what middleware did with the message: a retry, a dead letter (see {@link HandlerEvent}). The
   * router does not set it. A middleware that observes the ones listed after it (tracing, metrics)
   * passes them a context with its own `onEvent`, which also calls the one it was given, if any.
   * Middleware that reports (`retry`, `deadLetter`, `retryTopics`) calls it when present and ignores
   * what it throws.
   */
  readonly onEvent?: ((event: HandlerEvent) => void) | undefined;
}

/** What middleware reports through {@link HandlerContext.onEvent}. */
export type HandlerEvent = HandlerRetryEvent | HandlerDeadLetterEvent;

/** A failed attempt that will be tried again: in process (`retry`), or through a retry topic (`retryTopics`). */
export interface HandlerRetryEvent {
  readonly type: 'retry';
  readonly message: ReceivedMessage;
  /** The failure that causes the retry. */
  readonly error: Error;
  /** 1 for the first retry. */
  readonly retry: number;
  /** How long until the retry, in milliseconds. */
  readonly delayMs: number;
  /** The retry topic the message was moved to; absent for an in-process retry. */
  readonly topic?: string;
}

/** A message moved to a dead-letter topic (`deadLetter`, or `retryTopics` once its delays ran out). */
export interface HandlerDeadLetterEvent {
  readonly type: 'deadLetter';
  readonly message: ReceivedMessage;
  /** The last failure. */
  readonly error: Error;
  /** The dead-letter topic. */
  readonly topic: string;
  /** What was published there. */
  readonly deadLetter: Message;
}

/**
 * Handles one message and returns messages to forward (published before the input is acked), or
 * nothing. Throwing nacks the input. The router settles the message; handlers do not.
 */
export type Handler = (
  message: ReceivedMessage,
  context: HandlerContext,
) => Promise<readonly Message[] | undefined | void> | readonly Message[] | undefined | void;

/** Wraps a handler in behaviour (retry, timeout, ...). The first listed runs outermost. */
export type Middleware = (next: Handler) => Handler;

/** Version of this contract; a transport declares the one it implements in `specVersion`. */
export const SPEC_VERSION = 1 as const;

/** The contract version type. */
export type SpecVersion = typeof SPEC_VERSION;

/** Throws a `TypeError` unless `transport` implements this version of the contract. */
export function assertSpecVersion(transport: { readonly specVersion?: unknown }, what = 'transport'): void {
  if (transport.specVersion !== SPEC_VERSION) {
    throw new TypeError(
      `${what} implements bus contract version ${String(transport.specVersion)}, but @bus/core expects ${SPEC_VERSION}`,
    );
  }
}
