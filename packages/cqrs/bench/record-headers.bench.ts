// CPU per record of each Kafka client's own record encoding and decoding (the code every producer
// and consumer runs, whatever library is on top) for the headers of the cqrs bench's two wire
// formats: the marshaler's 3 (content-type, bus-type, bus-message-id) and the CloudEvents envelope's
// 8. kafkajs takes header values as strings or Buffers: both are measured, to see whether
// @bus/kafka could hand kafkajs a cheaper form. @platformatic/kafka takes Buffers (bus's serializers
// turn names and values into Buffers, which is timed here too).
// Run: node bench/record-headers.bench.ts (packages/cqrs). Reaches into the clients' protocol
// modules, which are not public API: a bench may, library code never does.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const kafkajsRoot = dirname(require.resolve('kafkajs/package.json'));
type Encoded = { buffer: Buffer };
const encodeRecord = require(join(kafkajsRoot, 'src/protocol/recordBatch/record/v0/index.js')) as (
  record: object,
) => Encoded;
const decodeRecord = require(join(kafkajsRoot, 'src/protocol/recordBatch/record/v0/decoder.js')) as (
  decoder: object,
  context: object,
) => unknown;
const Decoder = require(join(kafkajsRoot, 'src/protocol/decoder.js')) as new (
  buffer: Buffer,
) => { readVarInt(): number };

// @platformatic/kafka is @bus/kafka's optional peer: resolved from there.
const kafkaRequire = createRequire(fileURLToPath(import.meta.resolve('@bus/kafka')));
const platformaticRoot = dirname(dirname(kafkaRequire.resolve('@platformatic/kafka'))); // <root>/dist/index.js
const platformatic = (await import(pathToFileURL(join(platformaticRoot, 'dist/protocol/records.js')).href)) as {
  createRecord(message: object, offsetDelta: number, firstTimestamp: bigint): { buffer: Buffer };
  readRecord(reader: object): unknown;
};
const { Reader } = (await import(pathToFileURL(join(platformaticRoot, 'dist/protocol/reader.js')).href)) as {
  Reader: { from(buffer: Buffer): object };
};

const RECORDS = 100_000;
const ROUNDS = 3;
const id = crypto.randomUUID();
const value = Buffer.from(
  JSON.stringify({
    orderId: 'order-42',
    customerId: 'customer-42',
    currency: 'EUR',
    totalCents: 12345,
    itemCount: 3,
    express: true,
    tags: ['gift'],
  }),
);
const key = Buffer.from('order-42');
const formats: Record<string, Record<string, string>> = {
  'no headers': {},
  'marshaler (3)': { 'content-type': 'application/json', 'bus-type': 'OrderPlaced', 'bus-message-id': id },
  'CloudEvents (8)': {
    ce_specversion: '1.0',
    ce_id: id,
    ce_type: 'OrderPlaced',
    ce_source: 'urn:bench',
    ce_time: new Date().toISOString(),
    ce_subject: 'order-42',
    ce_aggregatetype: 'order',
    'content-type': 'application/json',
  },
};

const cpuUs = (): number => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

interface Sample {
  encodeNs: number;
  decodeNs: number;
  bytes: number;
}

/** kafkajs, header values as given (strings), or converted to Buffers by the caller beforehand. */
function kafkajs(headers: Record<string, string>, values: 'strings' | 'Buffers'): Sample {
  const given: Record<string, string | Buffer> =
    values === 'strings'
      ? headers
      : Object.fromEntries(Object.entries(headers).map(([name, text]) => [name, Buffer.from(text)]));
  let encoded: Encoded | undefined;
  let start = cpuUs();
  for (let i = 0; i < RECORDS; i++)
    encoded = encodeRecord({ offsetDelta: i % 500, timestampDelta: 0, key, value, headers: given });
  const encodeNs = ((cpuUs() - start) * 1000) / RECORDS;
  const bytes = (encoded as Encoded).buffer;
  start = cpuUs();
  for (let i = 0; i < RECORDS; i++) {
    const decoder = new Decoder(bytes);
    decoder.readVarInt();
    decodeRecord(decoder, { firstOffset: '0', firstTimestamp: '0' });
  }
  return { encodeNs, decodeNs: ((cpuUs() - start) * 1000) / RECORDS, bytes: bytes.length };
}

/** @platformatic/kafka, names and values turned into Buffers inside the loop, as bus's serializers do. */
function platformaticRecord(headers: Record<string, string>): Sample {
  const entries = Object.entries(headers);
  const timestamp = BigInt(Date.now());
  let encoded: { buffer: Buffer } | undefined;
  let start = cpuUs();
  for (let i = 0; i < RECORDS; i++) {
    const map = new Map<Buffer, Buffer>();
    for (const [name, text] of entries) map.set(Buffer.from(name), Buffer.from(text));
    encoded = platformatic.createRecord({ key, value, headers: map, timestamp }, i % 500, timestamp);
  }
  const encodeNs = ((cpuUs() - start) * 1000) / RECORDS;
  const bytes = (encoded as { buffer: Buffer }).buffer;
  start = cpuUs();
  for (let i = 0; i < RECORDS; i++) platformatic.readRecord(Reader.from(bytes));
  return { encodeNs, decodeNs: ((cpuUs() - start) * 1000) / RECORDS, bytes: bytes.length };
}

const cases: Record<string, (headers: Record<string, string>) => Sample> = {
  'kafkajs, string values': (h) => kafkajs(h, 'strings'),
  'kafkajs, Buffer values': (h) => kafkajs(h, 'Buffers'),
  '@platformatic/kafka': platformaticRecord,
};
const best = new Map<string, Sample>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [client, measure] of Object.entries(cases)) {
    for (const [format, headers] of Object.entries(formats)) {
      const sample = measure(headers);
      const name = `${client}|${format}`;
      const previous = best.get(name);
      if (previous === undefined || sample.encodeNs + sample.decodeNs < previous.encodeNs + previous.decodeNs)
        best.set(name, sample);
    }
  }
}
console.log(`record encode + decode, CPU per record, best of ${ROUNDS} rounds of ${RECORDS} records`);
console.table(
  [...best].map(([name, s]) => {
    const [client, headers] = name.split('|');
    return {
      client,
      headers,
      'record bytes': s.bytes,
      'encode µs': (s.encodeNs / 1000).toFixed(2),
      'decode µs': (s.decodeNs / 1000).toFixed(2),
      'total µs': ((s.encodeNs + s.decodeNs) / 1000).toFixed(2),
    };
  }),
);
