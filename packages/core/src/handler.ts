import type { Logger } from './logger.js';
import type { Message, ReceivedMessage } from './message.js';

/** What a handler gets besides the message. */
export interface HandlerContext {
  /** Name of the handler, as registered with the router. */
  readonly handlerName: string;
  /** Aborted when the handler must stop: a timeout, or the router's close deadline. */
  readonly signal: AbortSignal;
  /** The router's logger, bound to this handler. */
  readonly logger: Logger;
}

/**
 * Handles one message. Returns messages to forward to the handler's publish topic (published
 * before the input is acked), or nothing. Throwing nacks the input, unless middleware decides otherwise.
 * Handlers do not call `ack()`/`nack()` themselves; the router settles the message from the outcome
 * (middleware such as `instantAck` may settle earlier).
 */
export type Handler = (
  message: ReceivedMessage,
  context: HandlerContext,
) => Promise<readonly Message[] | undefined | void> | readonly Message[] | undefined | void;

/** Wraps a handler in behaviour (retry, timeout, ...). Composes like functions: the first listed runs outermost. */
export type Middleware = (next: Handler) => Handler;
