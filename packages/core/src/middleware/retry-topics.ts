import { ConfigIssues } from '../config.js';
import { toError } from '../errors.js';
import { createMessage } from '../message-helpers.js';
import type { Message, Middleware, Publisher, ReceivedMessage } from '../pubsub.js';
import type { ConsumerHandlerConfig } from '../router/types.js';
import { MAX_NACK_DELAY_MS } from '../validation.js';
import { deadLetterMessage } from './internal/dead-letter-message.js';
import { reportEvent } from './internal/report-event.js';
import { firstFailureOf, recordFailure } from './internal/retry-count.js';
import { RetryNotDueError } from './retry-not-due-error.js';

/** Prefix of every header the retry-topics middleware adds. */
export const RETRY_TOPIC_HEADER_PREFIX = 'bus-retry-';

/** Headers a message carries in a retry topic, next to its own (Spring's `retry_topic-*` meanings). */
export const RetryTopicHeaders = Object.freeze({
  /** The main topic it failed on first. */
  originalTopic: 'bus-retry-original-topic',
  /** Its partition there. */
  originalPartition: 'bus-retry-original-partition',
  /** Its offset there. */
  originalOffset: 'bus-retry-original-offset',
  /** Which retry topic it is in, from 1 (Spring's `retry_topic-attempts` minus one). */
  attempt: 'bus-retry-attempt',
  /** Not to be handled before this time, ms since the epoch (Spring's `retry_topic-backoff-timestamp`). */
  dueAt: 'bus-retry-due-at',
  /** Its first failure, ms since the epoch. */
  firstFailedAt: 'bus-retry-first-failed-at',
} as const);

/** The retry topic number `attempt` (from 1) of `topic`: `<topic>.retry.<attempt>`. */
export function retryTopicName(topic: string, attempt: number): string {
  return `${topic}.retry.${attempt}`;
}

/** Options of {@link retryTopics}. */
export interface RetryTopicsOptions {
  /** Publishes to the retry topics and the dead-letter topic. Not closed by the router. */
  publisher: Publisher;
  /**
   * The delay of each retry topic, in order: a message failing on the main topic waits
   * `delaysMs[0]` in `<topic>.retry.1`, then `delaysMs[1]` in `<topic>.retry.2`, and so on.
   * 1 to 100 delays of 0 to 2^31−1 ms, usually growing.
   */
  delaysMs: readonly number[];
  /** Where a message goes once the last retry topic failed too. Default `<main topic>.dlq`. */
  deadLetterTopic?: string;
  /** Which errors take the retry topics; the others are rethrown (so the message is nacked). Default: all. */
  filter?: (error: Error, message: ReceivedMessage) => boolean;
  /** Whether dead letters carry the error's bounded stack. Default true. */
  includeStack?: boolean;
}

/**
 * Non-blocking retries (Spring Kafka's retry topics): a message whose handler fails is published to
 * `<topic>.retry.1` with a due time and acked, so the main topic keeps flowing; a handler of the
 * retry topic defers it until due (the transport holds its partition, never a sleeping handler),
 * then handles it; if that fails it moves to `.retry.2`, and after the last to the dead-letter topic
 * with the `bus-dlq-*` headers (original topic, partition and offset are the main topic's).
 *
 * Register the same handler on the main topic and on every retry topic with this middleware
 * outermost: {@link withRetryTopics} does that. Per-key order holds within each topic, not across:
 * a failed message leaves its key's order, as with `deadLetter`. If a publish fails, the message is
 * nacked where it is (nothing is lost).
 * @throws {ConfigError} for invalid options, at construction.
 */
export function retryTopics(options: RetryTopicsOptions): Middleware {
  const issues = new ConfigIssues('retryTopics');
  issues.require(typeof options?.publisher?.publish === 'function', 'publisher', 'must be a Publisher');
  const delays = options?.delaysMs;
  if (!Array.isArray(delays) || delays.length === 0 || delays.length > 100) {
    issues.add('delaysMs', 'must be an array of 1 to 100 delays');
  } else {
    delays.forEach((delay, i) => {
      issues.integer(delay, `delaysMs[${i}]`, { min: 0, max: MAX_NACK_DELAY_MS });
    });
  }
  if (
    options?.deadLetterTopic !== undefined &&
    (typeof options.deadLetterTopic !== 'string' || !options.deadLetterTopic)
  ) {
    issues.add('deadLetterTopic', 'must be a non-empty string');
  }
  if (options?.filter !== undefined && typeof options.filter !== 'function') issues.add('filter', 'must be a function');
  if (options?.includeStack !== undefined && typeof options.includeStack !== 'boolean') {
    issues.add('includeStack', 'must be a boolean');
  }
  issues.throwIfAny();
  const { publisher, filter } = options;
  const delaysMs = [...options.delaysMs];
  const includeStack = options.includeStack ?? true;

  return (next) => async (message, context) => {
    const hop = hopOf(message);
    if (hop !== undefined) {
      const waitMs = hop.dueAt - Date.now();
      if (waitMs > 0) throw new RetryNotDueError(waitMs);
    }
    try {
      return await next(message, context);
    } catch (thrown) {
      const error = toError(thrown);
      if (filter !== undefined && !filter(error, message)) throw error;
      const now = Date.now();
      recordFailure(message, now);
      const origin = hop ?? {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset,
        attempt: 0,
        dueAt: now,
        firstFailedAt: firstFailureOf(message) ?? now,
      };
      const delayMs = delaysMs[origin.attempt];
      const [target, outgoing] =
        delayMs === undefined
          ? [
              options.deadLetterTopic ?? `${origin.topic}.dlq`,
              deadLetterMessage(message, error, context, {
                includeStack,
                origin: { ...origin, earlierAttempts: origin.attempt, dropHeaderPrefix: RETRY_TOPIC_HEADER_PREFIX },
              }),
            ]
          : [retryTopicName(origin.topic, origin.attempt + 1), retryMessage(message, origin, now + delayMs)];
      try {
        await publisher.publish(target, outgoing);
      } catch (publishError) {
        context.logger.error(
          { err: toError(publishError), messageId: message.id, topic: target },
          'retry-topic publish failed; nacking',
        );
        throw error;
      }
      context.logger.warn(
        { err: error, messageId: message.id, topic: target },
        'message moved to a retry or dead-letter topic',
      );
      reportEvent(
        context,
        delayMs === undefined
          ? { type: 'deadLetter', error, message, topic: target, deadLetter: outgoing }
          : { type: 'retry', error, message, retry: origin.attempt + 1, delayMs, topic: target },
      );
      return undefined;
    }
  };
}

/**
 * The handler configs for `config`'s topic and each of its retry topics (`<name>.retry.<n>` on
 * `<topic>.retry.<n>`, same group), with {@link retryTopics} outermost. Add each to the router.
 *
 * @example
 * for (const handler of withRetryTopics(billing, { publisher, delaysMs: [1_000, 10_000, 60_000] })) {
 *   router.addConsumerHandler(handler);
 * }
 */
export function withRetryTopics<C extends ConsumerHandlerConfig>(config: C, options: RetryTopicsOptions): C[] {
  const middleware = [retryTopics(options), ...(config.middleware ?? [])];
  return [
    { ...config, middleware },
    ...options.delaysMs.map((_, i) => ({
      ...config,
      name: retryTopicName(config.name, i + 1),
      subscribeTopic: retryTopicName(config.subscribeTopic, i + 1),
      middleware,
    })),
  ];
}

interface Hop {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly attempt: number;
  readonly dueAt: number;
  readonly firstFailedAt: number;
}

/** Where a message of a retry topic came from; undefined on the main topic. */
function hopOf(message: ReceivedMessage): Hop | undefined {
  const headers = message.headers;
  const topic = headers[RetryTopicHeaders.originalTopic];
  const attempt = Number(headers[RetryTopicHeaders.attempt]);
  // Only a message read from the retry topic its headers name is a retry: headers copied onto
  // another topic (or left by a replay) do not make one.
  if (topic === undefined || !Number.isInteger(attempt) || message.topic !== retryTopicName(topic, attempt)) {
    return undefined;
  }
  const dueAt = Number(headers[RetryTopicHeaders.dueAt]);
  const firstFailedAt = Number(headers[RetryTopicHeaders.firstFailedAt]);
  return {
    topic,
    partition: Number(headers[RetryTopicHeaders.originalPartition]),
    offset: Number(headers[RetryTopicHeaders.originalOffset]),
    attempt,
    dueAt: Number.isFinite(dueAt) ? dueAt : 0,
    firstFailedAt: Number.isFinite(firstFailedAt) ? firstFailedAt : Date.now(),
  };
}

function retryMessage(message: ReceivedMessage, origin: Hop, dueAt: number): Message {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (!name.startsWith(RETRY_TOPIC_HEADER_PREFIX)) headers[name] = value;
  }
  headers[RetryTopicHeaders.originalTopic] = origin.topic;
  headers[RetryTopicHeaders.originalPartition] = String(origin.partition);
  headers[RetryTopicHeaders.originalOffset] = String(origin.offset);
  headers[RetryTopicHeaders.attempt] = String(origin.attempt + 1);
  headers[RetryTopicHeaders.dueAt] = String(dueAt);
  headers[RetryTopicHeaders.firstFailedAt] = String(origin.firstFailedAt);
  return createMessage({
    id: message.id,
    payload: message.payload,
    headers,
    ...(message.binaryHeaders === undefined ? {} : { binaryHeaders: { ...message.binaryHeaders } }),
    ...(message.key === undefined ? {} : { key: message.key }),
    ...(message.timestamp === undefined ? {} : { timestamp: message.timestamp }),
  });
}
