import { keyString, type Message, type ReceivedMessage } from '@bus/core';
import type { Attributes } from '@opentelemetry/api';
import { MESSAGING_SYSTEM } from '../attributes.js';

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

/** Adds what the headers say about a cqrs event/command or an rpc request/reply. */
function addHeaderAttributes(attributes: Attributes, headers: Readonly<Record<string, string>>, destination: string) {
  const type = headers[CE_TYPE];
  if (type !== undefined) {
    attributes['cloudevents.event_type'] = type;
    const id = headers[CE_ID];
    if (id !== undefined) attributes['cloudevents.event_id'] = id;
    const source = headers[CE_SOURCE];
    if (source !== undefined) attributes['cloudevents.event_source'] = source;
    const subject = headers[CE_SUBJECT];
    if (subject !== undefined) {
      attributes['cloudevents.event_subject'] = subject;
      attributes['bus.cqrs.aggregate_id'] = subject;
    }
    const aggregateType = headers[CE_AGGREGATE_TYPE];
    if (aggregateType !== undefined) attributes['bus.cqrs.aggregate_type'] = aggregateType;
  }
  const correlation =
    headers[CE_CORRELATION_ID] ??
    headers[CORRELATION_HEADERS[0]] ??
    headers[CORRELATION_HEADERS[1]] ??
    headers[CORRELATION_HEADERS[2]];
  if (correlation !== undefined && correlation !== '') attributes['messaging.message.conversation_id'] = correlation;
  const replyTo = headers[RPC_REPLY_TO] ?? headers[NEST_REPLY_TOPIC];
  if (replyTo !== undefined) {
    // A request: its topic is the route.
    attributes['bus.rpc.route'] = destination;
    attributes['bus.rpc.reply_to'] = replyTo;
  }
  const status = headers[RPC_STATUS];
  if (status !== undefined) attributes['bus.rpc.status'] = status;
}

// `messaging.message.body.size` is left out: it is Opt-In in the conventions, and an attribute costs the SDK
// and the OTLP exporter about 0.5 µs per span, the largest part of a span's cost.

/** Attributes of a `send` span for `messages` published to `topic` in one call. */
export function sendAttributes(topic: string, messages: readonly Message[], recordKeys: boolean): Attributes {
  const attributes: Attributes = {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': topic,
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
  };
  if (messages.length !== 1) {
    attributes['messaging.batch.message_count'] = messages.length;
    return attributes;
  }
  const message = messages[0] as Message;
  attributes['messaging.message.id'] = message.id;
  if (recordKeys && message.key !== undefined) attributes['messaging.kafka.message.key'] = keyString(message.key);
  addHeaderAttributes(attributes, message.headers, topic);
  return attributes;
}

/** Attributes of a `process` span for `message`. */
export function processAttributes(
  message: ReceivedMessage,
  group: string | undefined,
  handlerName: string | undefined,
  recordKeys: boolean,
): Attributes {
  const attributes: Attributes = {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': message.topic,
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.partition.id': String(message.partition),
    'messaging.kafka.offset': message.offset,
    'messaging.message.id': message.id,
  };
  // Only on redeliveries: its absence says "first delivery", and each attribute costs the SDK and the
  // exporter about 0.5 µs (bench/results/otel.md).
  if (message.deliveryAttempt > 1) attributes['bus.delivery.attempt'] = message.deliveryAttempt;
  if (group !== undefined) attributes['messaging.consumer.group.name'] = group;
  if (handlerName !== undefined) attributes['bus.handler.name'] = handlerName;
  if (recordKeys && message.key !== undefined) attributes['messaging.kafka.message.key'] = keyString(message.key);
  addHeaderAttributes(attributes, message.headers, message.topic);
  return attributes;
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
