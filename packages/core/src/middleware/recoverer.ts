import { toError } from '../errors.js';
import type { Middleware } from '../pubsub.js';

/**
 * Turns anything a handler throws (a string, `undefined`, an object, a synchronous throw) into an
 * `Error`, wrapping non-Errors in a `HandlerError` that keeps the thrown value. Place it innermost
 * (last in the list) so every other middleware only ever sees `Error` instances with a stack.
 *
 * Trade-offs: none for delivery: the error is rethrown, so the message is still nacked. The router
 * already wraps non-Errors before nacking; this middleware matters for the middleware in between.
 */
export function recoverer(): Middleware {
  return (next) => async (message, context) => {
    try {
      return await next(message, context);
    } catch (thrown) {
      throw toError(thrown);
    }
  };
}
