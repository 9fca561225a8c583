// CPU cost of reading a fetched record's headers since binary header values (core's
// `binaryHeaders`): the text-only reading before them is the baseline, in the same run.
// Both variants are copies of the header steps of partition-state.ts (detach) and
// consumer-message.ts (the received message), before and after; internals are not exported from
// the built package, so the bench carries them. Keep them in step with the sources.
// Run: node bench/header-decode.bench.ts [records]   (no broker needed; about 10 s)
// Writes bench/results/header-decode.md.
import { isUtf8 } from 'node:buffer';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Raw = Buffer | string | null | (Buffer | string | null)[] | undefined;
type RawHeaders = Record<string, Raw>;

const RECORDS = Number(process.argv[2] ?? 200_000);
const ROUNDS = 5;

// ---- before: every value is text ----
function detachBefore(raw: RawHeaders): RawHeaders {
  const headers: RawHeaders = {};
  for (const name in raw) {
    const header = raw[name];
    if (header === undefined || header === null) continue;
    headers[name] = Array.isArray(header) ? header.map((h) => String(h)) : header.toString();
  }
  return headers;
}
function readBefore(raw: RawHeaders): { headers: Record<string, string> } {
  let headers: Record<string, string> | undefined;
  for (const name in raw) {
    const value = raw[name];
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last === undefined || last === null) continue;
    const text = typeof last === 'string' ? last : last.toString();
    if (name === 'bus-message-id') continue;
    headers ??= {};
    headers[name] = text;
  }
  return { headers: headers ?? {} };
}

// ---- after: text when valid UTF-8, else bytes ----
function ownValue(value: Buffer | string | null): string | Buffer {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  const text = value.toString();
  return !text.includes('\uFFFD') || isUtf8(value) ? text : Buffer.from(value);
}
function detachAfter(raw: RawHeaders): RawHeaders {
  const headers: RawHeaders = {};
  for (const name in raw) {
    const header = raw[name];
    if (header === undefined || header === null) continue;
    headers[name] = Array.isArray(header) ? header.map(ownValue) : ownValue(header);
  }
  return headers;
}
function headerValue(value: Raw): string | Uint8Array | undefined {
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  if (last === undefined || last === null) return undefined;
  if (typeof last === 'string') return last;
  const text = last.toString();
  return !text.includes('\uFFFD') || isUtf8(last) ? text : new Uint8Array(last.buffer, last.byteOffset, last.length);
}
function readAfter(raw: RawHeaders): { headers: Record<string, string>; binaryHeaders?: Record<string, Uint8Array> } {
  let headers: Record<string, string> | undefined;
  let binaryHeaders: Record<string, Uint8Array> | undefined;
  for (const name in raw) {
    const value = headerValue(raw[name]);
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      binaryHeaders ??= {};
      binaryHeaders[name] = value;
    } else if (name !== 'bus-message-id') {
      headers ??= {};
      headers[name] = value;
    }
  }
  const message: { headers: Record<string, string>; binaryHeaders?: Record<string, Uint8Array> } = {
    headers: headers ?? {},
  };
  if (binaryHeaders !== undefined) message.binaryHeaders = binaryHeaders;
  return message;
}

/** Records as kafkajs hands them out: header values are views of one fetch response. */
function records(binary: boolean): RawHeaders[] {
  const response = Buffer.alloc(RECORDS * 400);
  let at = 0;
  const view = (bytes: Buffer): Buffer => {
    bytes.copy(response, at);
    const slice = response.subarray(at, at + bytes.length);
    at += bytes.length;
    return slice;
  };
  return Array.from({ length: RECORDS }, (_, i) => {
    // cqrs's eight CloudEvents headers, plus the id header.
    const headers: RawHeaders = {
      'bus-message-id': view(Buffer.from(crypto.randomUUID())),
      ce_specversion: view(Buffer.from('1.0')),
      ce_id: view(Buffer.from(crypto.randomUUID())),
      ce_source: view(Buffer.from('/orders/service')),
      ce_type: view(Buffer.from('com.example.order.placed.v1')),
      ce_time: view(Buffer.from(new Date(1_700_000_000_000 + i).toISOString())),
      ce_subject: view(Buffer.from(`order-${i}`)),
      'content-type': view(Buffer.from('application/json')),
      ce_aggregateid: view(Buffer.from(`order-${i % 1000}`)),
    };
    // Spring's binary correlation id: 16 bytes, not valid UTF-8.
    if (binary) headers.kafka_correlationId = view(Buffer.from([0xff, ...Array.from({ length: 15 }, (_, j) => j)]));
    return headers;
  });
}

function cpuUsPerRecord(input: RawHeaders[], detach: (r: RawHeaders) => RawHeaders, read: (r: RawHeaders) => unknown) {
  let sink = 0;
  const start = process.cpuUsage();
  for (const raw of input) {
    const message = read(detach(raw)) as { headers: Record<string, string> };
    sink += message.headers.ce_id === undefined ? 0 : 1;
  }
  const used = process.cpuUsage(start);
  if (sink !== input.length) throw new Error('headers lost');
  return (used.user + used.system) / input.length;
}

const rows: string[] = [];
for (const binary of [false, true]) {
  const input = records(binary);
  let before = Number.POSITIVE_INFINITY;
  let after = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating, best of the rounds: the least disturbed by other work on the machine.
    before = Math.min(before, cpuUsPerRecord(input, detachBefore, readBefore));
    after = Math.min(after, cpuUsPerRecord(input, detachAfter, readAfter));
  }
  const workload = binary ? '9 text headers + 1 binary (16 bytes)' : '9 text headers (cqrs CloudEvents + id)';
  rows.push(`| ${workload} | ${before.toFixed(3)} | ${after.toFixed(3)} | ${(after / before).toFixed(2)}x |`);
}
const peakRssMb = (process.resourceUsage().maxRSS / 1024).toFixed(0);
const table = [
  `Reading a fetched record's headers (detach + received message), ${RECORDS.toLocaleString('en')} records, best of ${ROUNDS} rounds.`,
  `Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; peak RSS of the run ${peakRssMb} MB.`,
  '',
  '| workload | before: text only (CPU µs/record) | after: text or bytes (CPU µs/record) | ratio |',
  '| --- | --- | --- | --- |',
  ...rows,
  '',
  'Before, a binary value became text with U+FFFD replacement characters (lossy); after, it is kept as bytes.',
  'The text-only cost is one scan of each decoded value for U+FFFD (no allocation). In context: kafkajs',
  'spends about 1.7 µs per header in its record codec (packages/cqrs/bench/results), so the difference',
  'for 9 headers is well under 1% of consuming a record.',
].join('\n');
console.log(table);
const out = fileURLToPath(new URL('results/', import.meta.url));
mkdirSync(out, { recursive: true });
writeFileSync(`${out}header-decode.md`, `# Header decoding: text-only vs binary-aware\n\n${table}\n`);
