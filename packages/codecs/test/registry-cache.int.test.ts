import { avroSchemaFormat } from '@bus/codecs/avro';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { registryCodec } from '@bus/codecs/registry';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { type OrderPlaced, orderProto, orderSchemaV1, sampleOrder } from './fixtures.ts';
import { startCountingProxy } from './support/counting-proxy.ts';
import { realRegistry, registryUrl } from './support/registry.ts';

describe('registry caching, measured at a proxy in front of the real registry', () => {
  it('after the first message, encoding and decoding make no HTTP call', async () => {
    await using proxy = await startCountingProxy(registryUrl());
    await using registry = realRegistry(proxy.url);
    const topic = uniqueName('codecs-hot');
    const ctx = { topic, role: 'value' as const };
    const writer = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
    const first = await writer.encode(sampleOrder(0), ctx);
    expect(proxy.requests).toEqual([`POST ${new URL(proxy.url).pathname}/subjects/${topic}-value/versions`]);

    const reader = registryCodec({
      registry: realRegistry(proxy.url),
      format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }),
    });
    await reader.decode(first, ctx);
    const afterWarmUp = proxy.requests.length;
    expect(proxy.count('GET')).toBe(1);

    for (let n = 1; n <= 500; n++) {
      const bytes = writer.encode(sampleOrder(n), ctx);
      // The hot path is synchronous: no promise, no I/O.
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(reader.decode(bytes as Uint8Array, ctx)).toEqual(sampleOrder(n));
    }
    expect(proxy.requests.length).toBe(afterWarmUp);
  });

  it('concurrent first encodes of one schema register it once', async () => {
    await using proxy = await startCountingProxy(registryUrl());
    await using registry = realRegistry(proxy.url);
    const topic = uniqueName('codecs-concurrent');
    const avro = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
    const proto = registryCodec({
      registry,
      format: protobufSchemaFormat({ proto: orderProto, typeName: 'shop.orders.Money' }),
    });
    const encoded = await Promise.all(
      Array.from({ length: 50 }, (_, n) => avro.encode(sampleOrder(n), { topic, role: 'value' })),
    );
    const protoEncoded = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        proto.encode({ currency: 'EUR', units: String(n), nanos: 0 }, { topic, role: 'key' }),
      ),
    );
    expect(proxy.count(`/subjects/${topic}-value/versions`)).toBe(1);
    expect(proxy.count(`/subjects/${topic}-key/versions`)).toBe(1);
    expect(proxy.requests.length).toBe(2);
    expect(new Set(encoded.map((bytes) => Buffer.from(bytes.subarray(0, 5)).toString('hex'))).size).toBe(1);
    expect(new Set(protoEncoded.map((bytes) => Buffer.from(bytes.subarray(0, 6)).toString('hex'))).size).toBe(1);

    // Two codecs sharing one client share its cache too.
    const again = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
    await again.encode(sampleOrder(), { topic, role: 'value' });
    expect(proxy.requests.length).toBe(2);

    // Concurrent first decodes of an unseen id fetch it once.
    const reader = registryCodec({
      registry: realRegistry(proxy.url),
      format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }),
    });
    await Promise.all(encoded.map((bytes) => reader.decode(bytes, { topic, role: 'value' })));
    expect(proxy.count('GET /')).toBe(1);
  });

  it('a registry outage is retryable and poisons no cache: the next call after recovery succeeds', async () => {
    await using proxy = await startCountingProxy(registryUrl());
    await using registry = realRegistry(proxy.url);
    const topic = uniqueName('codecs-outage');
    const ctx = { topic, role: 'value' as const };
    const writer = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });

    proxy.failWith = 503;
    await expect(Promise.resolve(writer.encode(sampleOrder(), ctx))).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      isRetryable: true,
      topic,
    });
    proxy.failWith = undefined;
    const bytes = await writer.encode(sampleOrder(), ctx);

    // A consumer meeting an unseen id during an outage gets a retryable error (nack, not dead-letter).
    await using readerRegistry = realRegistry(proxy.url);
    const reader = registryCodec({
      registry: readerRegistry,
      format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }),
    });
    proxy.failWith = 500;
    await expect(Promise.resolve(reader.decode(bytes, { ...ctx, offset: 4 }))).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      isRetryable: true,
      offset: 4,
    });
    proxy.failWith = undefined;
    expect(await reader.decode(bytes, ctx)).toEqual(sampleOrder());
  });
});
