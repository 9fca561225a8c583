// The Avro schemas of the order service's messages, written `as const` so that the codecs infer each
// message's TypeScript type from them. On Kafka they are registered in the schema registry under
// `<topic>-<record name>` (several record types share the stream topic).

const namespace = 'shop.orders';

/** Payment methods; an enum in Avro, a union of strings in TypeScript. */
const paymentMethod = { type: 'enum', name: 'PaymentMethod', namespace, symbols: ['card', 'giftcard'] } as const;

/** Command: place an order. */
export const placeOrderSchema = {
  type: 'record',
  name: 'PlaceOrder',
  namespace,
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'customerId', type: 'string' },
    { name: 'sku', type: 'string' },
    { name: 'quantity', type: 'int' },
    { name: 'totalCents', type: 'long' },
    { name: 'payment', type: paymentMethod },
  ],
} as const;

/** Event: the order was accepted (aggregate version 1). */
export const orderPlacedSchema = {
  type: 'record',
  name: 'OrderPlaced',
  namespace,
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'customerId', type: 'string' },
    { name: 'sku', type: 'string' },
    { name: 'quantity', type: 'int' },
    { name: 'totalCents', type: 'long' },
    { name: 'payment', type: paymentMethod },
  ],
} as const;

/** Event: the payment was captured (aggregate version 2). */
export const orderPaidSchema = {
  type: 'record',
  name: 'OrderPaid',
  namespace,
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'amountCents', type: 'long' },
    { name: 'paymentReference', type: 'string' },
  ],
} as const;

/** Event: the order left the warehouse (aggregate version 3). */
export const orderShippedSchema = {
  type: 'record',
  name: 'OrderShipped',
  namespace,
  fields: [
    { name: 'orderId', type: 'string' },
    { name: 'carrier', type: 'string' },
    { name: 'trackingNumber', type: 'string' },
  ],
} as const;
