import type { Handler, Middleware, Publisher, ReceivedMessage, Subscriber } from '../pubsub.js';
import type { Logger } from '../logger.js';

/**
 * Which messages of one handler must be handled one at a time, in order.
 * - `'key'` (default): messages with the same key; keyless messages are ordered per partition.
 * - `'partition'`: messages from the same partition.
 * - `'none'`: no ordering; any message may run in parallel with any other.
 * - a function: messages for which it returns the same string.
 */
export type OrderBy = 'key' | 'partition' | 'none' | ((message: ReceivedMessage) => string);

/** Wraps every publisher the router forwards through (for metrics, tracing, ...). */
export type PublisherDecorator = (publisher: Publisher) => Publisher;

/** Wraps every subscriber the router reads from (for metrics, tracing, ...). */
export type SubscriberDecorator = (subscriber: Subscriber) => Subscriber;

/**
 * Extends a router when it starts. Called by `run()` with the router; may return a cleanup that runs
 * once the router has stopped.
 */
export type Plugin = (router: RouterHandle) => void | (() => void);

/** What a {@link Plugin} may do with the router it is attached to. */
export interface RouterHandle {
  /** The router's logger. */
  readonly logger: Logger;
  /** Closes the router with draining semantics; see `Router.close`. */
  close(options?: CloseOptions): Promise<CloseReport>;
}

/** Options of `new Router()`. */
export interface RouterOptions {
  /** Pino-compatible logger; the default drops everything. */
  logger?: Logger;
  /** Middleware applied to every handler, outside the handler's own. The first listed runs outermost. */
  middleware?: readonly Middleware[];
  /** Default drain deadline of `close()`, in milliseconds. Default 30 000. */
  closeTimeoutMs?: number;
  /**
   * Whether the router closes the subscribers and publishers of its handlers when it stops.
   * Default `true`: the router owns every transport passed to `addHandler`.
   */
  closeTransports?: boolean;
  /** Applied to every publisher used for forwarding; the first listed wraps innermost. */
  publisherDecorators?: readonly PublisherDecorator[];
  /** Applied to every subscriber; the first listed wraps innermost. */
  subscriberDecorators?: readonly SubscriberDecorator[];
  /** Plugins started by `run()`, in order. */
  plugins?: readonly Plugin[];
}

/** A handler that only consumes: see {@link HandlerConfig}. */
export interface ConsumerHandlerConfig {
  /** Unique name, used in logs and passed to the handler's context. */
  name: string;
  /** The topic to consume. */
  subscribeTopic: string;
  /** Where to consume from. */
  subscriber: Subscriber;
  /** Consumer group; the transport's default when absent. */
  group?: string;
  /** The handler. Messages it returns are forwarded to `publishTopic`. */
  handle: Handler;
  /** How many messages may be handled at the same time. Default 1. */
  concurrency?: number;
  /** Which messages keep their order; default `'key'`. See {@link OrderBy}. */
  orderBy?: OrderBy;
  /**
   * How many received messages may wait for a free slot before the router stops pulling from the
   * subscription. Bounds memory however fast the topic is. Default `4 × concurrency`.
   * A burst of one hot key can fill the buffer and hold back other keys until it drains; raise this
   * (memory for throughput) when keys are very skewed.
   */
  maxBuffered?: number;
  /** Middleware of this handler only, inside the router-wide middleware. The first listed runs outermost. */
  middleware?: readonly Middleware[];
}

/** A handler that consumes one topic and forwards what it returns to another. */
export interface HandlerConfig extends ConsumerHandlerConfig {
  /** Where messages returned by the handler are published, before the input is acked. */
  publishTopic?: string;
  /** The publisher for `publishTopic`; required when `publishTopic` is set. */
  publisher?: Publisher;
}

/** Options of `Router.run`. */
export interface RunOptions {
  /** Aborting closes the router, like `close()`. */
  signal?: AbortSignal;
}

/** Options of `Router.close`. */
export interface CloseOptions {
  /**
   * How long the drain may take, in milliseconds: messages already received keep being handled
   * until then. At the deadline the handlers still running get their `AbortSignal` aborted, and
   * their messages and those not started are nacked. Default: the router's `closeTimeoutMs`.
   */
  timeoutMs?: number;
}

/**
 * What `Router.close()` did while draining, summed over every handler. After a drain that ended in
 * time, `nacked` and `uncommitted` are 0: nothing acked before the close is delivered again.
 */
export interface CloseReport {
  /**
   * Messages handled to the end during the drain: running or received when `close()` began, then
   * acked (or nacked by their own handler's failure, as outside a drain).
   */
  readonly finished: number;
  /**
   * Messages the drain nacked because its deadline passed: still running, or received and not
   * started. (A message the transport delivers after intake stopped is handed back, not counted.)
   */
  readonly nacked: number;
  /**
   * Messages this run settled that follow one the drain nacked in the same partition. Transports
   * commit a partition only up to its first message that was not acked, so these are delivered
   * again after a restart.
   */
  readonly uncommitted: number;
  /** Whether the deadline passed before every received message was handled. */
  readonly deadlineReached: boolean;
}

/** Lifecycle of a router. */
export type RouterState = 'idle' | 'running' | 'closing' | 'closed';
