import type { Message, ReceivedMessage, RetryEvent } from '@bus/core';
import { trace } from '@opentelemetry/api';
import { MESSAGING_SYSTEM, SpanEvents } from './attributes.js';
import { processOf } from './internal/process-state.js';
import { errorType, telemetryFor } from './internal/telemetry.js';
import type { OtelOptions } from './options.js';

/**
 * Records an in-process retry: a `bus.retry` event (with the error) on the message's process span and
 * one count in `<prefix>.handler.retries`. Pass it to core's `retry` middleware:
 * `retry({ onRetry: (event) => recordRetry(event) })`.
 * @throws {ConfigError} for invalid options.
 */
export function recordRetry(event: RetryEvent, options?: OtelOptions): void {
  const telemetry = telemetryFor(options, 'recordRetry');
  const { error, message } = event;
  const type = errorType(error);
  const span = processOf(message)?.span ?? trace.getActiveSpan();
  if (span?.isRecording()) {
    span.addEvent(SpanEvents.retry, {
      'bus.retry.number': event.retry,
      'bus.retry.delay_ms': event.delayMs,
      'error.type': type,
      'exception.type': error.name,
      'exception.message': error.message,
    });
  }
  telemetry.metrics.retries.add(1, {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': message.topic,
    'error.type': type,
  });
}

/**
 * Records that `message` was dead-lettered, for a dead-letter publisher that is not instrumented (an
 * instrumented one records it by itself): a `bus.dead_letter` event on its process span and one count in
 * `<prefix>.messages.dead_lettered`. Pass it to core's `deadLetter` middleware:
 * `deadLetter({ ..., onDeadLetter: (event) => recordDeadLetter(event) })`.
 * @throws {ConfigError} for invalid options.
 */
export function recordDeadLetter(
  event: { readonly error: Error; readonly message: ReceivedMessage; readonly deadLetter?: Message },
  options?: OtelOptions,
): void {
  const telemetry = telemetryFor(options, 'recordDeadLetter');
  const { error, message } = event;
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
  const group = record?.metricAttributes['messaging.consumer.group.name'];
  telemetry.metrics.deadLettered.add(1, {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': message.topic,
    ...(group === undefined ? {} : { 'messaging.consumer.group.name': group }),
    'error.type': type,
  });
}
