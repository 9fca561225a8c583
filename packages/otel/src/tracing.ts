import type { Handler, HandlerContext, HandlerEvent, Middleware, ReceivedMessage } from '@bus/core';
import {
  type Attributes,
  type Context,
  context as otelContext,
  type Link,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { MESSAGING_SYSTEM } from './attributes.js';
import { recordHandlerEvent } from './events.js';
import { headersGetter } from './headers.js';
import { InstrumentedMessage } from './internal/instrumented-message.js';
import { processStartAttributes, setProcessAttributes } from './internal/message-attributes.js';
import {
  endProcess,
  failProcess,
  markOutputs,
  type ProcessRecord,
  processOf,
  setProcess,
} from './internal/process-state.js';
import { NOOP_SPAN, type Telemetry, telemetryFor } from './internal/telemetry.js';
import type { OtelOptions } from './options.js';

/**
 * Router middleware that runs each handler call inside a `process <topic>` span (CONSUMER), a child of
 * (or linked to, see `producerContext`) the producer's span whose context came in the message headers.
 * The span is active while the handler runs, so spans the handler starts, and messages it publishes
 * or returns, belong to the same trace. A failure is recorded on the span (exception event, status,
 * `error.type`) and in `<prefix>.handler.errors`; `messaging.process.duration` is recorded at the end.
 * Retries and dead letters of core's `retry`, `deadLetter` and `retryTopics` middleware listed after it
 * are recorded too (`bus.retry` / `bus.dead_letter` span events, `<prefix>.handler.retries` and
 * `<prefix>.messages.dead_lettered`): it hands its handlers a context whose `onEvent` they report to.
 *
 * List it first (outermost), so it sees the final outcome after `retry` and `deadLetter`. With an
 * instrumented subscriber the span lasts until the message is settled (forwarding and ack included);
 * otherwise until the handler returns. Without an SDK it calls the handler and does nothing else.
 * @throws {ConfigError} for invalid options.
 */
export function tracing(options?: OtelOptions): Middleware {
  return tracingWith(telemetryFor(options, 'tracing'));
}

/** {@link tracing} with resolved telemetry. */
export function tracingWith(telemetry: Telemetry): Middleware {
  return (next: Handler): Handler => {
    // Metric attributes per handler and topic, built once: a fresh object per message is measurable.
    const attributesByTopic = new Map<string, Attributes>();
    // Start attributes of process spans per topic (the group is the handler's).
    const startAttributesByTopic = new Map<string, Attributes>();
    // Retries and dead letters that core's middleware inside this one reports (see HandlerContext.onEvent).
    const onEvent = (event: HandlerEvent): void => recordHandlerEvent(event, telemetry);
    return (message: ReceivedMessage, handlerContext: HandlerContext) => {
      // Nothing registered (no SDK): straight through.
      if (!telemetry.active) return next(message, handlerContext);
      const tracingOn = telemetry.tracingOn;
      let metricAttributes = attributesByTopic.get(message.topic);
      if (metricAttributes === undefined) {
        const group = handlerContext.group;
        metricAttributes = {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.destination.name': message.topic,
          'messaging.operation.name': 'process',
          'bus.handler.name': handlerContext.handlerName,
          ...(group === undefined ? {} : { 'messaging.consumer.group.name': group }),
        };
        attributesByTopic.set(message.topic, metricAttributes);
      }
      let startAttributes: Attributes | undefined;
      if (tracingOn) {
        startAttributes = startAttributesByTopic.get(message.topic);
        if (startAttributes === undefined) {
          startAttributes = processStartAttributes(message.topic, handlerContext.group);
          startAttributesByTopic.set(message.topic, startAttributes);
        }
      }
      const record = startProcess(telemetry, startAttributes, message, handlerContext, metricAttributes);
      const ownsEnd = !record.endsAtSettlement;
      const outer = handlerContext.onEvent;
      const observed: HandlerContext = {
        ...handlerContext,
        onEvent:
          outer === undefined
            ? onEvent
            : (event) => {
                onEvent(event);
                outer(event);
              },
      };
      let output: ReturnType<Handler>;
      try {
        output = tracingOn
          ? otelContext.with(record.context, next, undefined, message, observed)
          : next(message, observed);
      } catch (error) {
        failProcess(record, error);
        if (ownsEnd) endProcess(record);
        throw error;
      }
      if (
        output !== null &&
        typeof output === 'object' &&
        typeof (output as PromiseLike<unknown>).then === 'function'
      ) {
        // Observed on the side, and the handler's own promise returned: a chained one would settle a
        // microtask later, and the forwarding after it is sensitive to that (see instrumentPublisher).
        // Registered before the router awaits it, so outputs are marked before the router forwards them.
        (output as PromiseLike<Awaited<ReturnType<Handler>>>).then(
          (result) => {
            if (tracingOn) markOutputs(result, record);
            if (ownsEnd) endProcess(record);
          },
          (error: unknown) => {
            failProcess(record, error);
            if (ownsEnd) endProcess(record);
          },
        );
        return output;
      }
      if (tracingOn) markOutputs(output, record);
      if (ownsEnd) endProcess(record);
      return output;
    };
  };
}

/** Shared by spans without a producer to link to (the SDK copies the links it is given). */
const NO_LINKS: Link[] = [];

/** Starts the process record of `message`, with a span when `startAttributes` are given (tracing on). */
function startProcess(
  telemetry: Telemetry,
  startAttributes: Attributes | undefined,
  message: ReceivedMessage,
  handlerContext: HandlerContext,
  metricAttributes: Attributes,
): ProcessRecord {
  let span = NOOP_SPAN;
  let context = ROOT_CONTEXT;
  if (startAttributes !== undefined) {
    const producer =
      message instanceof InstrumentedMessage
        ? message.producerContext
        : propagation.extract(ROOT_CONTEXT, message.headers, headersGetter);
    const producerSpan = trace.getSpanContext(producer);
    const links: Link[] = producerSpan === undefined ? NO_LINKS : [{ context: producerSpan }];
    let parent: Context;
    if (telemetry.options.producerContext === 'parent' && producerSpan !== undefined) parent = producer;
    else {
      parent = otelContext.active();
      // Baggage still travels from the producer, whatever the span relation.
      const baggage = propagation.getBaggage(producer);
      if (baggage !== undefined) parent = propagation.setBaggage(parent, baggage);
    }
    // Samplers see the attributes relevant to sampling; the others are set only when the span records.
    span = telemetry.tracer.startSpan(
      `process ${message.topic}`,
      { kind: SpanKind.CONSUMER, links, attributes: startAttributes },
      parent,
    );
    if (span.isRecording()) setProcessAttributes(span, message, handlerContext.handlerName, telemetry.options);
    context = trace.setSpan(parent, span);
  }
  const record: ProcessRecord = {
    telemetry,
    span,
    context,
    startedAt: performance.now(),
    metricAttributes,
    failed: undefined,
    ended: false,
    // An instrumented subscriber's message ends its record when it is settled.
    endsAtSettlement: message instanceof InstrumentedMessage,
    output: undefined,
  };
  // A redelivered message handled again: the previous record (if any) is over.
  const previous = processOf(message);
  if (previous !== undefined) endProcess(previous);
  setProcess(message, record);
  return record;
}
