import { headerBytes, type MessageHeaders } from '@bus/core';

// How the `kafka_*` request/reply headers of NestJS and Spring Kafka are read and written. Both use
// the same names; Nest writes text, Spring (ReplyingKafkaTemplate, @SendTo) bytes.

type HeaderView = MessageHeaders;

const utf8 = new TextEncoder();

/**
 * A UUID as 16 bytes, most significant first: what Spring's `ReplyingKafkaTemplate` sends as
 * `kafka_correlationId` by default (its `CorrelationKey` of a random UUID).
 */
export function uuidBytes(uuid: string): Uint8Array {
  const hex = uuid.replaceAll('-', '');
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** 16 bytes in the UUID's text form (lower case, as `crypto.randomUUID()` writes it). */
export function uuidOf(bytes: Uint8Array): string {
  const hex = hexOf(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A `kafka_correlationId` as a request or reply carried it: `id` is its text form, to match replies
 * and to show handlers; `text` or `bytes` is the value itself, which a reply echoes exactly (Spring
 * compares the bytes).
 */
export type KafkaCorrelation =
  | { readonly id: string; readonly text: string; readonly bytes?: undefined }
  | { readonly id: string; readonly bytes: Uint8Array; readonly text?: undefined };

/**
 * Reads `kafka_correlationId`: a text id as-is (Nest's UUID strings, Spring's with
 * `binaryCorrelation` off); 16 bytes, Spring's default, in UUID form; other bytes as hex.
 */
export function readKafkaCorrelation(message: HeaderView, name: string): KafkaCorrelation | undefined {
  const text = message.headers[name];
  // Longer than 16 characters cannot be 16 bytes: the common text case needs no encoding.
  if (text !== undefined && text.length > 16) return { id: text, text };
  const bytes = message.binaryHeaders?.[name];
  if (bytes !== undefined) return { id: bytes.byteLength === 16 ? uuidOf(bytes) : hexOf(bytes), bytes };
  if (text === undefined || text === '') return undefined;
  // Spring's 16 random bytes are sometimes valid UTF-8, and then arrive as text.
  const encoded = utf8.encode(text);
  return { id: encoded.byteLength === 16 ? uuidOf(encoded) : text, text };
}

const DECIMAL = /^\d{1,10}$/;

/**
 * Reads `kafka_replyPartition`: Nest writes the partition as decimal text, Spring as a 4-byte
 * big-endian int (whose bytes may arrive as text: 0 is four NULs). `undefined` when absent or invalid.
 */
export function readReplyPartition(message: HeaderView, name: string): number | undefined {
  const text = message.headers[name];
  if (text !== undefined && DECIMAL.test(text)) return Number(text);
  const bytes = headerBytes(message, name);
  if (bytes?.byteLength !== 4) return undefined;
  const partition = new DataView(bytes.buffer, bytes.byteOffset, 4).getInt32(0);
  return partition >= 0 ? partition : undefined;
}
