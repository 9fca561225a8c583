import type { Handler, Middleware } from '../../pubsub.js';

/** Wraps `handler` so that `middleware[0]` runs outermost. */
export function compose(middleware: readonly Middleware[], handler: Handler): Handler {
  let composed = handler;
  for (let i = middleware.length - 1; i >= 0; i--) {
    const wrap = middleware[i];
    if (wrap) composed = wrap(composed);
  }
  return composed;
}

/** Applies decorators so that `decorators[0]` wraps innermost. */
export function decorate<T>(value: T, decorators: readonly ((value: T) => T)[]): T {
  let decorated = value;
  for (const decorator of decorators) decorated = decorator(decorated);
  return decorated;
}
