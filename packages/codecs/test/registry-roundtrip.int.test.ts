import { createMarshaler, stringCodec } from '@bus/codecs';
import { avroSchemaFormat } from '@bus/codecs/avro';
import { jsonSchemaFormat } from '@bus/codecs/json';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { decodeHeader, registryCodec } from '@bus/codecs/registry';
import { uniqueName } from '@bus/test-infra';
import { SchemaRegistry as ConfluentClient } from '@kafkajs/confluent-schema-registry';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type OrderPlaced, orderProto, orderSchemaV1, sampleOrder } from './fixtures.ts';
import { realRegistry, registryUrl } from './support/registry.ts';

const registry = realRegistry();
// An independent Confluent-format implementation, to prove the bytes interoperate.
const confluent = new ConfluentClient({ host: registryUrl() });

afterAll(() => registry.close());

const protoOrder = {
  orderId: 'o-7',
  customerId: 'c-7',
  placedAtMs: '1767322800123',
  total: { currency: 'EUR', units: '12', nanos: 0 },
  itemCount: 1,
  express: false,
  channel: 'app',
  couponCode: '',
  tags: [],
  status: 'PLACED',
  lines: [{ sku: 's', quantity: 1 }],
};

describe('registry round-trips against the real registry', () => {
  it('Avro: registers on first encode, frames with the id, decodes, and interoperates with a Confluent client', async () => {
    const topic = uniqueName('codecs-avro');
    const codec = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
    const order = sampleOrder(11);
    const bytes = await codec.encode(order, { topic, role: 'value' });
    const header = decodeHeader(bytes, false, { role: 'value' });
    const registered = await registry.getVersion(`${topic}-value`, 'latest');
    expect(header.schemaId).toBe(registered.id);
    expect(codec.contentType).toBe('application/vnd.confluent.avro');

    // A fresh codec has no cache: it fetches the writer schema by id.
    const reader = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
    expect(await reader.decode(bytes, { topic, role: 'value' })).toEqual(order);

    const foreign = (await confluent.decode(Buffer.from(bytes))) as Record<string, unknown>;
    expect(foreign.customerId).toBe(order.customerId);
    expect(foreign.itemCount).toBe(order.itemCount);
  });

  it('Protobuf: writes message indexes of nested types and interoperates with a Confluent client', async () => {
    const topic = uniqueName('codecs-proto');
    const format = protobufSchemaFormat({ proto: orderProto, typeName: 'shop.orders.OrderPlaced' });
    const codec = registryCodec({ registry, format });
    const bytes = await codec.encode(protoOrder, { topic, role: 'value' });
    const header = decodeHeader(bytes, true, { role: 'value' });
    expect(header.messageIndexes).toEqual([1]);
    const reader = registryCodec({
      registry,
      format: protobufSchemaFormat({ proto: orderProto, typeName: 'shop.orders.OrderPlaced' }),
    });
    expect(await reader.decode(bytes, { topic, role: 'value' })).toEqual(protoOrder);

    // The first message of a file uses the single-byte [0] shortcut. (The Confluent client here
    // ignores message indexes and always reads the first message, so only [0] interoperates.)
    const money = registryCodec({
      registry,
      format: protobufSchemaFormat({ proto: orderProto, typeName: 'shop.orders.Money' }),
    });
    const moneyBytes = await money.encode(
      { currency: 'USD', units: '3', nanos: 1 },
      { topic: uniqueName('codecs-money'), role: 'value' },
    );
    expect(moneyBytes[5]).toBe(0);
    expect(await money.decode(moneyBytes, { role: 'value' })).toEqual({ currency: 'USD', units: '3', nanos: 1 });
    const foreign = (await confluent.decode(Buffer.from(moneyBytes))) as { currency?: string };
    expect(foreign.currency).toBe('USD');
  });

  it('JSON Schema: registers a JSON schema derived from zod and validates on both sides', async () => {
    const topic = uniqueName('codecs-json');
    const Shipment = z.object({ shipmentId: z.string(), weightGrams: z.number().int().positive() });
    const format = jsonSchemaFormat({
      jsonSchema: { ...z.toJSONSchema(Shipment, { target: 'draft-7' }), title: 'Shipment' },
      schema: Shipment,
    });
    const codec = registryCodec({ registry, format });
    const bytes = await codec.encode({ shipmentId: 's-1', weightGrams: 1200 }, { topic, role: 'value' });
    const registered = await registry.getSchema(decodeHeader(bytes, false, { role: 'value' }).schemaId);
    expect(registered.schemaType).toBe('JSON');
    expect(await codec.decode(bytes, { topic, role: 'value' })).toEqual({ shipmentId: 's-1', weightGrams: 1200 });
    expect(await confluent.decode(Buffer.from(bytes))).toEqual({ shipmentId: 's-1', weightGrams: 1200 });
    // Warm codecs encode synchronously, so a bad value throws at once.
    expect(() => codec.encode({ shipmentId: 's-2', weightGrams: -1 }, { topic, role: 'value' })).toThrow(
      expect.objectContaining({ code: 'VALIDATION_FAILED' }),
    );
  });

  it('keys and values on one topic use different codecs and subjects', async () => {
    const topic = uniqueName('codecs-kv');
    const keyFormat = avroSchemaFormat<string>({ schema: 'string' });
    const orders = createMarshaler({
      codec: registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) }),
      keyCodec: registryCodec({ registry, format: keyFormat }),
      key: (order) => order.customerId,
      type: 'shop.orders.OrderPlaced',
    });
    const order = sampleOrder(5);
    const message = await orders.marshal(order, { topic });
    expect(message.key).toBeInstanceOf(Uint8Array);
    expect(await registry.versions(`${topic}-key`)).toEqual([1]);
    expect(await registry.versions(`${topic}-value`)).toEqual([1]);
    const keyId = decodeHeader(message.key as Uint8Array, false, { role: 'key' }).schemaId;
    const valueId = decodeHeader(message.payload, false, { role: 'value' }).schemaId;
    expect(keyId).not.toBe(valueId);
    expect(await orders.unmarshal(message, { topic })).toEqual(order);
    expect(await orders.unmarshalKey(message, { topic })).toBe(order.customerId);

    // A plain string key next to a registry value works too.
    const plainKeyed = createMarshaler({
      codec: registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) }),
      keyCodec: stringCodec,
      key: (o: OrderPlaced) => o.orderId,
    });
    const plain = await plainKeyed.marshal(order, { topic });
    expect(new TextDecoder().decode(plain.key as Uint8Array)).toBe(order.orderId);
  });

  it('names subjects by record name and by topic and record name', async () => {
    const topic = uniqueName('codecs-strategy');
    const recordName = `shop.strategy.R${uniqueName('x').replace(/-/g, '_')}`;
    const schema = { type: 'record', name: recordName, fields: [{ name: 'a', type: 'int' }] };
    const byRecord = registryCodec({
      registry,
      format: avroSchemaFormat({ schema }),
      subjectNameStrategy: 'RecordName',
    });
    const byTopicRecord = registryCodec({
      registry,
      format: avroSchemaFormat({ schema }),
      subjectNameStrategy: 'TopicRecordName',
    });
    expect(byRecord.subjectFor(topic, 'value')).toBe(recordName);
    expect(byTopicRecord.subjectFor(topic, 'value')).toBe(`${topic}-${recordName}`);
    await byRecord.encode({ a: 1 }, { topic, role: 'value' });
    await byTopicRecord.encode({ a: 1 }, { topic, role: 'value' });
    expect(await registry.versions(recordName)).toEqual([1]);
    expect(await registry.versions(`${topic}-${recordName}`)).toEqual([1]);
    expect(await registry.versions(`${topic}-value`)).toEqual([]);
  });
});
