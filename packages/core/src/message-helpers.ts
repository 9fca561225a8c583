import type { Message } from './pubsub.js';

// Building and reading messages. The Message type itself is part of the contract, in pubsub.ts.

/** Fields to build a `Message`; everything but the payload is optional. */
export interface MessageInit {
  id?: string;
  payload: Uint8Array;
  headers?: Record<string, string>;
  /** Binary header values (see `Message.binaryHeaders`); left out of the message when absent. */
  binaryHeaders?: Record<string, Uint8Array>;
  key?: string | Uint8Array;
  timestamp?: number;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Builds a message, generating a UUID id when none is given. */
export function createMessage(init: MessageInit): Message {
  const message: { -readonly [K in keyof Message]: Message[K] } = {
    id: init.id ?? crypto.randomUUID(),
    payload: init.payload,
    headers: init.headers ?? {},
  };
  if (init.binaryHeaders !== undefined) message.binaryHeaders = init.binaryHeaders;
  if (init.key !== undefined) message.key = init.key;
  if (init.timestamp !== undefined) message.timestamp = init.timestamp;
  return message;
}

/** Options of the string and JSON builders: a {@link MessageInit} without the payload. */
export type MessageFields = Omit<MessageInit, 'payload'>;

/** Builds a message whose payload is `text` as UTF-8. */
export function textMessage(text: string, fields: MessageFields = {}): Message {
  return createMessage({ ...fields, payload: utf8Encoder.encode(text) });
}

/** Builds a message whose payload is `value` as JSON in UTF-8, with a `content-type` header. */
export function jsonMessage(value: unknown, fields: MessageFields = {}): Message {
  return createMessage({
    ...fields,
    headers: { 'content-type': 'application/json', ...fields.headers },
    payload: utf8Encoder.encode(JSON.stringify(value)),
  });
}

/** Reads a payload as UTF-8 text. Throws a `TypeError` on invalid UTF-8. */
export function payloadText(message: Pick<Message, 'payload'>): string {
  return utf8Decoder.decode(message.payload);
}

/** Parses a payload as JSON in UTF-8. */
export function payloadJson<T = unknown>(message: Pick<Message, 'payload'>): T {
  return JSON.parse(payloadText(message)) as T;
}

/** A message key as a string, for grouping by key; bytes are rendered as base64. */
export function keyString(key: string | Uint8Array | undefined): string | undefined {
  if (key === undefined || typeof key === 'string') return key;
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('base64');
}

const BINARY_HEADER_PREFIX = 'base64:';

/** Encodes bytes as a header value (base64 with a `base64:` prefix) that survives any transport. */
export function encodeBinaryHeader(bytes: Uint8Array): string {
  return BINARY_HEADER_PREFIX + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes a header value written by {@link encodeBinaryHeader}; `undefined` if it was not one. */
export function decodeBinaryHeader(value: string | undefined): Uint8Array | undefined {
  if (value === undefined || !value.startsWith(BINARY_HEADER_PREFIX)) return undefined;
  return new Uint8Array(Buffer.from(value.slice(BINARY_HEADER_PREFIX.length), 'base64'));
}

/** The headers of a message (or of anything that carries a message's headers, such as a handler's context). */
export interface MessageHeaders {
  readonly headers: Readonly<Record<string, string>>;
  readonly binaryHeaders?: Readonly<Record<string, Uint8Array>> | undefined;
}

/**
 * The value of header `name` as bytes, whether it arrived as text (valid UTF-8, in `headers`) or as
 * bytes (in `binaryHeaders`); `undefined` when absent. Exact either way: valid UTF-8 decodes and
 * encodes back to the same bytes.
 */
export function headerBytes(message: MessageHeaders, name: string): Uint8Array | undefined {
  const binary = message.binaryHeaders?.[name];
  if (binary !== undefined) return binary;
  const text = message.headers[name];
  return text === undefined ? undefined : utf8Encoder.encode(text);
}
