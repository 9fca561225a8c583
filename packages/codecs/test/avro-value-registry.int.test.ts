import { createMarshaler } from '@bus/codecs';
import { type AvroValue, avroSchemaFormat } from '@bus/codecs/avro';
import { decodeHeader, registryCodec } from '@bus/codecs/registry';
import { uniqueName } from '@bus/test-infra';
import { SchemaRegistry as ConfluentClient } from '@kafkajs/confluent-schema-registry';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import { realRegistry, registryUrl } from './support/registry.ts';

const registry = realRegistry();
// An independent Confluent-format implementation (avsc with its default union handling).
const confluent = new ConfluentClient({ host: registryUrl() });
afterAll(() => registry.close());

const shipmentSchema = {
  type: 'record',
  name: 'ShipmentDispatched',
  namespace: 'shop.shipping',
  fields: [
    { name: 'shipmentId', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'dispatchedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'carrier', type: { type: 'enum', name: 'Carrier', symbols: ['DHL', 'UPS'] } },
    {
      name: 'origin',
      type: {
        type: 'record',
        name: 'Address',
        fields: [
          { name: 'city', type: 'string' },
          { name: 'zip', type: ['null', 'string'], default: null },
        ],
      },
    },
    { name: 'destination', type: 'Address' },
    { name: 'parcels', type: { type: 'array', items: { type: 'long' } } },
    {
      name: 'customs',
      type: { type: 'map', values: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
    },
    { name: 'fallbackCarrier', type: ['null', 'Carrier'], default: null },
  ],
} as const;

type Address = { city: string; zip: string | null };

describe('avroSchemaFormat infers the value type from an as-const schema (real registry)', () => {
  it('encodes, registers and decodes exactly the inferred type, with bigint longs too', async () => {
    const topic = uniqueName('codecs-avro-typed');
    const shipments = createMarshaler({
      codec: registryCodec({ registry, format: avroSchemaFormat({ schema: shipmentSchema }) }),
      key: (shipment) => shipment.shipmentId,
    });
    type Shipment = AvroValue<typeof shipmentSchema>;
    expectTypeOf<Shipment>().toEqualTypeOf<{
      shipmentId: string;
      dispatchedAt: Date;
      carrier: 'DHL' | 'UPS';
      origin: Address;
      destination: Address;
      parcels: number[];
      customs: Record<string, string>;
      fallbackCarrier: 'DHL' | 'UPS' | null;
    }>();
    const shipment: Shipment = {
      shipmentId: '3f2b8c1e-6a4d-4e8f-9b2a-1c3d5e7f9a0b',
      dispatchedAt: new Date('2026-12-02T03:30:00.000Z'),
      carrier: 'DHL',
      origin: { city: 'Lyon', zip: null },
      destination: { city: 'Graz', zip: '8010' },
      parcels: [1200, 800],
      customs: { books: '12.50', gift: '-0.99' },
      fallbackCarrier: 'UPS',
    };
    const message = await shipments.marshal(shipment, { topic });
    expect(await registry.versions(`${topic}-value`)).toEqual([1]);

    const received = await shipments.unmarshal(message, { topic });
    expectTypeOf(received).toEqualTypeOf<Shipment>();
    expect(received).toEqual(shipment);
    expect(received.dispatchedAt).toBeInstanceOf(Date);

    // Another service reads the same registered schema with bigint longs.
    const bigints = registryCodec({ registry, format: avroSchemaFormat({ schema: shipmentSchema, longs: 'bigint' }) });
    const read = await bigints.decode(message.payload, { topic, role: 'value' });
    expectTypeOf(read.parcels).toEqualTypeOf<bigint[]>();
    expect(read.parcels).toEqual([1200n, 800n]);
    expect(decodeHeader(message.payload, false, { role: 'value' }).schemaId).toBe(
      (await registry.getVersion(`${topic}-value`, 'latest')).id,
    );

    // @ts-expect-error `carier` is not a field of the schema
    await expect(shipments.marshal({ ...shipment, carrier: undefined, carier: 'DHL' }, { topic })).rejects.toThrow(
      expect.objectContaining({ code: 'ENCODE_FAILED' }),
    );
  });

  it('carries a union of two records as branch-wrapped values, read alike by a Confluent client', async () => {
    const topic = uniqueName('codecs-avro-union');
    const schema = {
      type: 'record',
      name: 'PaymentEvent',
      namespace: 'shop.payments',
      fields: [
        { name: 'paymentId', type: 'string' },
        {
          name: 'outcome',
          type: [
            { type: 'record', name: 'Captured', fields: [{ name: 'cents', type: 'long' }] },
            { type: 'record', name: 'Declined', fields: [{ name: 'reason', type: 'string' }] },
          ],
        },
      ],
    } as const;
    const codec = registryCodec({ registry, format: avroSchemaFormat({ schema }) });
    type PaymentEvent = AvroValue<typeof schema>;
    expectTypeOf<PaymentEvent['outcome']>().toEqualTypeOf<
      { 'shop.payments.Captured': { cents: number } } | { 'shop.payments.Declined': { reason: string } }
    >();
    const events: PaymentEvent[] = [
      { paymentId: 'p-1', outcome: { 'shop.payments.Captured': { cents: 1250 } } },
      { paymentId: 'p-2', outcome: { 'shop.payments.Declined': { reason: 'insufficient funds' } } },
    ];
    for (const event of events) {
      const bytes = await codec.encode(event, { topic, role: 'value' });
      expect(await codec.decode(bytes, { topic, role: 'value' })).toEqual(event);
      expect(JSON.parse(JSON.stringify(await confluent.decode(Buffer.from(bytes))))).toEqual(event);
    }
  });
});
