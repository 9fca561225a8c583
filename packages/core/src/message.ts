/**
 * A message as published: an opaque payload with string headers. Transports carry it byte-exact.
 * Build one with {@link createMessage}, {@link textMessage} or {@link jsonMessage}.
 */
export interface Message {
  /** Unique id, a UUID unless the producer chose another. Transports carry it in a header. */
  readonly id: string;
  /** The body, opaque to bus. Codecs turn typed values into payloads. */
  readonly payload: Uint8Array;
  /** String headers. Put binary values through {@link encodeBinaryHeader}. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Partitioning and ordering key: messages with the same key go to the same partition and are
   * handled in order. Bytes are allowed for codec-encoded keys.
   */
  readonly key?: string | Uint8Array;
  /** Event time in milliseconds since the epoch; transports fill in the append time when absent. */
  readonly timestamp?: number;
}

/** Options of {@link ReceivedMessage.nack}. */
export interface NackOptions {
  /** Wait this long before redelivering. Default 0. */
  delayMs?: number;
  /** Why the message was refused, for logs and metrics. */
  reason?: string | Error;
}

/** Where a received message sits in its transport, and how often it was delivered. */
export interface Delivery {
  /** The topic it was read from. */
  readonly topic: string;
  /** The partition it was read from. */
  readonly partition: number;
  /** Its offset in that partition. */
  readonly offset: number;
  /** 1 on first delivery, incremented on every redelivery this transport can observe. */
  readonly deliveryAttempt: number;
}

/** How a received message was settled. */
export type Settlement = 'pending' | 'acked' | 'nacked';

/**
 * A message handed to a consumer. The consumer must settle it exactly once:
 * `ack()` lets the transport commit past it; `nack()` asks for redelivery. Until one of them
 * is called the message counts as in flight, and its offset is never committed.
 */
export interface ReceivedMessage extends Message, Delivery {
  /** `pending` until the first `ack()` or `nack()` takes effect. */
  readonly settlement: Settlement;
  /**
   * Marks the message as processed. Idempotent: returns `true` only for the call that took effect;
   * `false` once the message is settled (an ack after a nack is a no-op).
   */
  ack(): boolean;
  /**
   * Refuses the message so it is delivered again (to this or another member of the group), after
   * `delayMs`. Idempotent: returns `true` only for the call that took effect.
   */
  nack(options?: NackOptions): boolean;
}

/** Fields to build a {@link Message}; everything but the payload is optional. */
export interface MessageInit {
  id?: string;
  payload: Uint8Array;
  headers?: Record<string, string>;
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
