import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodecError } from '@bus/codecs';
import { protobufCodec, protobufSchemaFormat } from '@bus/codecs/protobuf';
import { ConfigError } from '@bus/core';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { orderProto } from './fixtures.ts';

const ctx = { topic: 'orders', role: 'value' as const };
const typeName = 'shop.orders.OrderPlaced';

const order = {
  orderId: 'o-1',
  customerId: 'c-1',
  placedAtMs: '1767322800123',
  total: { currency: 'EUR', units: '9007199254740993', nanos: 500_000_000 },
  itemCount: 2,
  express: true,
  channel: 'web',
  couponCode: '',
  tags: ['gift'],
  status: 'PAID',
  lines: [{ sku: 'sku-1', quantity: 2 }],
};

function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (error) {
    expect(CodecError.isInstance(error)).toBe(true);
    return error as CodecError;
  }
  throw new Error('expected a CodecError');
}

describe('protobufCodec', () => {
  it('round-trips nested messages, enums, repeated fields and 64-bit integers losslessly', () => {
    const codec = protobufCodec({ proto: orderProto, typeName });
    const bytes = codec.encode(order, ctx) as Uint8Array;
    expect(codec.contentType).toBe('application/x-protobuf');
    expect(codec.decode(bytes, ctx)).toEqual(order);
  });

  it('loads from files and from a reflection root, and can keep snake_case', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bus-proto-'));
    const file = join(dir, 'order.proto');
    writeFileSync(file, orderProto);
    const fromFile = protobufCodec({ files: [file], typeName: 'shop.orders.OrderPlaced.Line' });
    const root = protobuf.parse(orderProto, { keepCase: true }).root;
    const fromRoot = protobufCodec({ root, typeName: 'shop.orders.OrderPlaced.Line' });
    const bytes = fromFile.encode({ sku: 'a', quantity: 3 }, ctx) as Uint8Array;
    expect(fromRoot.decode(bytes, ctx)).toEqual({ sku: 'a', quantity: 3 });
    const snake = protobufCodec({ proto: orderProto, typeName, keepCase: true });
    const snakeBytes = snake.encode({ order_id: 'o-9', item_count: 4 }, ctx) as Uint8Array;
    expect(snake.decode(snakeBytes, ctx)).toMatchObject({ order_id: 'o-9', item_count: 4 });
    expect(protobufCodec({ proto: orderProto, typeName }).decode(snakeBytes, ctx)).toMatchObject({
      orderId: 'o-9',
      itemCount: 4,
    });
  });

  it('refuses values protobufjs would silently coerce, listing each field', () => {
    const codec = protobufCodec({ proto: orderProto, typeName });
    const error = codecError(() =>
      codec.encode({ ...order, itemCount: 'two', status: 'LOST', lines: [{ sku: 1 }], total: { units: 1.5 } }, ctx),
    );
    expect(error.code).toBe('ENCODE_FAILED');
    expect(error.issues.map((issue) => issue.path).sort()).toEqual([
      'itemCount',
      'lines.0.sku',
      'status',
      'total.units',
    ]);
  });

  it('reports truncated and malformed bytes as typed errors', () => {
    const codec = protobufCodec({ proto: orderProto, typeName });
    const bytes = codec.encode(order, ctx) as Uint8Array;
    expect(codecError(() => codec.decode(bytes.subarray(0, bytes.length - 4), ctx)).code).toBe('TRUNCATED');
    const wireType7 = new Uint8Array([0x7f, 0x01]); // unknown field 15 with wire type 7
    const error = codecError(() => codec.decode(wireType7, { ...ctx, offset: 3 }));
    expect(error.code).toBe('INVALID_PAYLOAD');
    expect(error.offset).toBe(3);
  });

  it('reports every bad option at once', () => {
    try {
      protobufCodec({ proto: 'message {', typeName: '', contentType: '' });
      expect.unreachable();
    } catch (error) {
      expect(ConfigError.isInstance(error)).toBe(true);
      expect((error as ConfigError).issues.map((issue) => issue.path).sort()).toEqual([
        'contentType',
        'proto',
        'typeName',
      ]);
    }
    expect(() => protobufCodec({ proto: orderProto, typeName: 'shop.orders.Nope' })).toThrow(/no message type/);
  });

  it('computes Confluent message indexes for top-level and nested messages', () => {
    expect(protobufSchemaFormat({ proto: orderProto, typeName: 'shop.orders.Money' }).messageIndexes).toEqual([0]);
    expect(protobufSchemaFormat({ proto: orderProto, typeName }).messageIndexes).toEqual([1]);
    // The nested enum Status is declared first but only messages count.
    expect(protobufSchemaFormat({ proto: orderProto, typeName: `${typeName}.Line` }).messageIndexes).toEqual([1, 0]);
  });
});
