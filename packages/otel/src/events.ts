import type { HandlerEvent, Message, ReceivedMessage, RetryEvent } from '@bus/core';
import { trace } from '@opentelemetry/api';
import { MESSAGING_SYSTEM, SpanEvents } from './attributes.js';
import { processOf } from './internal/process-state.js';
import { errorType, type Telemetry, telemetryFor } from './internal/telemetry.js';
import type { OtelOptions } from './options.js';

/**
 * Records an in-process retry: a `bus.retry` event (with the error) on the message's process span and
 * one count in `<prefix>.handler.retries`. Not needed under `tracing()` (or `routerInstrumentation()`),
 * which records the retries of core's `retry` and `retryTopics` middleware listed after it by itself;
 * for a handler run without it: `retry({ onRetry: (event) => recordRetry(event) })`. A retry recorded
 * both ways counts once.
 * @throws {ConfigError} for invalid options.
 */
export function recordRetry(event: RetryEvent, options?: OtelOptions): void {
  retried(event, undefined, telemetryFor(options, 'recordRetry'));
}

/**
 * Records that `message` was dead-lettered: a `bus.dead_letter` event on its process span and one count
 * in `<prefix>.messages.dead_lettered`. Not needed under `tracing()` (it records the dead letters of
 * core's `deadLetter` and `retryTopics` middleware listed after it by itself), nor with an instrumented
 * dead-letter publisher; for other cases: `deadLetter({ ..., onDeadLetter: (event) => recordDeadLetter(event) })`.
 * A dead letter recorded more than one way counts once.
 * @throws {ConfigError} for invalid options.
 */
export function recordDeadLetter(
  event: { readonly error: Error; readonly message: ReceivedMessage; readonly deadLetter?: Message },
  options?: OtelOptions,
): void {
  deadLettered(event.message, event.error, event.deadLetter, telemetryFor(options, 'recordDeadLetter'));
}

/** Records what core's middleware reports through the handler context's `onEvent`. */
export function recordHandlerEvent(event: HandlerEvent, telemetry: Telemetry): void {
  if (event.type === 'retry') retried(event, event.topic, telemetry);
  else deadLettered(event.message, event.error, event.deadLetter, telemetry);
}

// What was recorded already, so that a retry or dead letter seen by more than one recorder (a manual
// callback and `tracing()`; an instrumented dead-letter publisher and `tracing()`) counts once. Both are
// rare events: a WeakMap entry each costs nothing on the path of messages that succeed.
const retriesRecorded = new WeakMap<ReceivedMessage, number>();
const deadLettersRecorded = new WeakSet<object>();

/** Marks the dead letter `letter` (a message being published) as recorded; false if it was already. */
export function claimDeadLetter(letter: Message): boolean {
  if (deadLettersRecorded.has(letter)) return false;
  deadLettersRecorded.add(letter);
  return true;
}

function retried(
  event: { readonly error: Error; readonly message: ReceivedMessage; readonly retry: number; readonly delayMs: number },
  topic: string | undefined,
  telemetry: Telemetry,
): void {
  const { error, message } = event;
  if ((retriesRecorded.get(message) ?? 0) >= event.retry) return;
  retriesRecorded.set(message, event.retry);
  const type = errorType(error);
  const record = processOf(message);
  const span = record?.span ?? trace.getActiveSpan();
  if (span?.isRecording()) {
    span.addEvent(SpanEvents.retry, {
      'bus.retry.number': event.retry,
      'bus.retry.delay_ms': event.delayMs,
      ...(topic === undefined ? {} : { 'bus.retry.topic': topic }),
      'error.type': type,
      'exception.type': error.name,
      'exception.message': error.message,
    });
  }
  const instruments = telemetry.metrics;
  if (instruments.noop) return;
  const group = record?.metricAttributes['messaging.consumer.group.name'];
  instruments.retries.add(1, {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': message.topic,
    ...(group === undefined ? {} : { 'messaging.consumer.group.name': group }),
    'error.type': type,
  });
}

function deadLettered(message: ReceivedMessage, error: Error, letter: Message | undefined, telemetry: Telemetry): void {
  if (deadLettersRecorded.has(message) || (letter !== undefined && deadLettersRecorded.has(letter))) return;
  deadLettersRecorded.add(message);
  if (letter !== undefined) deadLettersRecorded.add(letter);
  const type = errorType(error);
  const record = processOf(message);
  const span = record?.span ?? trace.getActiveSpan();
  if (span?.isRecording()) {
    span.addEvent(SpanEvents.deadLetter, {
      'messaging.message.id': message.id,
      'error.type': type,
      'exception.type': error.name,
      'exception.message': error.message,
    });
  }
  const instruments = telemetry.metrics;
  if (instruments.noop) return;
  const group = record?.metricAttributes['messaging.consumer.group.name'];
  instruments.deadLettered.add(1, {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': message.topic,
    ...(group === undefined ? {} : { 'messaging.consumer.group.name': group }),
    'error.type': type,
  });
}
