import { BusError } from '../errors.js';

const UNROUTABLE_OUTPUT_MARKER = 'bus.error.router.unroutable-output';

/**
 * A handler returned messages but has no `publishTopic` to forward them to. The input is nacked
 * rather than acked, so the returned messages are never silently dropped.
 */
export class UnroutableOutputError extends BusError {
  /** Name of the handler that returned the messages. */
  readonly handlerName: string;

  constructor(handlerName: string, count: number) {
    super(`Handler "${handlerName}" returned ${count} message(s) but has no publishTopic to forward them to`, {
      code: 'ROUTER_UNROUTABLE_OUTPUT',
    });
    this.name = 'UnroutableOutputError';
    this.handlerName = handlerName;
    this.mark(UNROUTABLE_OUTPUT_MARKER);
  }

  static override isInstance(error: unknown): error is UnroutableOutputError {
    return BusError.hasMarker(error, UNROUTABLE_OUTPUT_MARKER);
  }
}

const INVALID_OUTPUT_MARKER = 'bus.error.router.invalid-output';

/**
 * A handler returned something other than an array of messages or nothing. The input is nacked,
 * since whatever it meant to forward cannot be.
 */
export class InvalidOutputError extends BusError {
  /** Name of the handler that returned it. */
  readonly handlerName: string;

  constructor(handlerName: string, returned: unknown) {
    super(
      `Handler "${handlerName}" returned ${returned === null ? 'null' : typeof returned}; return an array of messages or nothing`,
      { code: 'ROUTER_INVALID_OUTPUT' },
    );
    this.name = 'InvalidOutputError';
    this.handlerName = handlerName;
    this.mark(INVALID_OUTPUT_MARKER);
  }

  static override isInstance(error: unknown): error is InvalidOutputError {
    return BusError.hasMarker(error, INVALID_OUTPUT_MARKER);
  }
}
