import { CodecError } from '@bus/codecs';
import { avroSchemaFormat } from '@bus/codecs/avro';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { registryCodec } from '@bus/codecs/registry';
import { uniqueName } from '@bus/test-infra';
import { afterAll, describe, expect, it } from 'vitest';
import { type OrderPlaced, orderSchemaV1, orderSchemaV2, sampleOrder } from './fixtures.ts';
import { realRegistry } from './support/registry.ts';

const registry = realRegistry();
afterAll(() => registry.close());

type OrderV2 = OrderPlaced & { priority: number };

/** v1 with `itemCount` turned into a string: not readable from v1 data, so BACKWARD-incompatible. */
const incompatibleSchema = {
  ...orderSchemaV1,
  fields: orderSchemaV1.fields.map((field) =>
    field.name === 'itemCount' ? { name: 'itemCount', type: 'string' } : field,
  ),
};

describe('schema evolution through the real registry', () => {
  it('a compatible change (field with a default) registers; old and new readers both read both versions', async () => {
    const topic = uniqueName('codecs-evolve');
    const subject = `${topic}-value`;
    await registry.setCompatibility(subject, 'FULL');
    const v1 = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
    const v2 = registryCodec({ registry, format: avroSchemaFormat<OrderV2>({ schema: orderSchemaV2 }) });
    const ctx = { topic, role: 'value' as const };

    const order = sampleOrder(21);
    const fromV1 = await v1.encode(order, ctx);
    const fromV2 = await v2.encode({ ...order, priority: 5 }, ctx);
    expect(await registry.versions(subject)).toEqual([1, 2]);

    expect(await v2.decode(fromV1, ctx)).toEqual({ ...order, priority: 0 });
    expect(await v1.decode(fromV2, ctx)).toEqual(order);
    // Fresh readers resolve writer schemas fetched by id.
    const freshV1 = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
    const freshV2 = registryCodec({ registry, format: avroSchemaFormat<OrderV2>({ schema: orderSchemaV2 }) });
    expect(await freshV1.decode(fromV2, ctx)).toEqual(order);
    expect(await freshV2.decode(fromV1, ctx)).toEqual({ ...order, priority: 0 });
  });

  it('an incompatible change fails with INCOMPATIBLE_SCHEMA and registers nothing', async () => {
    const topic = uniqueName('codecs-incompatible');
    const subject = `${topic}-value`;
    await registry.setCompatibility(subject, 'BACKWARD');
    const v1 = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
    await v1.encode(sampleOrder(), { topic, role: 'value' });
    const before = await registry.versions(subject);

    const broken = registryCodec({ registry, format: avroSchemaFormat({ schema: incompatibleSchema }) });
    const error = await Promise.resolve(
      broken.encode({ ...sampleOrder(), itemCount: '3' }, { topic, role: 'value' }),
    ).catch((e: unknown) => e);
    expect(CodecError.isInstance(error)).toBe(true);
    expect((error as CodecError).code).toBe('INCOMPATIBLE_SCHEMA');
    expect((error as CodecError).subject).toBe(subject);
    expect((error as CodecError).topic).toBe(topic);
    expect(await registry.versions(subject)).toEqual(before);
  });

  it('checkCompatibility tells a CI job whether a change may ship, without registering', async () => {
    const subject = `${uniqueName('codecs-ci')}-value`;
    const v1 = avroSchemaFormat({ schema: orderSchemaV1 });
    expect(await registry.checkCompatibility(subject, v1.schema)).toEqual({ compatible: true, messages: [] });
    await registry.setCompatibility(subject, 'BACKWARD');
    expect(await registry.getCompatibility(subject)).toBe('BACKWARD');
    await registry.register(subject, v1.schema);

    const compatible = await registry.checkCompatibility(subject, avroSchemaFormat({ schema: orderSchemaV2 }).schema);
    expect(compatible.compatible).toBe(true);
    const incompatible = await registry.checkCompatibility(
      subject,
      avroSchemaFormat({ schema: incompatibleSchema }).schema,
    );
    expect(incompatible.compatible).toBe(false);
    expect(await registry.versions(subject)).toEqual([1]);
  });

  it('protobuf: adding a field is compatible; changing a field type is refused', async () => {
    const topic = uniqueName('codecs-proto-evolve');
    const subject = `${topic}-value`;
    await registry.setCompatibility(subject, 'BACKWARD');
    const v1Proto = 'syntax = "proto3";\npackage evo;\nmessage Item { string id = 1; }\n';
    const v2Proto = 'syntax = "proto3";\npackage evo;\nmessage Item { string id = 1; int32 count = 2; }\n';
    const badProto = 'syntax = "proto3";\npackage evo;\nmessage Item { int64 id = 1; }\n';
    const ctx = { topic, role: 'value' as const };
    const v1 = registryCodec({ registry, format: protobufSchemaFormat({ proto: v1Proto, typeName: 'evo.Item' }) });
    const v2 = registryCodec({ registry, format: protobufSchemaFormat({ proto: v2Proto, typeName: 'evo.Item' }) });
    const fromV1 = await v1.encode({ id: 'a' }, ctx);
    const fromV2 = await v2.encode({ id: 'b', count: 2 }, ctx);
    expect(await v2.decode(fromV1, ctx)).toEqual({ id: 'a', count: 0 });
    expect(await v1.decode(fromV2, ctx)).toEqual({ id: 'b' });
    const bad = registryCodec({ registry, format: protobufSchemaFormat({ proto: badProto, typeName: 'evo.Item' }) });
    await expect(Promise.resolve(bad.encode({ id: '1' }, ctx))).rejects.toMatchObject({ code: 'INCOMPATIBLE_SCHEMA' });
    expect(await registry.versions(subject)).toEqual([1, 2]);
  });

  it('lookup, latest and pinned modes write existing ids and refuse foreign schemas', async () => {
    const topic = uniqueName('codecs-modes');
    const subject = `${topic}-value`;
    const ctx = { topic, role: 'value' as const };
    const v1Format = avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 });

    const lookupOnly = registryCodec({ registry, format: v1Format, schema: 'lookup' });
    await expect(Promise.resolve(lookupOnly.encode(sampleOrder(), ctx))).rejects.toMatchObject({
      code: 'SCHEMA_NOT_REGISTERED',
    });
    expect(await registry.versions(subject)).toEqual([]);

    const id = await registry.register(subject, v1Format.schema);
    expect(await lookupOnly.prepare(topic)).toBe(id);
    const latest = registryCodec({ registry, format: v1Format, schema: 'latest' });
    const pinnedVersion = registryCodec({ registry, format: v1Format, schema: { version: 1 } });
    const pinnedId = registryCodec({ registry, format: v1Format, schema: { id } });
    expect(await pinnedId.prepare(undefined)).toBe(id); // a pinned id needs no topic
    for (const codec of [lookupOnly, latest, pinnedVersion, pinnedId]) {
      const bytes = await codec.encode(sampleOrder(), ctx);
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(1)).toBe(id);
    }

    await registry.setCompatibility(subject, 'NONE');
    await registry.register(subject, avroSchemaFormat({ schema: orderSchemaV2 }).schema);
    const staleLatest = registryCodec({ registry, format: v1Format, schema: 'latest' });
    await expect(Promise.resolve(staleLatest.encode(sampleOrder(), ctx))).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
    });
  });
});
