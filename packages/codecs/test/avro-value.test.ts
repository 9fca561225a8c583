import type { Codec, SchemaFormat } from '@bus/codecs';
import { type AvroCodec, type AvroValue, avroCodec, avroSchemaFormat } from '@bus/codecs/avro';
import avsc from 'avsc';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { type OrderPlaced, orderSchemaV1, type orderSchemaV2, sampleOrder } from './fixtures.ts';

const ctx = { topic: 'types', role: 'value' as const };

interface OrderV2 extends OrderPlaced {
  priority: number;
}

/** Encodes and decodes with `codec`, returning what decode produced (typed as the codec's value). */
function roundTrip<T>(codec: Codec<T>, value: NoInfer<T>): T {
  return codec.decode(codec.encode(value, ctx) as Uint8Array, ctx) as T;
}

describe('AvroValue: the TypeScript type of an as-const Avro schema', () => {
  it('types the fixture order schema exactly as the hand-written OrderPlaced', () => {
    expectTypeOf<AvroValue<typeof orderSchemaV1>>().toEqualTypeOf<OrderPlaced>();
    expectTypeOf<AvroValue<typeof orderSchemaV2>>().toEqualTypeOf<OrderV2>();
    const codec = avroCodec({ schema: orderSchemaV1 });
    expectTypeOf(codec).toEqualTypeOf<AvroCodec<OrderPlaced>>();
    expect(roundTrip(codec, sampleOrder(3))).toEqual(sampleOrder(3));
  });

  it('maps primitives; longs are numbers, or bigints with longs: bigint', () => {
    const schema = {
      type: 'record',
      name: 'Primitives',
      fields: [
        { name: 'nothing', type: 'null' },
        { name: 'flag', type: 'boolean' },
        { name: 'small', type: 'int' },
        { name: 'big', type: 'long' },
        { name: 'ratio', type: 'float' },
        { name: 'precise', type: 'double' },
        { name: 'raw', type: 'bytes' },
        { name: 'text', type: { type: 'string' } },
      ],
    } as const;
    type Expected<L> = {
      nothing: null;
      flag: boolean;
      small: number;
      big: L;
      ratio: number;
      precise: number;
      raw: Buffer;
      text: string;
    };
    expectTypeOf<AvroValue<typeof schema>>().toEqualTypeOf<Expected<number>>();
    expectTypeOf<AvroValue<typeof schema, 'bigint'>>().toEqualTypeOf<Expected<bigint>>();

    const numbers = avroCodec({ schema });
    const value = {
      nothing: null,
      flag: true,
      small: -7,
      big: 2 ** 40,
      ratio: 0.5,
      precise: Math.PI,
      raw: Buffer.from([1, 2, 3]),
      text: 'hé',
    };
    const decoded = roundTrip(numbers, value);
    expectTypeOf(decoded).toEqualTypeOf<Expected<number>>();
    expect(decoded).toEqual(value);
    expect(Buffer.isBuffer(decoded.raw)).toBe(true);

    const bigints = avroCodec({ schema, longs: 'bigint' });
    expectTypeOf(bigints).toEqualTypeOf<AvroCodec<Expected<bigint>>>();
    const decodedBig = roundTrip(bigints, { ...value, big: 2n ** 62n });
    expect(typeof decodedBig.big).toBe('bigint');
    expect(decodedBig.big).toBe(2n ** 62n);

    // A bare primitive schema.
    const strings = avroCodec({ schema: 'string' });
    expectTypeOf(strings).toEqualTypeOf<AvroCodec<string>>();
    expect(roundTrip(strings, 'plain')).toBe('plain');
  });

  it('maps enums to their symbols, arrays, maps and nullable unions', () => {
    const schema = {
      type: 'record',
      name: 'Shipment',
      namespace: 'shop.shipping',
      fields: [
        { name: 'carrier', type: { type: 'enum', name: 'Carrier', symbols: ['DHL', 'UPS', 'POST'] } },
        { name: 'parcels', type: { type: 'array', items: 'int' } },
        { name: 'labels', type: { type: 'map', values: 'string' } },
        { name: 'note', type: ['null', 'string'], default: null },
        { name: 'weight', type: ['null', 'int', 'string', { type: 'array', items: 'double' }] },
        { name: 'stops', type: { type: 'array', items: { type: 'map', values: ['null', 'boolean'] } } },
      ],
    } as const;
    type Shipment = AvroValue<typeof schema>;
    expectTypeOf<Shipment>().toEqualTypeOf<{
      carrier: 'DHL' | 'UPS' | 'POST';
      parcels: number[];
      labels: Record<string, string>;
      note: string | null;
      weight: null | number | string | number[];
      stops: Record<string, boolean | null>[];
    }>();

    const codec = avroCodec({ schema });
    const values: Shipment[] = [
      { carrier: 'UPS', parcels: [1, 2], labels: { a: 'x' }, note: null, weight: null, stops: [] },
      { carrier: 'DHL', parcels: [], labels: {}, note: 'fragile', weight: 3, stops: [{ a: true, b: null }] },
      { carrier: 'POST', parcels: [9], labels: {}, note: null, weight: '3kg', stops: [{}] },
      { carrier: 'POST', parcels: [9], labels: {}, note: null, weight: [1.5, 2], stops: [] },
    ];
    for (const value of values) expect(roundTrip(codec, value)).toEqual(value);

    // @ts-expect-error 'FEDEX' is not a symbol of the enum
    expect(() => codec.encode({ ...values[0]!, carrier: 'FEDEX' }, ctx)).toThrow(/carrier/);
  });

  it('maps the logical types the codec implements, and others to their underlying type', () => {
    const schema = {
      type: 'record',
      name: 'Logical',
      fields: [
        { name: 'millis', type: { type: 'long', logicalType: 'timestamp-millis' } },
        { name: 'micros', type: { type: 'long', logicalType: 'timestamp-micros' } },
        { name: 'day', type: { type: 'int', logicalType: 'date' } },
        { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
        { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
        {
          name: 'fixedAmount',
          type: { type: 'fixed', name: 'Amount', size: 8, logicalType: 'decimal', precision: 18, scale: 0 },
        },
        { name: 'timeOfDay', type: { type: 'int', logicalType: 'time-millis' } },
        { name: 'paidAt', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
      ],
    } as const;
    type Logical = AvroValue<typeof schema>;
    expectTypeOf<Logical>().toEqualTypeOf<{
      millis: Date;
      micros: Date;
      day: Date;
      id: string;
      amount: string;
      fixedAmount: string;
      timeOfDay: number;
      paidAt: Date | null;
    }>();
    // The logical types keep Dates with bigint longs; the plain time-millis stays an int.
    expectTypeOf<AvroValue<typeof schema, 'bigint'>>().toEqualTypeOf<Logical>();

    const codec = avroCodec({ schema });
    const value: Logical = {
      millis: new Date('2026-12-02T03:04:05.678Z'),
      micros: new Date('2026-12-02T03:04:05.678Z'),
      day: new Date('2026-12-02T00:00:00.000Z'),
      id: '123e4567-e89b-12d3-a456-426614174000',
      amount: '-1234.50',
      fixedAmount: '987654321',
      timeOfDay: 3_600_000,
      paidAt: new Date('2026-12-02T05:00:00.000Z'),
    };
    const decoded = roundTrip(codec, value);
    expect(decoded).toEqual(value);
    expect(decoded.millis).toBeInstanceOf(Date);
    expect(decoded.paidAt).toBeInstanceOf(Date);
    expect(roundTrip(codec, { ...value, paidAt: null }).paidAt).toBeNull();
    expect(roundTrip(avroCodec({ schema, longs: 'bigint' }), value)).toEqual(value);
  });

  it('resolves named types referenced by name, in the enclosing namespace or fully qualified', () => {
    const schema = {
      type: 'record',
      name: 'Invoice',
      namespace: 'shop.billing',
      fields: [
        {
          name: 'net',
          type: {
            type: 'record',
            name: 'Money',
            fields: [
              { name: 'currency', type: { type: 'enum', name: 'Currency', symbols: ['EUR', 'USD'] } },
              { name: 'cents', type: 'long' },
            ],
          },
        },
        { name: 'tax', type: 'Money' },
        { name: 'gross', type: 'shop.billing.Money' },
        { name: 'refunds', type: { type: 'array', items: 'Money' } },
        { name: 'fallback', type: ['null', 'Currency'], default: null },
        { name: 'hash', type: { type: 'fixed', name: 'common.Hash', size: 4 } },
        { name: 'previousHash', type: ['null', 'common.Hash'], default: null },
        {
          name: 'customer',
          type: {
            type: 'record',
            name: 'Customer',
            namespace: 'shop.crm',
            fields: [
              { name: 'id', type: 'string' },
              { name: 'tier', type: { type: 'enum', name: 'Tier', symbols: ['GOLD', 'BASIC'] } },
            ],
          },
        },
        { name: 'referrer', type: ['null', 'shop.crm.Customer'], default: null },
        { name: 'referrerTier', type: 'shop.crm.Tier' },
      ],
    } as const;
    type Money = { currency: 'EUR' | 'USD'; cents: number };
    type Customer = { id: string; tier: 'GOLD' | 'BASIC' };
    type Invoice = AvroValue<typeof schema>;
    expectTypeOf<Invoice>().toEqualTypeOf<{
      net: Money;
      tax: Money;
      gross: Money;
      refunds: Money[];
      fallback: 'EUR' | 'USD' | null;
      hash: Buffer;
      previousHash: Buffer | null;
      customer: Customer;
      referrer: Customer | null;
      referrerTier: 'GOLD' | 'BASIC';
    }>();

    const codec = avroCodec({ schema });
    const eur = (cents: number): Money => ({ currency: 'EUR', cents });
    const value: Invoice = {
      net: eur(1000),
      tax: eur(190),
      gross: eur(1190),
      refunds: [eur(5), { currency: 'USD', cents: 7 }],
      fallback: 'USD',
      hash: Buffer.from([1, 2, 3, 4]),
      previousHash: null,
      customer: { id: 'c-1', tier: 'GOLD' },
      referrer: { id: 'c-0', tier: 'BASIC' },
      referrerTier: 'BASIC',
    };
    expect(roundTrip(codec, value)).toEqual(value);
  });

  it('wraps a union whose branches share a JavaScript kind (two records) by branch name, and types it so', () => {
    const schema = {
      type: 'record',
      name: 'OrderEvent',
      namespace: 'shop',
      fields: [
        {
          name: 'payload',
          type: [
            'null',
            { type: 'record', name: 'Placed', fields: [{ name: 'total', type: 'int' }] },
            { type: 'record', name: 'billing.Cancelled', fields: [{ name: 'reason', type: 'string' }] },
          ],
        },
        { name: 'previous', type: ['Placed', 'billing.Cancelled', 'string'] },
        { name: 'measure', type: ['int', 'double', { type: 'long', logicalType: 'timestamp-millis' }] },
        { name: 'extra', type: ['null', { type: 'map', values: 'int' }, 'Placed'], default: null },
        { name: 'plain', type: ['null', 'string', 'Placed'], default: null },
      ],
    } as const;
    type Placed = { total: number };
    type Cancelled = { reason: string };
    type OrderEvent = AvroValue<typeof schema>;
    expectTypeOf<OrderEvent>().toEqualTypeOf<{
      payload: null | { 'shop.Placed': Placed } | { 'billing.Cancelled': Cancelled };
      previous: { 'shop.Placed': Placed } | { 'billing.Cancelled': Cancelled } | { string: string };
      measure: { int: number } | { double: number } | { long: Date };
      extra: null | { map: Record<string, number> } | { 'shop.Placed': Placed };
      plain: null | string | Placed; // one branch per kind: not wrapped
    }>();

    const codec = avroCodec({ schema });
    const values: OrderEvent[] = [
      {
        payload: { 'shop.Placed': { total: 3 } },
        previous: { string: 'none' },
        measure: { int: 7 },
        extra: null,
        plain: { total: 1 },
      },
      {
        payload: { 'billing.Cancelled': { reason: 'late' } },
        previous: { 'shop.Placed': { total: 3 } },
        measure: { double: 1.5 },
        extra: { map: { a: 1 } },
        plain: 'text',
      },
      {
        payload: null,
        previous: { 'billing.Cancelled': { reason: 'x' } },
        measure: { long: new Date(5000) },
        extra: { 'shop.Placed': { total: 9 } },
        plain: null,
      },
    ];
    for (const value of values) expect(roundTrip(codec, value)).toEqual(value);
    // @ts-expect-error a wrapped branch must be named
    expect(() => codec.encode({ ...values[0]!, payload: { total: 3 } }, ctx)).toThrow(/payload/);
  });

  it("types the caller's own logical types as unknown, and overridden built-ins too", () => {
    // Cents in a long, as a { cents } object.
    class Money extends avsc.types.LogicalType {
      protected override _fromValue(value: number): { cents: number } {
        return { cents: value };
      }
      protected override _toValue(value: { cents: number }): number {
        return value.cents;
      }
    }
    const schema = {
      type: 'record',
      name: 'Priced',
      fields: [
        { name: 'price', type: { type: 'long', logicalType: 'money' } },
        { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
        { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
      ],
    } as const;
    expectTypeOf<AvroValue<typeof schema>>().toEqualTypeOf<{ price: number; id: string; at: Date }>();
    const codec = avroCodec({ schema, logicalTypes: { money: Money } });
    expectTypeOf(codec).toEqualTypeOf<AvroCodec<{ price: unknown; id: string; at: Date }>>();
    const value = { price: { cents: 1999 }, id: '123e4567-e89b-12d3-a456-426614174000', at: new Date(0) };
    expect(roundTrip(codec, value)).toEqual(value);

    const typed = avroCodec<{ price: { cents: number }; id: string; at: Date }>({
      schema,
      logicalTypes: { money: Money },
    });
    expect(roundTrip(typed, value).price.cents).toBe(1999);
    const overridden = avroCodec({ schema, logicalTypes: { money: Money, uuid: Money } });
    expectTypeOf(overridden).toEqualTypeOf<AvroCodec<{ price: unknown; id: unknown; at: Date }>>();
  });

  it('types recursive records', () => {
    const schema = {
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'label', type: 'string' },
        { name: 'next', type: ['null', 'Node'], default: null },
        { name: 'children', type: { type: 'array', items: 'Node' } },
      ],
    } as const;
    type Node = AvroValue<typeof schema>;
    expectTypeOf<Node['next']>().toEqualTypeOf<Node | null>();
    expectTypeOf<Node['children']>().toEqualTypeOf<Node[]>();
    const codec = avroCodec({ schema });
    const leaf: Node = { label: 'leaf', next: null, children: [] };
    const value: Node = { label: 'root', next: { label: 'second', next: null, children: [leaf] }, children: [leaf] };
    expect(roundTrip(codec, value)).toEqual(value);
  });

  it('refuses a misspelled field in the value or in the schema at compile time', () => {
    const codec = avroCodec({ schema: orderSchemaV1 });
    // @ts-expect-error `customerID` is not a field of the schema (it has `customerId`)
    expect(() => codec.encode({ ...sampleOrder(), customerId: undefined, customerID: 'c-1' }, ctx)).toThrow(
      /customerId/,
    );
    const misspelt = avroCodec({
      schema: {
        type: 'record',
        name: 'Refund',
        fields: [
          { name: 'ordreId', type: 'string' }, // the schema misspells the field
          { name: 'cents', type: 'long' },
        ],
      },
    });
    // @ts-expect-error the value's `orderId` is not the schema's `ordreId`
    expect(() => misspelt.encode({ orderId: 'o-1', cents: 5 }, ctx)).toThrow(/ordreId/);
    const refund = misspelt.decode(misspelt.encode({ ordreId: 'o-1', cents: 5 }, ctx) as Uint8Array, ctx) as {
      ordreId: string;
    };
    expect(refund.ordreId).toBe('o-1');
    // @ts-expect-error reading the field under its intended name does not compile either
    expect(roundTrip(misspelt, { ordreId: 'o-1', cents: 5 }).orderId).toBeUndefined();
    // @ts-expect-error a wrong field type does not compile
    expect(() => codec.encode({ ...sampleOrder(), itemCount: '3' }, ctx)).toThrow(/itemCount/);
  });

  it('types avroSchemaFormat from the schema too', () => {
    const format = avroSchemaFormat({ schema: orderSchemaV1 });
    expectTypeOf(format).toEqualTypeOf<SchemaFormat<OrderPlaced>>();
    const bigints = avroSchemaFormat({ schema: 'long', longs: 'bigint' });
    expectTypeOf(bigints).toEqualTypeOf<SchemaFormat<bigint>>();
  });

  it('keeps an explicit type argument, and gives unknown for schemas that are not literal', () => {
    expectTypeOf(avroCodec<OrderPlaced>({ schema: orderSchemaV1 })).toEqualTypeOf<AvroCodec<OrderPlaced>>();
    expectTypeOf(avroCodec<{ id: bigint }>({ schema: 'long', longs: 'bigint' })).toEqualTypeOf<
      AvroCodec<{ id: bigint }>
    >();
    expectTypeOf(avroSchemaFormat<string>({ schema: 'string' })).toEqualTypeOf<SchemaFormat<string>>();

    const text = avroCodec({ schema: JSON.stringify(orderSchemaV1) });
    expectTypeOf(text).toEqualTypeOf<AvroCodec<unknown>>();
    expectTypeOf(avroCodec({ schema: text.type })).toEqualTypeOf<AvroCodec<unknown>>();
    const widened: { type: string; name: string; fields: { name: string; type: string }[] } = {
      type: 'record',
      name: 'Wide',
      fields: [{ name: 'a', type: 'int' }],
    };
    // A name the schema never defines cannot be written (avsc refuses the schema: undefined type name).
    const dangling = { type: 'record', name: 'D', fields: [{ name: 'd', type: ['null', 'Nowhere'] }] } as const;
    expectTypeOf<AvroValue<typeof dangling>>().toEqualTypeOf<{ d: null }>();
    expect(() => avroCodec({ schema: dangling })).toThrow(/undefined type name/);

    const wide = avroCodec({ schema: widened });
    expectTypeOf(wide).toEqualTypeOf<AvroCodec<unknown>>();
    expect(roundTrip(wide, { a: 1 })).toEqual({ a: 1 });
  });
});
