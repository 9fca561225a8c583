import { DeadLetterHeaders, type Message, type Publisher } from '@bus/core';
import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import { MESSAGING_SYSTEM, SpanEvents } from './attributes.js';
import { claimDeadLetter } from './events.js';
import { sendStartAttributes, setSendAttributes } from './internal/message-attributes.js';
import { withOverrides } from './internal/overrides.js';
import { takeOutputContext } from './internal/process-state.js';
import { errorType, type Telemetry, telemetryFor } from './internal/telemetry.js';
import type { OtelOptions } from './options.js';

/**
 * Wraps `publisher` so that every `publish` call gets a `send <topic>` span (PRODUCER) and counts in
 * `messaging.client.sent.messages` and `messaging.client.operation.duration`, and the span's context
 * (W3C `traceparent`/`tracestate`, plus baggage) travels in each message's headers through the global
 * propagator. Messages a handler returned are sent under that handler's `process` span; others under
 * the active context. Dead letters (messages with `bus-dlq-*` headers) also count in
 * `<prefix>.messages.dead_lettered` and add a `bus.dead_letter` event to the span they are sent from.
 *
 * The result stands for the same publisher: its own methods stay available, and `instanceof` holds.
 * Messages are never changed in place: a message gets a copy of its headers with the trace context added.
 * @throws {ConfigError} for invalid options.
 */
export function instrumentPublisher<P extends Publisher>(publisher: P, options?: OtelOptions): P {
  return instrumentPublisherWith(publisher, telemetryFor(options, 'instrumentPublisher'));
}

/** {@link instrumentPublisher} with resolved telemetry. */
export function instrumentPublisherWith<P extends Publisher>(publisher: P, telemetry: Telemetry): P {
  const metricAttributes = new Map<string, Attributes>();
  const attributesOf = (topic: string): Attributes => {
    let attributes = metricAttributes.get(topic);
    if (attributes === undefined) {
      attributes = {
        'messaging.system': MESSAGING_SYSTEM,
        'messaging.destination.name': topic,
        'messaging.operation.name': 'send',
        'messaging.operation.type': 'send',
      };
      metricAttributes.set(topic, attributes);
    }
    return attributes;
  };

  const failedAttributes = new Map<string, Attributes>();
  const failedAttributesOf = (topic: string, type: string): Attributes => {
    const key = `${topic}\u0000${type}`;
    let attributes = failedAttributes.get(key);
    if (attributes === undefined) {
      attributes = { ...attributesOf(topic), 'error.type': type };
      failedAttributes.set(key, attributes);
    }
    return attributes;
  };
  /**
   * Records the outcome of `sent` on the side and returns `sent` itself: a chained promise would settle
   * one microtask later, and the Kafka publisher's batching is sensitive to that (a router forwarding
   * through it ran up to 8× slower when its continuations came one tick late).
   */
  const observe = (sent: Promise<void>, topic: string, count: number, span: Span | undefined): Promise<void> => {
    const instruments = telemetry.metrics;
    const started = instruments.noop ? 0 : performance.now();
    sent.then(
      () => {
        span?.end();
        if (instruments.noop) return;
        const attributes = attributesOf(topic);
        instruments.countSent(attributes, count);
        instruments.operationDuration.record((performance.now() - started) / 1000, attributes);
      },
      (error: unknown) => {
        const type = errorType(error);
        if (span !== undefined) {
          failSpan(span, error, type);
          span.end();
        }
        if (instruments.noop) return;
        const attributes = failedAttributesOf(topic, type);
        instruments.countSent(attributes, count);
        instruments.operationDuration.record((performance.now() - started) / 1000, attributes);
      },
    );
    return sent;
  };

  // Start attributes of single-message send spans, per topic.
  const startAttributes = new Map<string, Attributes>();
  // Bound once: the context manager would bind it again for every message.
  const publishToInner = publisher.publish.bind(publisher);

  const publish = (topic: string, ...messages: Message[]): Promise<void> => {
    // Nothing registered (no SDK): straight through.
    if (!telemetry.active) return publisher.publish(topic, ...messages);
    const tracingOn = telemetry.tracingOn;
    const first = messages[0];
    if (!tracingOn) {
      if (first?.headers[DeadLetterHeaders.originalTopic] !== undefined) deadLettered(messages, telemetry, undefined);
      return observe(publisher.publish(topic, ...messages), topic, messages.length, undefined);
    }
    // Messages a handler returned are sent under its process span; others under the active context.
    const parent = takeOutputContext(first) ?? context.active();
    if (first?.headers[DeadLetterHeaders.originalTopic] !== undefined) deadLettered(messages, telemetry, parent);
    // Samplers see the attributes relevant to sampling; the others are set only when the span records.
    const attributes = sendStartAttributes(topic, messages.length, startAttributes);
    const span = telemetry.tracer.startSpan(`send ${topic}`, { kind: SpanKind.PRODUCER, attributes }, parent);
    if (span.isRecording()) setSendAttributes(span, topic, messages, telemetry.options);
    const sendContext = trace.setSpan(parent, span);
    const outgoing = withContextHeaders(messages, sendContext);
    let sent: Promise<void>;
    try {
      sent = context.with(sendContext, publishToInner, undefined, topic, ...outgoing);
    } catch (error) {
      // A publisher that throws instead of rejecting.
      sent = Promise.reject(error);
    }
    return observe(sent, topic, messages.length, span);
  };

  return withOverrides(publisher, { publish } as Partial<P>);
}

/**
 * What the propagator writes for one message: name/value pairs, collected into one reused list so that
 * a propagator that writes nothing (none registered) costs no copy, and one that does costs no array.
 */
const injected: string[] = [];
const collectingSetter: TextMapSetter<string[]> = {
  set: (carrier, key, value) => {
    carrier.push(key, value);
  },
};

/** Copies of `messages` whose headers carry `sendContext`; the messages themselves when nothing is propagated. */
function withContextHeaders(messages: Message[], sendContext: Context): Message[] {
  injected.length = 0;
  propagation.inject(sendContext, injected, collectingSetter);
  // No propagator registered, or nothing to propagate: no copies.
  if (injected.length === 0) return messages;
  const out: Message[] = new Array(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i] as Message;
    const headers: Record<string, string> = { ...message.headers };
    for (let j = 0; j < injected.length; j += 2) headers[injected[j] as string] = injected[j + 1] as string;
    // Field by field: a received message passed through has getters, which a spread would lose.
    const copy: { -readonly [K in keyof Message]: Message[K] } = {
      id: message.id,
      payload: message.payload,
      headers,
    };
    if (message.binaryHeaders !== undefined) copy.binaryHeaders = message.binaryHeaders;
    if (message.key !== undefined) copy.key = message.key;
    if (message.timestamp !== undefined) copy.timestamp = message.timestamp;
    out[i] = copy;
  }
  return out;
}

function failSpan(span: Span, error: unknown, type: string): void {
  if (!span.isRecording()) return;
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.setAttribute('error.type', type);
}

function deadLettered(messages: readonly Message[], telemetry: Telemetry, parent: Context | undefined): void {
  // The span they are sent from: the failing handler's process span, when there is one.
  const span = parent === undefined ? undefined : trace.getSpan(parent);
  for (const message of messages) {
    if (!claimDeadLetter(message)) continue;
    const h = message.headers;
    const originalTopic = h[DeadLetterHeaders.originalTopic] ?? '';
    const group = h[DeadLetterHeaders.originalConsumerGroup];
    const type = h[DeadLetterHeaders.errorCode] ?? h[DeadLetterHeaders.errorClass] ?? '_OTHER';
    const instruments = telemetry.metrics;
    if (!instruments.noop)
      instruments.deadLettered.add(1, {
        'messaging.system': MESSAGING_SYSTEM,
        'messaging.destination.name': originalTopic,
        ...(group === undefined ? {} : { 'messaging.consumer.group.name': group }),
        'error.type': type,
      });
    if (span?.isRecording()) {
      span.addEvent(SpanEvents.deadLetter, {
        'messaging.message.id': message.id,
        'error.type': type,
        'exception.type': h[DeadLetterHeaders.errorClass] ?? type,
        'exception.message': h[DeadLetterHeaders.errorMessage] ?? '',
        'bus.dead_letter.attempts': Number(h[DeadLetterHeaders.attempts] ?? 1),
      });
    }
  }
}
