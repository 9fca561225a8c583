import type { HandlerContext, HandlerEvent } from '../../pubsub.js';

/** Tells the context's observer, if any, about `event`; an observer's failure changes nothing here. */
export function reportEvent(context: HandlerContext, event: HandlerEvent): void {
  const onEvent = context.onEvent;
  if (onEvent === undefined) return;
  try {
    onEvent(event);
  } catch (error) {
    context.logger.warn({ err: error }, 'a handler-event observer failed; ignored');
  }
}
