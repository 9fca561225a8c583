import { ConfigIssues } from '../config.js';
import { createMessage } from '../message-helpers.js';
import type { Message } from '../pubsub.js';
import { DEAD_LETTER_HEADER_PREFIX, DeadLetterHeaders } from './dead-letter.js';
import {
  DEAD_LETTER_REPLAY_HEADERS,
  type DeadLetter,
  type DeadLetterCause,
  type DeadLetterFailure,
  type DeadLetterListOptions,
  type DeadLetterPosition,
} from './dead-letter-queue.js';

// Shared by every DeadLetterQueue implementation, so they read letters and build replays alike.

/** Largest `limit` {@link DeadLetterQueue.list} accepts. */
export const MAX_DEAD_LETTER_LIST_LIMIT = 10_000;

/**
 * Reads a record of a dead-letter topic: its `bus-dlq-*` headers become `failure`, its other
 * headers (with id, payload, key, timestamp) the `original` message replay publishes.
 */
export function readDeadLetter(message: Message, position: DeadLetterPosition): DeadLetter {
  const failure = failureOf(message.headers);
  const original: Message | undefined =
    failure === undefined
      ? undefined
      : createMessage({
          id: message.id,
          payload: message.payload,
          headers: Object.fromEntries(
            Object.entries(message.headers).filter(([name]) => !name.startsWith(DEAD_LETTER_HEADER_PREFIX)),
          ),
          ...(message.binaryHeaders === undefined ? {} : { binaryHeaders: { ...message.binaryHeaders } }),
          ...(message.key === undefined ? {} : { key: message.key }),
          ...(message.timestamp === undefined ? {} : { timestamp: message.timestamp }),
        });
  return { partition: position.partition, offset: position.offset, message, original, failure };
}

/** The message replay publishes for `letter`: its original plus the replay headers. */
export function replayMessageOf(dlqTopic: string, letter: DeadLetter & { original: Message }): Message {
  const { original } = letter;
  return createMessage({
    id: original.id,
    payload: original.payload,
    headers: {
      ...original.headers,
      [DEAD_LETTER_REPLAY_HEADERS.replayedFrom]: `${dlqTopic}/${letter.partition}/${letter.offset}`,
      [DEAD_LETTER_REPLAY_HEADERS.replayedAt]: new Date().toISOString(),
    },
    ...(original.binaryHeaders === undefined ? {} : { binaryHeaders: { ...original.binaryHeaders } }),
    ...(original.key === undefined ? {} : { key: original.key }),
    ...(original.timestamp === undefined ? {} : { timestamp: original.timestamp }),
  });
}

/**
 * Validates {@link DeadLetterListOptions} and applies defaults.
 * @throws {ConfigError} listing every invalid option.
 */
export function resolveDeadLetterListOptions(options: DeadLetterListOptions = {}): {
  limit: number;
  from: DeadLetterPosition | undefined;
  signal: AbortSignal | undefined;
} {
  const issues = new ConfigIssues('DeadLetterQueue.list');
  const limit = options.limit ?? 100;
  issues.integer(limit, 'limit', { min: 1, max: MAX_DEAD_LETTER_LIST_LIMIT });
  if (options.from !== undefined) positionIssues(issues, options.from, 'from');
  issues.throwIfAny();
  return { limit, from: options.from, signal: options.signal };
}

/**
 * Checks a replay selector: a position or a predicate.
 * @throws {ConfigError} when it is neither.
 */
export function checkDeadLetterSelector(selector: unknown): void {
  const issues = new ConfigIssues('DeadLetterQueue.replay');
  if (typeof selector !== 'function') positionIssues(issues, selector, 'selector');
  issues.throwIfAny();
}

function positionIssues(issues: ConfigIssues, position: unknown, path: string): void {
  if (typeof position !== 'object' || position === null) {
    issues.add(path, 'must be { partition, offset } or a predicate');
    return;
  }
  const { partition, offset } = position as Partial<DeadLetterPosition>;
  // Both are required: a position without one would silently mean something else.
  issues.integer(partition ?? Number.NaN, `${path}.partition`, { min: 0 });
  issues.integer(offset ?? Number.NaN, `${path}.offset`, { min: 0 });
}

function failureOf(headers: Readonly<Record<string, string>>): DeadLetterFailure | undefined {
  const originalTopic = headers[DeadLetterHeaders.originalTopic];
  const originalPartition = Number(headers[DeadLetterHeaders.originalPartition]);
  const originalOffset = Number(headers[DeadLetterHeaders.originalOffset]);
  if (originalTopic === undefined || !Number.isInteger(originalPartition) || !Number.isInteger(originalOffset)) {
    return undefined;
  }
  const attempts = Number(headers[DeadLetterHeaders.attempts] ?? Number(headers[DeadLetterHeaders.retryCount]) + 1);
  const lastFailedAt = dateOf(headers[DeadLetterHeaders.failedAt]) ?? new Date(Number.NaN);
  const group = headers[DeadLetterHeaders.originalConsumerGroup];
  const handler = headers[DeadLetterHeaders.handler];
  const code = headers[DeadLetterHeaders.errorCode];
  const stack = headers[DeadLetterHeaders.errorStack];
  return {
    originalTopic,
    originalPartition,
    originalOffset,
    ...(group === undefined ? {} : { consumerGroup: group }),
    ...(handler === undefined ? {} : { handler }),
    errorClass: headers[DeadLetterHeaders.errorClass] ?? 'Error',
    errorMessage: headers[DeadLetterHeaders.errorMessage] ?? '',
    ...(code === undefined ? {} : { errorCode: code }),
    causes: causesOf(headers[DeadLetterHeaders.errorCauses]),
    ...(stack === undefined ? {} : { stack }),
    attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : 1,
    firstFailedAt: dateOf(headers[DeadLetterHeaders.firstFailedAt]) ?? lastFailedAt,
    lastFailedAt,
  };
}

function dateOf(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function causesOf(json: string | undefined): readonly DeadLetterCause[] {
  if (json === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(json);
    if (!Array.isArray(parsed)) return [];
    return parsed.flatMap((link: unknown) => {
      const { class: errorClass, message } = (link ?? {}) as { class?: unknown; message?: unknown };
      return typeof errorClass === 'string' && typeof message === 'string' ? [{ errorClass, message }] : [];
    });
  } catch {
    return [];
  }
}
