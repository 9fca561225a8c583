import type { Message } from '@bus/core';
import { BINARY_KEY_HEADER, CLOUDEVENTS_ID_HEADER, DEFAULT_MESSAGE_ID_HEADER } from '../subscriber-options.js';
import type { DriverRecord } from './driver/types.js';

/** Per-record overhead in a v2 record batch (varints, attributes, deltas), for size estimates. */
const RECORD_OVERHEAD_BYTES = 24;

function toBuffer(bytes: Uint8Array): Buffer {
  // A view, not a copy: payloads can be large and are not mutated on the way out.
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A message converted for the driver, with its estimated size on the wire. */
export interface OutgoingMessage {
  readonly record: DriverRecord;
  readonly bytes: number;
}

/**
 * Converts a bus message to a driver record: payload and key as bytes (string keys as UTF-8),
 * headers as-is (binary ones as their bytes) plus the id header (and the binary-key marker for byte
 * keys), timestamp as the decimal string (the drivers' common form).
 *
 * The default id header is left out when `ce_id` already holds the id (a CloudEvent whose id is the
 * message id): subscribers read the id from there, and every header costs the client time to
 * write and read (about 4 µs on kafkajs). A custom id header (e.g. Watermill's) is always written: someone else reads it.
 */
export function toOutgoingMessage(message: Message, messageIdHeader: string): OutgoingMessage {
  const headers: Record<string, string | Buffer> = { ...message.headers };
  // Written as raw bytes; `publish` already refused a name that is in `headers` too.
  const binaryHeaders = message.binaryHeaders;
  if (binaryHeaders !== undefined) {
    for (const name in binaryHeaders) headers[name] = toBuffer(binaryHeaders[name] as Uint8Array);
  }
  if (messageIdHeader !== DEFAULT_MESSAGE_ID_HEADER || message.headers[CLOUDEVENTS_ID_HEADER] !== message.id) {
    headers[messageIdHeader] = message.id;
  }
  // Tells KafkaSubscriber to hand the key back as bytes even when they happen to be valid UTF-8.
  if (message.key instanceof Uint8Array) headers[BINARY_KEY_HEADER] = '1';
  let bytes = RECORD_OVERHEAD_BYTES + message.payload.byteLength;
  for (const [name, value] of Object.entries(headers)) bytes += name.length + Buffer.byteLength(value) + 2;
  const record: DriverRecord = { value: toBuffer(message.payload), headers };
  if (message.key !== undefined) {
    record.key = typeof message.key === 'string' ? message.key : toBuffer(message.key);
    bytes += typeof message.key === 'string' ? Buffer.byteLength(message.key) : message.key.byteLength;
  }
  if (message.timestamp !== undefined) record.timestamp = String(Math.trunc(message.timestamp));
  return { record, bytes };
}
