// Names of the OpenTelemetry messaging semantic conventions (v1.3x, "messaging" and "kafka") and of
// the few bus-specific attributes. Written out rather than imported from
// @opentelemetry/semantic-conventions: that package is large and its incubating names move.

/** Attribute names this package sets on spans and metric points. */
export const MessagingAttributes = Object.freeze({
  system: 'messaging.system',
  destinationName: 'messaging.destination.name',
  partitionId: 'messaging.destination.partition.id',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  bodySize: 'messaging.message.body.size',
  batchMessageCount: 'messaging.batch.message_count',
  consumerGroup: 'messaging.consumer.group.name',
  kafkaKey: 'messaging.kafka.message.key',
  kafkaOffset: 'messaging.kafka.offset',
  kafkaTombstone: 'messaging.kafka.message.tombstone',
  errorType: 'error.type',
  /** CloudEvents conventions, for `@bus/cqrs` envelopes. */
  cloudEventId: 'cloudevents.event_id',
  cloudEventSource: 'cloudevents.event_source',
  cloudEventType: 'cloudevents.event_type',
  cloudEventSubject: 'cloudevents.event_subject',
  /** bus-specific. */
  handlerName: 'bus.handler.name',
  deliveryAttempt: 'bus.delivery.attempt',
  aggregateId: 'bus.cqrs.aggregate_id',
  aggregateType: 'bus.cqrs.aggregate_type',
  rpcRoute: 'bus.rpc.route',
  rpcReplyTo: 'bus.rpc.reply_to',
  rpcStatus: 'bus.rpc.status',
} as const);

/** `messaging.system` of every span and metric point. */
export const MESSAGING_SYSTEM = 'kafka';

/** Names of the span events this package records. */
export const SpanEvents = Object.freeze({
  /** A retry of the handler: in process (`retry`), or through a retry topic (`retryTopics`). */
  retry: 'bus.retry',
  /** The message was moved to a dead-letter topic. */
  deadLetter: 'bus.dead_letter',
} as const);
