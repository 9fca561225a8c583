import type { Logger, ReceivedMessage } from '@bus/core';
import type { AnyNewCommand, AnyNewEvent } from './definition.js';
import type { Envelope } from './envelope.js';

/** What a cqrs handler gets besides the typed event or command. */
export interface CqrsContext {
  /** The envelope of the message being handled. */
  readonly envelope: Envelope;
  /** The transport message (topic, partition, offset, delivery attempt, raw headers). */
  readonly message: ReceivedMessage;
  /** Aborted when the handler must stop (a timeout, the close deadline). */
  readonly signal: AbortSignal;
  /** The router's logger, bound to this handler. */
  readonly logger: Logger;
  /**
   * Publishes events caused by this message: they carry its correlation id (its id when it has
   * none), tenant and actor, and its id as causation id.
   * @throws {ConfigError} when the processor has no `events` bus.
   */
  publish(events: AnyNewEvent | readonly AnyNewEvent[]): Promise<Envelope[]>;
  /**
   * Sends a command caused by this message, propagating ids as `publish` does.
   * @throws {ConfigError} when the processor has no `commands` bus.
   */
  send(command: AnyNewCommand): Promise<Envelope>;
}
