import { ConfigIssues, type Publisher } from '@bus/core';
import type { TopicStrategy } from './topics.js';

/** Options of `new EventBus()` and `new CommandBus()`. */
export interface BusOptions {
  /** Where messages go. Not closed by the bus unless `closePublisher` is true. */
  publisher: Publisher;
  /** Topic of each type; see `topics`. */
  topics: TopicStrategy;
  /** This service, as a CloudEvents `source` URI reference, e.g. `urn:shop:orders`. */
  source: string;
  /** Whether `close()` closes the publisher. Default false: its owner closes it. */
  closePublisher?: boolean;
}

/** Options of a single publish or send. */
export interface PublishOptions {
  /**
   * The envelope of the event or command that caused these: they inherit its correlation id (or take
   * its id as one), tenant and actor, and get its id as causation id. Handler contexts set this.
   */
  causedBy?: import('./envelope.js').Envelope;
}

export function checkBusOptions(options: BusOptions, subject: string): void {
  const issues = new ConfigIssues(subject);
  issues.require(typeof options?.publisher?.publish === 'function', 'publisher', 'must be a Publisher');
  issues.require(typeof options?.topics === 'function', 'topics', 'must be a TopicStrategy (see topics.perType, ...)');
  issues.require(
    typeof options?.source === 'string' && options.source.length > 0,
    'source',
    'must be a non-empty URI reference',
  );
  issues.require(
    options?.closePublisher === undefined || typeof options.closePublisher === 'boolean',
    'closePublisher',
    'must be a boolean',
  );
  issues.throwIfAny();
}
