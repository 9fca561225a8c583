/** A realistic order event used across tests and the benchmark's shape. */
export interface OrderPlaced {
  orderId: string;
  customerId: string;
  placedAt: Date;
  currency: string;
  total: string;
  itemCount: number;
  express: boolean;
  channel: string;
  couponCode: string | null;
  tags: string[];
}

export const orderSchemaV1 = {
  type: 'record',
  name: 'OrderPlaced',
  namespace: 'shop.orders',
  fields: [
    { name: 'orderId', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'customerId', type: 'string' },
    { name: 'placedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'currency', type: 'string' },
    { name: 'total', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'itemCount', type: 'int' },
    { name: 'express', type: 'boolean' },
    { name: 'channel', type: 'string' },
    { name: 'couponCode', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'array', items: 'string' } },
  ],
} as const;

/** v2 adds a field with a default: BACKWARD and FORWARD compatible with v1. */
export const orderSchemaV2 = {
  ...orderSchemaV1,
  fields: [...orderSchemaV1.fields, { name: 'priority', type: 'int', default: 0 }],
} as const;

export function sampleOrder(n = 1): OrderPlaced {
  return {
    orderId: `0b6f1f2e-8c1a-4f5e-9d3b-${n.toString(16).padStart(12, '0')}`,
    customerId: `customer-${n}`,
    placedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, n % 1000)),
    currency: 'EUR',
    total: '1234.50',
    itemCount: 3,
    express: n % 2 === 0,
    channel: 'web',
    couponCode: n % 3 === 0 ? 'WELCOME10' : null,
    tags: ['gift', 'priority'],
  };
}

export const orderProto = `
syntax = "proto3";
package shop.orders;

message Money {
  string currency = 1;
  int64 units = 2;
  int32 nanos = 3;
}

message OrderPlaced {
  string order_id = 1;
  string customer_id = 2;
  int64 placed_at_ms = 3;
  Money total = 4;
  int32 item_count = 5;
  bool express = 6;
  string channel = 7;
  string coupon_code = 8;
  repeated string tags = 9;
  Status status = 10;

  enum Status {
    STATUS_UNSPECIFIED = 0;
    PLACED = 1;
    PAID = 2;
  }

  message Line {
    string sku = 1;
    int32 quantity = 2;
  }
  repeated Line lines = 11;
}
`;
