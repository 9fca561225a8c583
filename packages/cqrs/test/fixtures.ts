import { jsonCodec } from '@bus/codecs/json';
import { defineCommand, defineEvent } from '@bus/cqrs';
import { z } from 'zod';

export const OrderPlaced = defineEvent({
  name: 'shop.OrderPlaced',
  aggregateType: 'order',
  schema: jsonCodec({ schema: z.object({ orderId: z.string(), total: z.number() }) }),
});

export const OrderShipped = defineEvent({
  name: 'shop.OrderShipped',
  version: 2,
  aggregateType: 'order',
  schema: jsonCodec({ schema: z.object({ orderId: z.string(), carrier: z.string() }) }),
});

export const PlaceOrder = defineCommand({
  name: 'shop.PlaceOrder',
  aggregateType: 'order',
  schema: jsonCodec({ schema: z.object({ orderId: z.string(), total: z.number() }) }),
});

export const CancelOrder = defineCommand({
  name: 'shop.CancelOrder',
  aggregateType: 'order',
  schema: jsonCodec({ schema: z.object({ orderId: z.string() }) }),
});
