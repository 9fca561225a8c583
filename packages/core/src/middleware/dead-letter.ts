import { ConfigIssues } from '../config.js';
import { BusError, toError } from '../errors.js';
import type { Message, Middleware, Publisher, ReceivedMessage } from '../pubsub.js';
import { deadLetterMessage } from './internal/dead-letter-message.js';
import { reportEvent } from './internal/report-event.js';

/** Prefix of every header the dead-letter middleware adds. */
export const DEAD_LETTER_HEADER_PREFIX = 'bus-dlq-';

/** Names of the headers a dead-lettered message carries, next to its original headers. */
export const DeadLetterHeaders = Object.freeze({
  /** Topic the message was consumed from. */
  originalTopic: 'bus-dlq-original-topic',
  /** Partition it was consumed from. */
  originalPartition: 'bus-dlq-original-partition',
  /** Its offset in that partition. */
  originalOffset: 'bus-dlq-original-offset',
  /** Consumer group that failed to handle it (Spring's `kafka_dlt-original-consumer-group`); absent when unknown. */
  originalConsumerGroup: 'bus-dlq-original-consumer-group',
  /** Name of the handler that failed. */
  handler: 'bus-dlq-handler',
  /** The error's message, truncated to 1 000 characters. */
  errorMessage: 'bus-dlq-error-message',
  /** The error's class name (`error.name`). */
  errorClass: 'bus-dlq-error-class',
  /** The class name of the error's direct `cause`, when it has one (Spring's `kafka_dlt-exception-cause-fqcn`). */
  errorCauseClass: 'bus-dlq-error-cause-class',
  /** The `cause` chain, outermost first: a JSON array of `{ "class", "message" }`, at most 8 links of 500 characters. */
  errorCauses: 'bus-dlq-error-causes',
  /** The error's stack, truncated to 4 000 characters (unless `includeStack` is false). */
  errorStack: 'bus-dlq-error-stacktrace',
  /** The error's `code`, when it has a string one (every bus error does). */
  errorCode: 'bus-dlq-error-code',
  /** Failed attempts before dead-lettering, minus one: redeliveries plus in-process retries. */
  retryCount: 'bus-dlq-retry-count',
  /** Failed attempts before dead-lettering: `retryCount` + 1. */
  attempts: 'bus-dlq-attempts',
  /** When this process first saw it fail (the retry middleware records it), ISO 8601. */
  firstFailedAt: 'bus-dlq-first-failed-at',
  /** The last failure, when it was dead-lettered, ISO 8601. */
  failedAt: 'bus-dlq-failed-at',
} as const);

/** Options of {@link deadLetter}. */
export interface DeadLetterOptions {
  /** Where dead letters go. Not closed by the router: its owner closes it. */
  publisher: Publisher;
  /** The dead-letter (poison) topic. */
  topic: string;
  /** Whether to write the error's (bounded) stack in `bus-dlq-error-stacktrace`. Default true. */
  includeStack?: boolean;
  /** Which errors dead-letter the message; the others are rethrown (so the message is nacked). Default: all. */
  filter?: (error: Error, message: ReceivedMessage) => boolean;
  /** Called after a message was dead-lettered. (The handler context's `onEvent` is told too.) */
  onDeadLetter?: (event: {
    readonly error: Error;
    readonly message: ReceivedMessage;
    readonly deadLetter: Message;
  }) => void;
}

/**
 * Moves messages whose handler failed to a dead-letter topic, then lets the router ack the original,
 * so one poison message does not block its partition forever. The dead letter keeps the original id,
 * payload, key, timestamp and headers, plus `bus-dlq-*` headers ({@link DeadLetterHeaders}) saying where
 * it came from and why it failed.
 *
 * Trade-offs: put `retry` inside it (listed after it) so transient failures are retried first; without
 * retry, every failure is final. If publishing the dead letter fails, the original is nacked (nothing
 * is lost, the message is seen again). Dead-lettered messages leave the key's order: later messages of
 * the same key are handled without it. Forwarded output of a dead-lettered handler is empty.
 * @throws {ConfigError} for invalid options, at construction.
 */
export function deadLetter(options: DeadLetterOptions): Middleware {
  const issues = new ConfigIssues('deadLetter');
  issues.require(typeof options?.publisher?.publish === 'function', 'publisher', 'must be a Publisher');
  issues.require(typeof options?.topic === 'string' && options.topic.length > 0, 'topic', 'must be a non-empty string');
  for (const fn of ['filter', 'onDeadLetter'] as const) {
    if (options?.[fn] !== undefined && typeof options[fn] !== 'function') issues.add(fn, 'must be a function');
  }
  if (options?.includeStack !== undefined && typeof options.includeStack !== 'boolean') {
    issues.add('includeStack', 'must be a boolean');
  }
  issues.throwIfAny();
  const { publisher, topic, filter, onDeadLetter } = options;
  const includeStack = options.includeStack ?? true;

  return (next) => async (message, context) => {
    try {
      return await next(message, context);
    } catch (thrown) {
      const error = toError(thrown);
      // A retry-topic message that is not due yet is deferred, not failed.
      if (isRetryNotDue(error) || (filter !== undefined && !filter(error, message))) throw error;
      const letter = deadLetterMessage(message, error, context, { includeStack });
      try {
        await publisher.publish(topic, letter);
      } catch (publishError) {
        context.logger.error({ err: toError(publishError), messageId: message.id }, 'dead-lettering failed; nacking');
        throw error;
      }
      context.logger.warn({ err: error, messageId: message.id, topic }, 'message dead-lettered');
      onDeadLetter?.({ error, message, deadLetter: letter });
      reportEvent(context, { type: 'deadLetter', error, message, topic, deadLetter: letter });
      return undefined;
    }
  };
}

function isRetryNotDue(error: Error): boolean {
  return (error as { code?: unknown }).code === 'RETRY_NOT_DUE' && BusError.isInstance(error);
}
