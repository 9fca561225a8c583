import { CodecError } from '@bus/codecs';
import { avroCodec, avroLogicalTypes } from '@bus/codecs/avro';
import { ConfigError } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { type OrderPlaced, orderSchemaV1, orderSchemaV2, sampleOrder } from './fixtures.ts';

const ctx = { topic: 'orders', role: 'value' as const };

function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (error) {
    expect(CodecError.isInstance(error)).toBe(true);
    return error as CodecError;
  }
  throw new Error('expected a CodecError');
}

describe('avroCodec', () => {
  it('round-trips a record with logical types', () => {
    const codec = avroCodec<OrderPlaced>({ schema: orderSchemaV1 });
    const order = sampleOrder(3);
    const bytes = codec.encode(order, ctx) as Uint8Array;
    expect(codec.contentType).toBe('application/avro');
    const decoded = codec.decode(bytes, ctx) as OrderPlaced;
    expect(decoded).toEqual(order);
    expect(decoded.placedAt).toBeInstanceOf(Date);
  });

  it('accepts the schema as JSON text', () => {
    const codec = avroCodec<OrderPlaced>({ schema: JSON.stringify(orderSchemaV1) });
    expect(codec.decode(codec.encode(sampleOrder(), ctx) as Uint8Array, ctx)).toEqual(sampleOrder());
  });

  it('implements timestamp-micros, date, uuid and decimal', () => {
    const codec = avroCodec<Record<string, unknown>>({
      schema: {
        type: 'record',
        name: 'L',
        fields: [
          { name: 'micros', type: { type: 'long', logicalType: 'timestamp-micros' } },
          { name: 'day', type: { type: 'int', logicalType: 'date' } },
          { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
          { name: 'neg', type: { type: 'bytes', logicalType: 'decimal', precision: 30, scale: 4 } },
          {
            name: 'fixed',
            type: { type: 'fixed', name: 'F', size: 8, logicalType: 'decimal', precision: 18, scale: 0 },
          },
        ],
      },
    });
    const value = {
      micros: new Date('2026-03-04T05:06:07.891Z'),
      day: new Date('2026-03-04T00:00:00.000Z'),
      id: '123e4567-e89b-12d3-a456-426614174000',
      neg: '-98765432109876543210.0001',
      fixed: '-1',
    };
    const bytes = codec.encode(value, ctx) as Uint8Array;
    expect(codec.decode(bytes, ctx)).toEqual(value);
    // decimal -1 in an 8-byte fixed is sign-extended two's complement.
    expect([...bytes.subarray(bytes.length - 8)]).toEqual([255, 255, 255, 255, 255, 255, 255, 255]);
    expect(Object.keys(avroLogicalTypes).sort()).toEqual([
      'date',
      'decimal',
      'timestamp-micros',
      'timestamp-millis',
      'uuid',
    ]);
  });

  it('refuses decimals that would lose digits and malformed uuids, naming the field', () => {
    const codec = avroCodec<OrderPlaced>({ schema: orderSchemaV1 });
    const tooPrecise = codecError(() => codec.encode({ ...sampleOrder(), total: '1.234' }, ctx));
    expect(tooPrecise.code).toBe('ENCODE_FAILED');
    expect(tooPrecise.issues.map((issue) => issue.path)).toEqual(['total']);
    const badUuid = codecError(() => codec.encode({ ...sampleOrder(), orderId: 'nope' }, ctx));
    expect(badUuid.issues.map((issue) => issue.path)).toEqual(['orderId']);
    const many = codecError(() => codec.encode({ ...sampleOrder(), itemCount: 1.5, channel: 3 } as never, ctx));
    expect(many.issues.map((issue) => issue.path).sort()).toEqual(['channel', 'itemCount']);
  });

  it('reads old data with a new schema and new data with an old schema (resolution)', () => {
    const v1 = avroCodec<OrderPlaced>({ schema: orderSchemaV1 });
    const v2 = avroCodec<OrderPlaced & { priority: number }>({ schema: orderSchemaV2 });
    const v2ReadingV1 = avroCodec<OrderPlaced & { priority: number }>({
      schema: orderSchemaV2,
      writerSchema: orderSchemaV1,
    });
    const v1ReadingV2 = avroCodec<OrderPlaced>({ schema: orderSchemaV1, writerSchema: orderSchemaV2 });
    const order = sampleOrder(4);
    expect(v2ReadingV1.decode(v1.encode(order, ctx) as Uint8Array, ctx)).toEqual({ ...order, priority: 0 });
    expect(v1ReadingV2.decode(v2.encode({ ...order, priority: 9 }, ctx) as Uint8Array, ctx)).toEqual(order);
  });

  it('reports truncated bytes, trailing bytes and garbage as typed errors', () => {
    const codec = avroCodec<OrderPlaced>({ schema: orderSchemaV1 });
    const bytes = codec.encode(sampleOrder(), ctx) as Uint8Array;
    expect(codecError(() => codec.decode(bytes.subarray(0, bytes.length - 3), ctx)).code).toBe('TRUNCATED');
    const trailing = new Uint8Array([...bytes, 1, 2]);
    expect(codecError(() => codec.decode(trailing, ctx)).code).toBe('SCHEMA_MISMATCH');
    const badUuid = codecError(() => codec.decode(new Uint8Array([2, 65, 0]), { ...ctx, offset: 9 }));
    expect(badUuid.code).toBe('INVALID_PAYLOAD');
    expect(badUuid.offset).toBe(9);
  });

  it('reports a bad schema and an unreadable writer schema together', () => {
    try {
      avroCodec({
        schema: { type: 'record', name: 'X', fields: [{ name: 'a', type: 'nope' }] } as never,
        contentType: '',
      });
      expect.unreachable();
    } catch (error) {
      expect(ConfigError.isInstance(error)).toBe(true);
      expect((error as ConfigError).issues.map((issue) => issue.path).sort()).toEqual(['contentType', 'schema']);
    }
    expect(() =>
      avroCodec({
        schema: { type: 'record', name: 'X', fields: [{ name: 'a', type: 'int' }] },
        writerSchema: { type: 'record', name: 'X', fields: [{ name: 'a', type: 'string' }] },
      }),
    ).toThrow(/writerSchema: cannot be read/);
  });
});

describe('avro schema export', () => {
  it('keeps decimal precision and scale when a Type is serialized', async () => {
    const { avroSchemaFormat } = await import('@bus/codecs/avro');
    const codec = avroCodec({ schema: orderSchemaV1 });
    const text = avroSchemaFormat({ schema: codec.type }).schema.schema;
    expect(text).toContain('"precision":12');
    expect(text).toContain('"scale":2');
  });
});

describe('avro longs', () => {
  const schema = {
    type: 'record',
    name: 'Ledger',
    fields: [
      { name: 'entryId', type: 'long' },
      { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'count', type: 'int' },
    ],
  } as const;

  it('refuses longs beyond 2^53 as numbers instead of rounding them', () => {
    const codec = avroCodec<{ entryId: number; at: Date; count: number }>({ schema });
    const error = codecError(() => codec.encode({ entryId: 2 ** 60, at: new Date(0), count: 1 }, ctx));
    expect(error.code).toBe('ENCODE_FAILED');
    expect(error.issues.map((issue) => issue.path)).toEqual(['entryId']);
    const big = avroCodec<{ entryId: bigint; at: Date; count: number }>({ schema, longs: 'bigint' });
    const bytes = big.encode({ entryId: 2n ** 60n + 1n, at: new Date(0), count: 1 }, ctx) as Uint8Array;
    expect(codecError(() => codec.decode(bytes, ctx)).code).toBe('INVALID_PAYLOAD');
  });

  it("decodes every long as a bigint with longs: 'bigint', keeping logical types and promotions", () => {
    const codec = avroCodec<{ entryId: bigint; at: Date; count: number }>({ schema, longs: 'bigint' });
    const value = { entryId: -(2n ** 62n) - 7n, at: new Date('2026-05-06T07:08:09.010Z'), count: 3 };
    expect(codec.decode(codec.encode(value, ctx) as Uint8Array, ctx)).toEqual(value);
    expect(codec.decode(codec.encode({ ...value, entryId: 42 as unknown as bigint }, ctx) as Uint8Array, ctx)).toEqual({
      ...value,
      entryId: 42n,
    });
    const old = avroCodec({
      schema: {
        type: 'record',
        name: 'Ledger',
        fields: [
          { name: 'entryId', type: 'int' },
          { name: 'at', type: 'long' },
          { name: 'count', type: 'int' },
        ],
      },
    });
    const promoted = avroCodec({ schema, writerSchema: old.type, longs: 'bigint' });
    expect(promoted.decode(old.encode({ entryId: 5, at: 1000, count: 2 }, ctx) as Uint8Array, ctx)).toEqual({
      entryId: 5n,
      at: new Date(1000),
      count: 2,
    });
    expect(() => avroCodec({ schema, longs: 'string' as never })).toThrow(/longs/);
  });

  it("reads longs written as { type: 'long' } and under unimplemented logical types as bigints too", () => {
    const objectForm = {
      type: 'record',
      name: 'Counters',
      fields: [
        { name: 'total', type: { type: 'long' } },
        { name: 'samples', type: { type: 'array', items: { type: 'long' } } },
        { name: 'elapsed', type: { type: 'long', logicalType: 'time-micros' } },
        { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      ],
    } as const;
    const codec = avroCodec({ schema: objectForm, longs: 'bigint' });
    const value = { total: 2n ** 60n + 1n, samples: [1n, -(2n ** 62n)], elapsed: 5n, at: new Date(1000) };
    expect(codec.decode(codec.encode(value, ctx) as Uint8Array, ctx)).toEqual(value);
    const numbers = avroCodec({ schema: objectForm });
    const small = { total: 1, samples: [2], elapsed: 3, at: new Date(1000) };
    expect(numbers.decode(numbers.encode(small, ctx) as Uint8Array, ctx)).toEqual(small);
  });
});
