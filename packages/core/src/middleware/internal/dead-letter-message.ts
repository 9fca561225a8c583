import { BusError } from '../../errors.js';
import { createMessage } from '../../message-helpers.js';
import type { HandlerContext, Message, ReceivedMessage } from '../../pubsub.js';
import { DeadLetterHeaders } from '../dead-letter.js';
import { firstFailureOf, retriesOf } from './retry-count.js';

const MAX_ERROR_MESSAGE_LENGTH = 1_000;
const MAX_CAUSES = 8;
const MAX_CAUSE_MESSAGE_LENGTH = 500;
const MAX_STACK_LENGTH = 4_000;

/** Where a failed message first came from, when it is not where it failed (a retry topic). */
export interface DeadLetterOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Failed attempts before this one's. */
  readonly earlierAttempts: number;
  /** First failure, ms since the epoch. */
  readonly firstFailedAt: number;
  /** Prefix of headers to leave out of the dead letter. */
  readonly dropHeaderPrefix: string;
}

/**
 * The dead letter of `message` that failed with `error`: its id, payload, key, timestamp and
 * headers, plus the `bus-dlq-*` headers.
 */
export function deadLetterMessage(
  message: ReceivedMessage,
  error: Error,
  context: HandlerContext,
  options: { includeStack: boolean; origin?: DeadLetterOrigin },
): Message {
  const { includeStack, origin } = options;
  const now = Date.now();
  // In a retry topic, redeliveries are mostly deferrals until due, not failures: they are not counted.
  const redeliveries = origin === undefined ? Math.max(0, message.deliveryAttempt - 1) : origin.earlierAttempts;
  const retries = redeliveries + retriesOf(message);
  const ownHeaders =
    origin === undefined
      ? message.headers
      : Object.fromEntries(
          Object.entries(message.headers).filter(([name]) => !name.startsWith(origin.dropHeaderPrefix)),
        );
  const headers: Record<string, string> = {
    ...ownHeaders,
    [DeadLetterHeaders.originalTopic]: origin?.topic ?? message.topic,
    [DeadLetterHeaders.originalPartition]: String(origin?.partition ?? message.partition),
    [DeadLetterHeaders.originalOffset]: String(origin?.offset ?? message.offset),
    [DeadLetterHeaders.handler]: context.handlerName,
    [DeadLetterHeaders.errorMessage]: bounded(error.message, MAX_ERROR_MESSAGE_LENGTH),
    [DeadLetterHeaders.errorClass]: error.name,
    [DeadLetterHeaders.retryCount]: String(retries),
    [DeadLetterHeaders.attempts]: String(retries + 1),
    [DeadLetterHeaders.firstFailedAt]: new Date(origin?.firstFailedAt ?? firstFailureOf(message) ?? now).toISOString(),
    [DeadLetterHeaders.failedAt]: new Date(now).toISOString(),
  };
  if (context.group !== undefined) headers[DeadLetterHeaders.originalConsumerGroup] = context.group;
  const code = BusError.isInstance(error) ? error.code : (error as { code?: unknown }).code;
  if (typeof code === 'string') headers[DeadLetterHeaders.errorCode] = code;
  const causes = causeChain(error);
  if (causes.length > 0) {
    headers[DeadLetterHeaders.errorCauseClass] = causes[0]?.class ?? '';
    headers[DeadLetterHeaders.errorCauses] = JSON.stringify(causes);
  }
  if (includeStack && typeof error.stack === 'string') {
    headers[DeadLetterHeaders.errorStack] = bounded(error.stack, MAX_STACK_LENGTH);
  }
  return createMessage({
    id: message.id,
    payload: message.payload,
    headers,
    ...(message.binaryHeaders === undefined ? {} : { binaryHeaders: { ...message.binaryHeaders } }),
    ...(message.key === undefined ? {} : { key: message.key }),
    ...(message.timestamp === undefined ? {} : { timestamp: message.timestamp }),
  });
}

function bounded(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The `cause` chain below `error`, outermost first, bounded in length and safe against cycles. */
function causeChain(error: Error): { class: string; message: string }[] {
  const chain: { class: string; message: string }[] = [];
  const seen = new Set<unknown>([error]);
  for (let cause: unknown = error.cause; cause !== undefined && cause !== null; ) {
    if (seen.has(cause) || chain.length === MAX_CAUSES) break;
    seen.add(cause);
    const asError = cause instanceof Error ? cause : undefined;
    chain.push({
      class: asError?.name ?? typeof cause,
      message: bounded(asError?.message ?? String(cause), MAX_CAUSE_MESSAGE_LENGTH),
    });
    cause = asError?.cause;
  }
  return chain;
}
