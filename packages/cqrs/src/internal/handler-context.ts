import { ConfigError, type HandlerContext, type Logger, type ReceivedMessage } from '@bus/core';
import type { CommandBus } from '../command-bus.js';
import type { CqrsContext } from '../context.js';
import type { AnyNewCommand, AnyNewEvent } from '../definition.js';
import type { Envelope } from '../envelope.js';
import type { EventBus } from '../event-bus.js';

/** The buses a processor's handlers publish and send with. */
export interface ContextBuses {
  readonly events?: EventBus | undefined;
  readonly commands?: CommandBus | undefined;
}

/**
 * A handler's {@link CqrsContext}. Made for every message, so `publish` and `send` are built only
 * when a handler reads them (most never do); each read gives a function bound to this message, so
 * `({ publish }) => publish(...)` works too.
 */
export class MessageContext implements CqrsContext {
  readonly envelope: Envelope;
  readonly message: ReceivedMessage;
  readonly #context: HandlerContext;
  readonly #buses: ContextBuses;

  constructor(envelope: Envelope, message: ReceivedMessage, context: HandlerContext, buses: ContextBuses) {
    this.envelope = envelope;
    this.message = message;
    this.#context = context;
    this.#buses = buses;
  }

  get signal(): AbortSignal {
    return this.#context.signal;
  }

  get logger(): Logger {
    return this.#context.logger;
  }

  get publish(): (events: AnyNewEvent | readonly AnyNewEvent[]) => Promise<Envelope[]> {
    const { envelope } = this;
    const events = this.#buses.events;
    return async (drafts) => {
      if (events === undefined) throw missingBus('events');
      return events.publish(drafts, { causedBy: envelope });
    };
  }

  get send(): (command: AnyNewCommand) => Promise<Envelope> {
    const { envelope } = this;
    const commands = this.#buses.commands;
    return async (command) => {
      if (commands === undefined) throw missingBus('commands');
      return commands.send(command, { causedBy: envelope });
    };
  }
}

function missingBus(option: 'events' | 'commands'): ConfigError {
  const what = option === 'events' ? 'an EventBus to publish' : 'a CommandBus to send';
  return new ConfigError('cqrs handler context', [{ path: option, message: `pass ${what} from handlers` }]);
}
