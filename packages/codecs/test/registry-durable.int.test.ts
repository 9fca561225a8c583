import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodecError } from '@bus/codecs';
import { avroSchemaFormat } from '@bus/codecs/avro';
import { registryCodec, SchemaRegistry } from '@bus/codecs/registry';
import { type DedicatedRegistry, startDedicatedRegistry, testInfra, uniqueName } from '@bus/test-infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OrderPlaced, orderSchemaV1, orderSchemaV2, sampleOrder } from './fixtures.ts';

/**
 * A registry restart and a registry outage, on a registry of this file's own (KafkaSQL storage on the
 * shared broker, its own port and topics): the shared registry other tests use is never stopped.
 */
describe('registry restarts and outages (issue 9 defect 12)', () => {
  let registry: DedicatedRegistry;
  let cacheDir: string;
  const topic = uniqueName('codecs-durable');
  const ctx = { topic, role: 'value' as const };
  const client = (options: { cacheDir?: string } = {}) =>
    new SchemaRegistry({ url: registry.url, timeoutMs: 15_000, ...options });
  const reader = (registryClient: SchemaRegistry) =>
    registryCodec({ registry: registryClient, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV2 }) });
  const encoded: Uint8Array[] = [];
  const ids: number[] = [];

  beforeAll(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), 'bus-schema-cache-'));
    registry = await startDedicatedRegistry({ brokers: testInfra().kafka.brokers });
  }, 300_000);
  afterAll(async () => {
    await registry?.close();
    await rm(cacheDir, { recursive: true, force: true });
  }, 120_000);

  it('keeps schema ids across a restart, and messages written before it still decode', async () => {
    {
      await using before = client();
      for (const [n, schema] of [orderSchemaV1, orderSchemaV2].entries()) {
        const writer = registryCodec({ registry: before, format: avroSchemaFormat<OrderPlaced>({ schema }) });
        encoded.push(await writer.encode(sampleOrder(n), ctx));
      }
      ids.push(...encoded.map((bytes) => Buffer.from(bytes).readInt32BE(1)));
      expect(new Set(ids).size).toBe(2);
    }

    await registry.stop();
    await registry.start();

    await using after = client();
    expect((await after.getVersion(`${topic}-value`, 'latest')).id).toBe(ids[1]);
    // Registering the same schemas again finds the same ids; a new schema gets an id of its own.
    const again = await after.register(`${topic}-value`, avroSchemaFormat({ schema: orderSchemaV1 }).schema);
    expect(again).toBe(ids[0]);
    const other = await after.register(uniqueName('codecs-durable-other'), {
      schemaType: 'AVRO',
      schema: JSON.stringify({ type: 'record', name: 'Other', fields: [{ name: 'a', type: 'int' }] }),
    });
    expect(ids).not.toContain(other);
    const decoder = reader(after);
    for (const [n, bytes] of encoded.entries()) {
      expect(await decoder.decode(bytes, ctx)).toMatchObject({ orderId: sampleOrder(n).orderId });
    }
  }, 600_000);

  it('a consumer with a cacheDir, restarted while the registry is down, decodes what it decoded before', async () => {
    expect(encoded).toHaveLength(2);
    {
      // First life: decodes with the registry up; the schemas it fetched are written behind.
      await using first = client({ cacheDir });
      const decoder = reader(first);
      for (const bytes of encoded) await decoder.decode(bytes, ctx);
    }
    await registry.stop();

    // Second life, registry down: preload from disk, then decode with no registry at all.
    await using second = client({ cacheDir });
    expect(await second.preload()).toBe(2);
    const decoder = reader(second);
    for (const [n, bytes] of encoded.entries()) {
      expect(await decoder.decode(bytes, ctx)).toMatchObject({ orderId: sampleOrder(n).orderId });
    }
    // Once warm, decoding is synchronous: the hot path does no I/O, not even on disk.
    expect(decoder.decode(encoded[0]!, ctx)).not.toBeInstanceOf(Promise);

    // Without the cache the same consumer decodes nothing while the registry is down.
    await using uncached = client();
    const failure = await Promise.resolve(reader(uncached).decode(encoded[0]!, ctx)).catch((e: unknown) => e);
    expect(CodecError.isInstance(failure)).toBe(true);
    expect(failure).toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });

    // A damaged cache file is skipped, not fatal; an id it does not hold still fails as unavailable.
    const [folder] = await readdir(cacheDir);
    await writeFile(join(cacheDir, folder!, '999999.json'), '{"id": 999999, "sch');
    await using third = client({ cacheDir });
    expect(await third.preload()).toBe(2);
    await expect(third.getSchema(999_999)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
  }, 600_000);
});
