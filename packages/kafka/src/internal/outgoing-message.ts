import type { Message } from '@bus/core';
import { BINARY_KEY_HEADER, CLOUDEVENTS_ID_HEADER, DEFAULT_MESSAGE_ID_HEADER } from '../subscriber-options.js';
import type { DriverHeaderMap, DriverHeaders, DriverRecord } from './driver/types.js';

/** Per-record overhead in a v2 record batch (varints, attributes, deltas), for size estimates. */
const RECORD_OVERHEAD_BYTES = 24;

function toBuffer(bytes: Uint8Array): Buffer {
  // A view, not a copy: payloads can be large and are not mutated on the way out.
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The last text value written at each header position and its UTF-8 bytes, for clients that take
 * headers as a `Map` (@platformatic/kafka, whose serializer would otherwise make a new Buffer of
 * every value of every record). Most headers carry the same value record after record
 * (`ce_specversion`, `ce_type`, `content-type`, ...), in the same order; a value equal to the last
 * one at its position reuses its bytes (the client only copies them into its request). Values up to
 * {@link MAX_REMEMBERED_LENGTH} characters, so a value that changes on every record costs a short
 * compare.
 */
const POSITIONS = 16;
const MAX_REMEMBERED_LENGTH = 64;
const lastTexts: string[] = new Array(POSITIONS).fill('');
const lastBytes: Buffer[] = new Array(POSITIONS).fill(Buffer.alloc(0));

function valueBytes(value: string, position: number): Buffer {
  const slot = position < POSITIONS ? position : POSITIONS - 1;
  if (lastTexts[slot] === value) return lastBytes[slot] as Buffer;
  const bytes = Buffer.from(value);
  if (value.length <= MAX_REMEMBERED_LENGTH) {
    lastTexts[slot] = value;
    lastBytes[slot] = bytes;
  }
  return bytes;
}

/** Adds one header to whichever form the record's headers take. */
function put(headers: DriverHeaders | DriverHeaderMap, name: string, value: string | Buffer): number {
  if (headers instanceof Map) headers.set(name, value);
  else headers[name] = value;
  return name.length + Buffer.byteLength(value) + 2;
}

/**
 * Converts a bus message to a driver record for `topic` and appends it to `records`; returns its
 * estimated size on the wire. Payload and key as bytes (string keys as UTF-8), headers as-is
 * (binary ones as their bytes) plus the id header (and the binary-key marker for byte keys),
 * timestamp as the decimal string (the drivers' common form). Headers are a `Map` when
 * `headerMap` (the form @platformatic/kafka takes without converting), with text values already
 * as UTF-8 bytes (see {@link valueBytes}), else an object (kafkajs's, text values as they are:
 * its encoder writes a string as fast as a Buffer).
 *
 * The default id header is left out when `ce_id` already holds the id (a CloudEvent whose id is the
 * message id): subscribers read the id from there, and every header costs the client time to
 * write and read (about 4 µs on kafkajs). A custom id header (e.g. Watermill's) is always written: someone else reads it.
 *
 * Every record has all its fields from the start (one object shape for the whole publish path), and
 * nothing else is allocated for it but its headers.
 */
export function appendRecord(
  records: DriverRecord[],
  topic: string,
  message: Message,
  messageIdHeader: string,
  headerMap = false,
): number {
  const source = message.headers;
  let bytes = RECORD_OVERHEAD_BYTES + message.payload.byteLength;
  let headers: DriverHeaders | DriverHeaderMap;
  if (headerMap) {
    const map: DriverHeaderMap = new Map();
    let position = 0;
    for (const name in source) {
      const value = valueBytes(source[name] as string, position++);
      map.set(name, value);
      bytes += name.length + value.byteLength + 2;
    }
    headers = map;
  } else {
    headers = { ...source };
    for (const name in source) bytes += name.length + Buffer.byteLength(source[name] as string) + 2;
  }
  // Written as raw bytes; `publish` already refused a name that is in `headers` too.
  const binaryHeaders = message.binaryHeaders;
  if (binaryHeaders !== undefined) {
    for (const name in binaryHeaders) bytes += put(headers, name, toBuffer(binaryHeaders[name] as Uint8Array));
  }
  if (messageIdHeader !== DEFAULT_MESSAGE_ID_HEADER || source[CLOUDEVENTS_ID_HEADER] !== message.id) {
    bytes += put(headers, messageIdHeader, message.id);
  }
  const key = message.key;
  // Tells KafkaSubscriber to hand the key back as bytes even when they happen to be valid UTF-8.
  if (key instanceof Uint8Array) bytes += put(headers, BINARY_KEY_HEADER, '1');
  if (key !== undefined) bytes += typeof key === 'string' ? Buffer.byteLength(key) : key.byteLength;
  records.push({
    topic,
    key: key === undefined || typeof key === 'string' ? key : toBuffer(key),
    value: toBuffer(message.payload),
    headers,
    partition: undefined,
    timestamp: message.timestamp === undefined ? undefined : String(Math.trunc(message.timestamp)),
  });
  return bytes;
}
