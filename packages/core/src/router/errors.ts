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
