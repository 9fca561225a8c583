// CPU per record of kafkajs's own record encoding and decoding (the code every producer and consumer
// runs, whatever library is on top) for the headers of the cqrs bench's two wire formats: the
// marshaler's 3 (content-type, bus-type, bus-message-id) and the CloudEvents envelope's 8. It shows
// what each header costs inside kafkajs, where neither @bus/kafka nor @bus/cqrs can change it.
// Run: node bench/kafkajs-headers.bench.ts (packages/cqrs). Reaches into kafkajs's protocol modules,
// which are not public API: a bench may, library code never does.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('kafkajs/package.json'));
type Encoded = { buffer: Buffer };
const encodeRecord = require(join(root, 'src/protocol/recordBatch/record/v0/index.js')) as (record: object) => Encoded;
const decodeRecord = require(join(root, 'src/protocol/recordBatch/record/v0/decoder.js')) as (
  decoder: object,
  context: object,
) => unknown;
const Decoder = require(join(root, 'src/protocol/decoder.js')) as new (buffer: Buffer) => { readVarInt(): number };

const RECORDS = 100_000;
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

function measure(headers: Record<string, string>): { encodeNs: number; decodeNs: number; bytes: number } {
  let encoded: Encoded | undefined;
  let start = cpuUs();
  for (let i = 0; i < RECORDS; i++)
    encoded = encodeRecord({ offsetDelta: i % 500, timestampDelta: 0, key, value, headers });
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

const best: Record<string, { encodeNs: number; decodeNs: number; bytes: number }> = {};
for (let round = 0; round < 3; round++) {
  for (const [name, headers] of Object.entries(formats)) {
    const sample = measure(headers);
    const previous = best[name];
    if (previous === undefined || sample.encodeNs + sample.decodeNs < previous.encodeNs + previous.decodeNs)
      best[name] = sample;
  }
}
console.log(`kafkajs record encode + decode, CPU per record, best of 3 rounds of ${RECORDS} records`);
console.table(
  Object.entries(best).map(([format, s]) => ({
    headers: format,
    'record bytes': s.bytes,
    'encode µs': (s.encodeNs / 1000).toFixed(2),
    'decode µs': (s.decodeNs / 1000).toFixed(2),
    'total µs': ((s.encodeNs + s.decodeNs) / 1000).toFixed(2),
  })),
);
