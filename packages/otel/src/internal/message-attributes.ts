import { keyString, type Message, type ReceivedMessage } from '@bus/core';
import type { Attributes, Span } from '@opentelemetry/api';
import { MESSAGING_SYSTEM } from '../attributes.js';
import type { ResolvedOtelOptions } from '../options.js';

// Header names of @bus/cqrs (CloudEvents binary mode), @bus/rpc and core's correlationId middleware,
// read as plain strings: neither package depends on this one, nor this one on them.
const CE_ID = 'ce_id';
const CE_TYPE = 'ce_type';
const CE_SOURCE = 'ce_source';
const CE_SUBJECT = 'ce_subject';
const CE_AGGREGATE_TYPE = 'ce_aggregatetype';
const CE_CORRELATION_ID = 'ce_correlationid';
const CORRELATION_HEADERS = ['correlation-id', 'rpc-correlation-id', 'kafka_correlationId'] as const;
const RPC_REPLY_TO = 'rpc-reply-to';
const NEST_REPLY_TOPIC = 'kafka_replyTopic';
const RPC_STATUS = 'rpc-status';

/** Sets what the headers say about a cqrs event/command or an rpc request/reply. */
function setHeaderAttributes(span: Span, headers: Readonly<Record<string, string>>, destination: string): void {
  const type = headers[CE_TYPE];
  if (type !== undefined) {
    span.setAttribute('cloudevents.event_type', type);
    const id = headers[CE_ID];
    if (id !== undefined) span.setAttribute('cloudevents.event_id', id);
    const source = headers[CE_SOURCE];
    if (source !== undefined) span.setAttribute('cloudevents.event_source', source);
    const subject = headers[CE_SUBJECT];
    if (subject !== undefined) {
      span.setAttribute('cloudevents.event_subject', subject);
      span.setAttribute('bus.cqrs.aggregate_id', subject);
    }
    const aggregateType = headers[CE_AGGREGATE_TYPE];
    if (aggregateType !== undefined) span.setAttribute('bus.cqrs.aggregate_type', aggregateType);
  }
  const correlation =
    headers[CE_CORRELATION_ID] ??
    headers[CORRELATION_HEADERS[0]] ??
    headers[CORRELATION_HEADERS[1]] ??
    headers[CORRELATION_HEADERS[2]];
  if (correlation !== undefined && correlation !== '')
    span.setAttribute('messaging.message.conversation_id', correlation);
  const replyTo = headers[RPC_REPLY_TO] ?? headers[NEST_REPLY_TOPIC];
  if (replyTo !== undefined) {
    // A request: its topic is the route.
    span.setAttribute('bus.rpc.route', destination);
    span.setAttribute('bus.rpc.reply_to', replyTo);
  }
  const status = headers[RPC_STATUS];
  if (status !== undefined) span.setAttribute('bus.rpc.status', status);
}

// Which attributes go where, for cost: the SDK checks the attributes given to `startSpan` twice (once
// for the sampler, once for the span: a WeakSet and a copy per attribute each time), `setAttribute`
// once. So a span starts with the attributes the conventions mark as relevant to sampling (system,
// destination, operation, consumer group, batch size), the ones samplers are given, and the others
// are set right after, only when the span records: an unsampled span costs none of them.
// `messaging.message.body.size` is left out (Opt-In in the conventions): an attribute costs the SDK
// and the OTLP exporter about 0.5 µs per span, the largest part of a span's cost.

/**
 * The attributes a `send` span starts with, for `count` messages published to `topic` in one call.
 * Single-message ones are the same object for every call to a topic (the SDK copies them).
 */
export function sendStartAttributes(topic: string, count: number, cache: Map<string, Attributes>): Attributes {
  if (count !== 1) {
    return {
      'messaging.system': MESSAGING_SYSTEM,
      'messaging.destination.name': topic,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.batch.message_count': count,
    };
  }
  let attributes = cache.get(topic);
  if (attributes === undefined) {
    attributes = Object.freeze({
      'messaging.system': MESSAGING_SYSTEM,
      'messaging.destination.name': topic,
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
    });
    cache.set(topic, attributes);
  }
  return attributes;
}

/** Sets the rest of a recording `send` span's attributes: those of its message, when it sends one. */
export function setSendAttributes(
  span: Span,
  topic: string,
  messages: readonly Message[],
  options: ResolvedOtelOptions,
): void {
  if (messages.length !== 1) return;
  const message = messages[0] as Message;
  if (options.spanAttributes === 'recommended') {
    span.setAttribute('messaging.message.id', message.id);
    if (options.recordKeys && message.key !== undefined)
      span.setAttribute('messaging.kafka.message.key', keyString(message.key));
  }
  setHeaderAttributes(span, message.headers, topic);
}

/** The attributes a `process` span starts with (the same for every message of a topic and group). */
export function processStartAttributes(topic: string, group: string | undefined): Attributes {
  const attributes: Attributes = {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': topic,
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
  };
  if (group !== undefined) attributes['messaging.consumer.group.name'] = group;
  return Object.freeze(attributes);
}

/** Sets the rest of a recording `process` span's attributes, those of `message`. */
export function setProcessAttributes(
  span: Span,
  message: ReceivedMessage,
  handlerName: string | undefined,
  options: ResolvedOtelOptions,
): void {
  if (options.spanAttributes === 'recommended') {
    span.setAttribute('messaging.destination.partition.id', String(message.partition));
    span.setAttribute('messaging.kafka.offset', message.offset);
    span.setAttribute('messaging.message.id', message.id);
    if (handlerName !== undefined) span.setAttribute('bus.handler.name', handlerName);
    if (options.recordKeys && message.key !== undefined)
      span.setAttribute('messaging.kafka.message.key', keyString(message.key));
  }
  // Only on redeliveries: its absence says "first delivery", and each attribute costs the SDK and the
  // exporter about 0.5 µs (bench/results/otel.md).
  if (message.deliveryAttempt > 1) span.setAttribute('bus.delivery.attempt', message.deliveryAttempt);
  setHeaderAttributes(span, message.headers, message.topic);
}

/** The low-cardinality attributes of consumer-side metric points. */
export function consumerMetricAttributes(message: ReceivedMessage, group: string | undefined): Attributes {
  const attributes: Attributes = {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': message.topic,
    'messaging.destination.partition.id': String(message.partition),
  };
  if (group !== undefined) attributes['messaging.consumer.group.name'] = group;
  return attributes;
}
