import type { Codec } from '@bus/codecs';
import { type AvroSchemaInput, type AvroValue, avroCodec, avroSchemaFormat } from '@bus/codecs/avro';
import { registryCodec, type SchemaRegistry } from '@bus/codecs/registry';
import { defineCommand, defineEvent, type EventOf, topics } from '@bus/cqrs';
import { orderPaidSchema, orderPlacedSchema, orderShippedSchema, placeOrderSchema } from './schemas.js';

/**
 * An Avro codec for `schema`: registry-backed (Confluent wire format, schema registered on first use,
 * subject `<topic>-<record name>`) when there is a registry, plain Avro on the in-memory broker.
 */
function avro<const S extends AvroSchemaInput>(schema: S, registry: SchemaRegistry | undefined): Codec<AvroValue<S>> {
  if (registry === undefined) return avroCodec({ schema }) as Codec<AvroValue<S>>;
  return registryCodec({
    registry,
    format: avroSchemaFormat({ schema }),
    subjectNameStrategy: 'TopicRecordName',
  }) as Codec<AvroValue<S>>;
}

/** The order service's command and event types, with codecs for the registry (Kafka) or none (in memory). */
export function defineOrderMessages(registry: SchemaRegistry | undefined) {
  return {
    PlaceOrder: defineCommand({ name: 'shop.PlaceOrder', schema: avro(placeOrderSchema, registry) }),
    OrderPlaced: defineEvent({
      name: 'shop.OrderPlaced',
      aggregateType: 'order',
      schema: avro(orderPlacedSchema, registry),
    }),
    OrderPaid: defineEvent({ name: 'shop.OrderPaid', aggregateType: 'order', schema: avro(orderPaidSchema, registry) }),
    OrderShipped: defineEvent({
      name: 'shop.OrderShipped',
      aggregateType: 'order',
      schema: avro(orderShippedSchema, registry),
    }),
  };
}

/** What {@link defineOrderMessages} returns. */
export type OrderMessages = ReturnType<typeof defineOrderMessages>;
/** The event types, in the order an order goes through them. */
export const ORDER_EVENT_TYPES = ['shop.OrderPlaced', 'shop.OrderPaid', 'shop.OrderShipped'] as const;
/** A received `OrderPlaced`. */
export type OrderPlaced = EventOf<OrderMessages['OrderPlaced']>;
/** A payment method. */
export type PaymentMethod = OrderPlaced['data']['payment'];

/**
 * One topic for every event of the service (`<prefix>.stream`, so one aggregate's events are in order
 * across types) and one for commands (`<prefix>.commands`).
 */
export function orderTopics(prefix: string) {
  return topics.stream(prefix);
}
