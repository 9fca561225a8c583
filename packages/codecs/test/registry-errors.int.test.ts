import { CodecError } from '@bus/codecs';
import { avroSchemaFormat } from '@bus/codecs/avro';
import { jsonSchemaFormat } from '@bus/codecs/json';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { encodeHeader, registryCodec, SchemaRegistry } from '@bus/codecs/registry';
import { uniqueName } from '@bus/test-infra';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderPlaced, orderProto, orderSchemaV1, sampleOrder } from './fixtures.ts';
import { realRegistry } from './support/registry.ts';

const registry = realRegistry();
afterAll(() => registry.close());

const topic = uniqueName('codecs-errors');
const ctx = { topic, role: 'value' as const, partition: 3, offset: 99 };
const orders = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
let valid: Uint8Array;
let unknownId: number;

async function failure(run: () => unknown): Promise<CodecError> {
  const error = await Promise.resolve()
    .then(run)
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(CodecError.isInstance(error), String(error)).toBe(true);
  return error as CodecError;
}

beforeAll(async () => {
  valid = await orders.encode(sampleOrder(), ctx);
  // Far beyond any id this registry has handed out.
  unknownId = 2_000_000_000 + Math.floor(Math.random() * 100_000_000);
});

describe('typed errors from registry-framed payloads', () => {
  it('wrong magic byte', async () => {
    const error = await failure(() => orders.decode(new Uint8Array([1, ...valid.subarray(1)]), ctx));
    expect(error.code).toBe('INVALID_MAGIC_BYTE');
    expect({ topic: error.topic, partition: error.partition, offset: error.offset }).toEqual({
      topic,
      partition: 3,
      offset: 99,
    });
  });

  it('unknown schema id, with the id and location', async () => {
    const bytes = new Uint8Array([...encodeHeader(unknownId), ...valid.subarray(5)]);
    const error = await failure(() => orders.decode(bytes, ctx));
    expect(error.code).toBe('UNKNOWN_SCHEMA_ID');
    expect(error.schemaId).toBe(unknownId);
    expect(error.offset).toBe(99);
  });

  it('truncated header and truncated body', async () => {
    expect((await failure(() => orders.decode(valid.subarray(0, 3), ctx))).code).toBe('TRUNCATED');
    expect((await failure(() => orders.decode(valid.subarray(0, valid.length - 2), ctx))).code).toBe('TRUNCATED');
  });

  it('a payload of another schema', async () => {
    const other = registryCodec({
      registry,
      format: avroSchemaFormat({
        schema: { type: 'record', name: 'shop.Other', fields: [{ name: 'x', type: 'double' }] },
      }),
    });
    const otherBytes = await other.encode({ x: 1.5 }, { topic: uniqueName('codecs-other'), role: 'value' });
    const fresh = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
    const error = await failure(() => fresh.decode(otherBytes, ctx));
    expect(error.code).toBe('SCHEMA_MISMATCH');
    // The verdict is cached per id: the second failure is synchronous and still typed.
    expect((await failure(() => fresh.decode(otherBytes, ctx))).code).toBe('SCHEMA_MISMATCH');

    const protoBytes = await registryCodec({
      registry,
      format: protobufSchemaFormat({ proto: orderProto, typeName: 'shop.orders.Money' }),
    }).encode({ currency: 'EUR', units: '1', nanos: 0 }, { topic: uniqueName('codecs-money'), role: 'value' });
    const wantsOrder = registryCodec({
      registry,
      format: protobufSchemaFormat({ proto: orderProto, typeName: 'shop.orders.OrderPlaced' }),
    });
    expect((await failure(() => wantsOrder.decode(protoBytes, ctx))).code).toBe('SCHEMA_MISMATCH');
    expect((await failure(() => fresh.decode(protoBytes, ctx))).code).toBe('SCHEMA_MISMATCH');
    const json = registryCodec({ registry, format: jsonSchemaFormat({ jsonSchema: { type: 'object' } }) });
    expect((await failure(() => json.decode(valid, ctx))).code).toBe('SCHEMA_MISMATCH');
  });

  it('an unreachable registry is a retryable REGISTRY_UNAVAILABLE error', async () => {
    await using down = new SchemaRegistry({ url: 'http://127.0.0.1:9/apis/ccompat/v7', timeoutMs: 2_000 });
    const codec = registryCodec({ registry: down, format: avroSchemaFormat({ schema: orderSchemaV1 }) });
    const error = await failure(() => codec.encode(sampleOrder(), ctx));
    expect(error.code).toBe('REGISTRY_UNAVAILABLE');
    expect(error.isRetryable).toBe(true);
  });

  it('credentials never reach error messages', async () => {
    await using down = new SchemaRegistry({ url: 'http://bob:hunter2-secret@127.0.0.1:9/x', timeoutMs: 2_000 });
    const error = await failure(() => down.getSchema(1));
    expect(`${error.message} ${String(error.cause)}`).not.toContain('hunter2');
    expect(down.url).toBe('http://127.0.0.1:9/x');
  });

  it('random bytes, with and without a known header, give only CodecErrors (avro, protobuf, json)', async () => {
    const proto = registryCodec({
      registry,
      format: protobufSchemaFormat({ proto: orderProto, typeName: 'shop.orders.OrderPlaced' }),
    });
    const json = registryCodec({
      registry,
      format: jsonSchemaFormat({
        jsonSchema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', title: 'Anything' },
      }),
    });
    const fuzzTopic = uniqueName('codecs-fuzz');
    const headers = {
      avro: valid.subarray(0, 5),
      proto: (await proto.encode({ orderId: 'x' }, { topic: fuzzTopic, role: 'value' })).subarray(0, 7),
      json: (await json.encode({}, { topic: fuzzTopic, role: 'key' })).subarray(0, 5),
    };
    expect(headers.proto[5]).toBe(2); // one message index ([1]) follows the id
    for (const [codec, header] of [
      [orders, headers.avro],
      [proto, headers.proto],
      [json, headers.json],
    ] as const) {
      const payloads = fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }).map((body) => new Uint8Array([...header, ...body])),
      );
      await fc.assert(
        fc.asyncProperty(payloads, async (bytes) => {
          try {
            await (codec as { decode(b: Uint8Array, c: typeof ctx): unknown }).decode(bytes, ctx);
          } catch (error) {
            if (!CodecError.isInstance(error)) throw error;
          }
        }),
        { numRuns: 300 },
      );
    }
  });
});
