// Encode+decode throughput of @bus/codecs against the raw libraries, on one ~10-field order event.
// Run: pnpm --filter @bus/codecs build && node bench/codecs.bench.ts (Node 24 strips the types).
// Registry rows need the running registry: SCHEMA_REGISTRY_URL or ~/.cache/bus/infra/run/connection.json.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Codec, CodecContext } from '@bus/codecs';
import { avroCodec, avroLogicalTypes, avroSchemaFormat } from '@bus/codecs/avro';
import { jsonCodec, jsonSchemaFormat } from '@bus/codecs/json';
import { protobufCodec, protobufSchemaFormat } from '@bus/codecs/protobuf';
import { registryCodec, SchemaRegistry } from '@bus/codecs/registry';
import avsc from 'avsc';
import protobuf from 'protobufjs';
import { z } from 'zod';

const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const ctx: CodecContext = { topic: `bench-orders-${Date.now().toString(36)}`, role: 'value' };

const avroSchema = {
  type: 'record',
  name: 'OrderPlaced',
  namespace: 'bench.orders',
  fields: [
    { name: 'orderId', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'customerId', type: 'string' },
    { name: 'placedAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'currency', type: 'string' },
    { name: 'totalCents', type: 'long' },
    { name: 'itemCount', type: 'int' },
    { name: 'express', type: 'boolean' },
    { name: 'channel', type: 'string' },
    { name: 'couponCode', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'array', items: 'string' } },
  ],
};

const proto = `
syntax = "proto3";
package bench.orders;
message OrderPlaced {
  string order_id = 1;
  string customer_id = 2;
  int64 placed_at = 3;
  string currency = 4;
  int64 total_cents = 5;
  int32 item_count = 6;
  bool express = 7;
  string channel = 8;
  string coupon_code = 9;
  repeated string tags = 10;
}`;

const order = {
  orderId: '0b6f1f2e-8c1a-4f5e-9d3b-00000000002a',
  customerId: 'customer-42',
  placedAt: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
  currency: 'EUR',
  totalCents: 123450,
  itemCount: 3,
  express: true,
  channel: 'web',
  couponCode: 'WELCOME10',
  tags: ['gift', 'priority'],
};
// Protobuf carries the timestamp as epoch millis (int64); longs decode as strings (lossless).
const protoOrder = { ...order, placedAt: String(order.placedAt.getTime()), totalCents: String(order.totalCents) };
const jsonOrder = { ...order, placedAt: order.placedAt.toISOString() };

const OrderSchema = z.object({
  orderId: z.string(),
  customerId: z.string(),
  placedAt: z.string(),
  currency: z.string(),
  totalCents: z.number().int(),
  itemCount: z.number().int(),
  express: z.boolean(),
  channel: z.string(),
  couponCode: z.string().nullable(),
  tags: z.array(z.string()),
});

type RoundTrip = () => unknown;

/** Messages per second of one encode+decode, as the median of alternating timed rounds. */
function measure(variants: Record<string, RoundTrip>): Record<string, number> {
  const rates: Record<string, number[]> = {};
  for (const [name, run] of Object.entries(variants)) {
    rates[name] = [];
    const warm = performance.now() + ROUND_MS;
    while (performance.now() < warm) for (let i = 0; i < 100; i++) run();
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(variants)) {
      let count = 0;
      const start = performance.now();
      const end = start + ROUND_MS;
      let now = start;
      while (now < end) {
        for (let i = 0; i < 200; i++) run();
        count += 200;
        now = performance.now();
      }
      rates[name]?.push((count * 1000) / (now - start));
    }
  }
  const medians: Record<string, number> = {};
  for (const [name, list] of Object.entries(rates)) {
    const sorted = [...list].sort((a, b) => a - b);
    medians[name] = sorted[Math.floor(sorted.length / 2)] ?? 0;
  }
  return medians;
}

function syncRoundTrip<T>(codec: Codec<T>, value: T): RoundTrip {
  return () => {
    const bytes = codec.encode(value, ctx);
    if (bytes instanceof Promise) throw new Error('expected a warm, synchronous codec');
    const decoded = codec.decode(bytes, ctx);
    if (decoded instanceof Promise) throw new Error('expected a warm, synchronous codec');
    return decoded;
  };
}

function registryUrl(): string | undefined {
  if (process.env.SCHEMA_REGISTRY_URL) return process.env.SCHEMA_REGISTRY_URL;
  try {
    const file = join(homedir(), '.cache/bus/infra/run/connection.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { registry?: { url?: string } }).registry?.url;
  } catch {
    return undefined;
  }
}

async function reachable(registry: SchemaRegistry): Promise<string | undefined> {
  try {
    await registry.subjects({ signal: AbortSignal.timeout(3000) });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const started = performance.now();
const rows: { name: string; rate: number; baseline?: string }[] = [];
function record(results: Record<string, number>, baseline: string): void {
  for (const [name, rate] of Object.entries(results))
    rows.push({ name, rate, ...(name === baseline ? {} : { baseline }) });
}

// JSON
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const json = jsonCodec();
const jsonZod = jsonCodec({ schema: OrderSchema });
record(
  measure({
    'json raw (JSON.stringify/parse + UTF-8)': () =>
      JSON.parse(utf8Decoder.decode(utf8Encoder.encode(JSON.stringify(jsonOrder)))),
    'json @bus/codecs': syncRoundTrip(json, jsonOrder as unknown),
    'json @bus/codecs + zod validation': syncRoundTrip(jsonZod, jsonOrder),
  }),
  'json raw (JSON.stringify/parse + UTF-8)',
);

// Avro: the raw baseline uses the same logical types (Date, uuid), so the ratio is the codec's overhead.
const rawAvro = avsc.Type.forSchema(avroSchema as avsc.Schema, { logicalTypes: { ...avroLogicalTypes } });
const avro = avroCodec({ schema: avroSchema });
record(
  measure({
    'avro raw avsc (toBuffer/fromBuffer)': () => rawAvro.fromBuffer(rawAvro.toBuffer(order)),
    'avro @bus/codecs': syncRoundTrip(avro, order as unknown),
  }),
  'avro raw avsc (toBuffer/fromBuffer)',
);

// Protobuf
const rawType = protobuf.parse(proto).root.lookupType('bench.orders.OrderPlaced');
const toObjectOptions = { longs: String, enums: String, defaults: true, arrays: true, objects: true, oneofs: true };
const pb = protobufCodec({ proto, typeName: 'bench.orders.OrderPlaced' });
record(
  measure({
    'protobuf raw protobufjs (fromObject/encode/decode/toObject)': () =>
      rawType.toObject(rawType.decode(rawType.encode(rawType.fromObject(protoOrder)).finish()), toObjectOptions),
    'protobuf @bus/codecs': syncRoundTrip(pb, protoOrder as unknown),
  }),
  'protobuf raw protobufjs (fromObject/encode/decode/toObject)',
);

// Registry-backed, cache warm.
const url = registryUrl();
const notes: string[] = [];
if (url === undefined) {
  notes.push('registry rows skipped: set SCHEMA_REGISTRY_URL or run `pnpm infra:up`');
} else {
  const registry = new SchemaRegistry({ url, timeoutMs: 5000 });
  const problem = await reachable(registry);
  if (problem !== undefined) {
    notes.push(`registry rows skipped: ${url} is unreachable (${problem})`);
  } else {
    const regAvro = registryCodec({ registry, format: avroSchemaFormat({ schema: avroSchema }) });
    const regProto = registryCodec({
      registry,
      format: protobufSchemaFormat({ proto, typeName: 'bench.orders.OrderPlaced' }),
      subjectNameStrategy: () => `${ctx.topic}-proto-value`,
    });
    const regJson = registryCodec({
      registry,
      format: jsonSchemaFormat({
        jsonSchema: { ...z.toJSONSchema(OrderSchema, { target: 'draft-7' }), title: 'OrderPlaced' },
      }),
      subjectNameStrategy: () => `${ctx.topic}-json-value`,
    });
    // Warm up: register once, then every call is served from the caches.
    await regAvro.decode(await regAvro.encode(order, ctx), ctx);
    await regProto.decode(await regProto.encode(protoOrder, ctx), ctx);
    await regJson.decode(await regJson.encode(jsonOrder, ctx), ctx);
    record(
      measure({
        'avro raw avsc (toBuffer/fromBuffer) ': () => rawAvro.fromBuffer(rawAvro.toBuffer(order)),
        'avro registry-framed (warm)': syncRoundTrip(regAvro, order as unknown),
      }),
      'avro raw avsc (toBuffer/fromBuffer) ',
    );
    record(
      measure({
        'protobuf raw protobufjs ': () =>
          rawType.toObject(rawType.decode(rawType.encode(rawType.fromObject(protoOrder)).finish()), toObjectOptions),
        'protobuf registry-framed (warm)': syncRoundTrip(regProto, protoOrder as unknown),
      }),
      'protobuf raw protobufjs ',
    );
    record(
      measure({
        'json raw ': () => JSON.parse(utf8Decoder.decode(utf8Encoder.encode(JSON.stringify(jsonOrder)))),
        'json registry-framed (warm)': syncRoundTrip(regJson, jsonOrder as unknown),
      }),
      'json raw ',
    );
    registry.close();
  }
}

const rateOf = new Map(rows.map((row) => [row.name, row.rate]));
const width = Math.max(...rows.map((row) => row.name.trim().length));
console.log(`\n@bus/codecs encode+decode round trips per second (median of ${ROUNDS} x ${ROUND_MS} ms rounds)\n`);
console.log(`${'variant'.padEnd(width)}  ${'msgs/s'.padStart(10)}  vs raw`);
console.log(`${'-'.repeat(width)}  ${'-'.repeat(10)}  ------`);
for (const row of rows) {
  const base = row.baseline === undefined ? undefined : rateOf.get(row.baseline);
  const ratio = base === undefined ? '1.00x' : `${(row.rate / base).toFixed(2)}x`;
  console.log(
    `${row.name.trim().padEnd(width)}  ${Math.round(row.rate).toLocaleString('en-US').padStart(10)}  ${ratio}`,
  );
}
for (const note of notes) console.log(`\nnote: ${note}`);
const avroRatio =
  (rateOf.get('avro registry-framed (warm)') ?? 0) / (rateOf.get('avro raw avsc (toBuffer/fromBuffer) ') ?? 1);
if (rateOf.has('avro registry-framed (warm)')) {
  console.log(`\nregistry-backed Avro vs raw avsc: ${avroRatio.toFixed(2)}x (target >= 0.90x)`);
}
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
