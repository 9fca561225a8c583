import type { ReceivedMessage } from '../../pubsub.js';

/** How the router settled a message. */
export type Outcome = 'acked' | 'nacked';

const hooks = new WeakMap<ReceivedMessage, ((outcome: Outcome) => void)[]>();

/**
 * Runs `hook` once the router has settled `message` (after forwarding). Lets middleware react to
 * failures that happen after the handler returned, such as a failed forward.
 */
export function onSettled(message: ReceivedMessage, hook: (outcome: Outcome) => void): void {
  const list = hooks.get(message);
  if (list === undefined) hooks.set(message, [hook]);
  else list.push(hook);
}

/** Called by the router after it acked or nacked `message`. Hooks must not throw; errors are ignored. */
export function settled(message: ReceivedMessage, outcome: Outcome): void {
  const list = hooks.get(message);
  if (list === undefined) return;
  hooks.delete(message);
  for (const hook of list) {
    try {
      hook(outcome);
    } catch {
      // A hook's failure must not change how the message was settled.
    }
  }
}
