import { ConfigIssues, createMessage, type Message, type ReceivedMessage } from '@bus/core';
import type { Codec, CodecContext } from './codec.js';
import { CodecError } from './errors.js';

/** Default header naming the event/record type of a marshaled message. */
export const TYPE_HEADER = 'bus-type';
/** Header naming the payload's MIME type. */
export const CONTENT_TYPE_HEADER = 'content-type';

/** How a marshaler derives the message key from a value. */
export type MarshalerKeyOptions<T, K> =
  | {
      /** Message key of a value, e.g. its aggregate id; used as-is (string or bytes). */
      key?: (value: T) => string | Uint8Array;
      keyCodec?: undefined;
    }
  | {
      /** Key value of a value, encoded by {@link keyCodec}. */
      key: (value: T) => K;
      /** Codec of keys, independent of the value codec (e.g. a string key next to an Avro value). */
      keyCodec: Codec<K>;
    };

/** Options of {@link createMarshaler}. */
export type MarshalerOptions<T, K = never> = {
  /** Codec of values. */
  codec: Codec<T>;
  /** Type name written to the {@link typeHeader}, or a function of the value (for unions of events). */
  type?: string | ((value: T) => string);
  /** Header carrying the type name. Default `bus-type`. */
  typeHeader?: string;
} & MarshalerKeyOptions<T, K>;

/** Per-call options of {@link Marshaler.marshal}. */
export interface MarshalOptions {
  /** Topic the message is for (registry codecs derive subjects from it). */
  topic: string;
  /** Extra headers; the marshaler's `content-type` and type headers take precedence. */
  headers?: Record<string, string>;
  /** Message id; a UUID by default. */
  id?: string;
  /** Event time in milliseconds since the epoch. */
  timestamp?: number;
}

/** Per-call options of {@link Marshaler.unmarshal}. */
export interface UnmarshalOptions {
  /** Topic of a plain `Message` (a `ReceivedMessage` carries its own). */
  topic?: string;
}

/**
 * Converts typed values to {@link Message}s and back, so higher layers deal in values only.
 * Every failure is a {@link CodecError}.
 */
export interface Marshaler<T, K = never> {
  /** `content-type` of marshaled payloads. */
  readonly contentType: string;
  /** Header carrying the type name. */
  readonly typeHeader: string;
  /** Encodes `value` (and its key) into a message with `content-type` and type headers. */
  marshal(value: T, options: MarshalOptions): Promise<Message>;
  /**
   * Decodes the payload of `message`. When the marshaler has a fixed type name and the message
   * names another type, fails with `TYPE_MISMATCH` instead of misreading it.
   */
  unmarshal(message: Message | ReceivedMessage, options?: UnmarshalOptions): Promise<T>;
  /** Decodes the key of `message` with the key codec, or returns the raw key when there is none. */
  unmarshalKey(
    message: Message | ReceivedMessage,
    options?: UnmarshalOptions,
  ): Promise<K | string | Uint8Array | undefined>;
  /** The type name a message carries, if any. */
  typeOf(message: Message): string | undefined;
}

function isReceived(message: Message | ReceivedMessage): message is ReceivedMessage {
  return typeof (message as Partial<ReceivedMessage>).partition === 'number';
}

function decodeContext(
  message: Message | ReceivedMessage,
  role: 'key' | 'value',
  options: UnmarshalOptions | undefined,
): CodecContext {
  if (isReceived(message)) {
    return {
      topic: message.topic,
      role,
      headers: message.headers,
      partition: message.partition,
      offset: message.offset,
    };
  }
  return { topic: options?.topic, role, headers: message.headers };
}

/**
 * Creates a {@link Marshaler}.
 *
 * @example
 * const orders = createMarshaler({
 *   codec: jsonCodec({ schema: OrderPlaced }),
 *   type: 'OrderPlaced',
 *   key: (order) => order.orderId,
 * });
 * const message = await orders.marshal(order, { topic: 'orders' });
 */
export function createMarshaler<T, K = never>(options: MarshalerOptions<T, K>): Marshaler<T, K> {
  const issues = new ConfigIssues('createMarshaler');
  const codec = options.codec as Codec<T> | undefined;
  issues.require(
    typeof codec?.encode === 'function' && typeof codec.decode === 'function' && typeof codec.contentType === 'string',
    'codec',
    'must be a Codec (encode, decode, contentType)',
  );
  const type = options.type;
  issues.require(
    type === undefined || typeof type === 'function' || (typeof type === 'string' && type.length > 0),
    'type',
    'must be a non-empty string or a function',
  );
  const typeHeader = options.typeHeader ?? TYPE_HEADER;
  issues.require(typeof typeHeader === 'string' && typeHeader.length > 0, 'typeHeader', 'must be a non-empty string');
  issues.require(options.key === undefined || typeof options.key === 'function', 'key', 'must be a function');
  const keyCodec = options.keyCodec;
  issues.require(
    keyCodec === undefined || (typeof keyCodec.encode === 'function' && typeof keyCodec.decode === 'function'),
    'keyCodec',
    'must be a Codec (encode, decode, contentType)',
  );
  issues.require(keyCodec === undefined || options.key !== undefined, 'key', 'is required with keyCodec');
  issues.throwIfAny();

  const valueCodec = codec as Codec<T>;
  const keyOf = options.key as ((value: T) => unknown) | undefined;
  const fixedType = typeof type === 'string' ? type : undefined;

  async function encodeKey(value: T, topic: string, headers: Record<string, string>) {
    if (keyOf === undefined) return undefined;
    let key: unknown;
    try {
      key = keyOf(value);
    } catch (cause) {
      throw new CodecError('Key function threw', { code: 'ENCODE_FAILED', cause, topic, role: 'key' });
    }
    if (keyCodec !== undefined) return keyCodec.encode(key as K, { topic, role: 'key', headers });
    if (typeof key === 'string' || key instanceof Uint8Array) return key;
    throw new CodecError(`Key function returned ${typeof key}; expected a string or bytes, or set keyCodec`, {
      code: 'ENCODE_FAILED',
      topic,
      role: 'key',
    });
  }

  return {
    contentType: valueCodec.contentType,
    typeHeader,
    async marshal(value, marshalOptions) {
      const { topic } = marshalOptions;
      const headers: Record<string, string> = { ...marshalOptions.headers };
      headers[CONTENT_TYPE_HEADER] = valueCodec.contentType;
      if (type !== undefined) {
        const name = typeof type === 'string' ? type : type(value);
        headers[typeHeader] = name;
      }
      const ctx: CodecContext = { topic, role: 'value', headers };
      const [payload, key] = await Promise.all([valueCodec.encode(value, ctx), encodeKey(value, topic, headers)]);
      const init: Parameters<typeof createMessage>[0] = { payload, headers };
      if (key !== undefined) init.key = key;
      if (marshalOptions.id !== undefined) init.id = marshalOptions.id;
      if (marshalOptions.timestamp !== undefined) init.timestamp = marshalOptions.timestamp;
      return createMessage(init);
    },
    async unmarshal(message, unmarshalOptions) {
      const ctx = decodeContext(message, 'value', unmarshalOptions);
      const named = message.headers[typeHeader];
      if (fixedType !== undefined && named !== undefined && named !== fixedType) {
        throw new CodecError(`Message has type "${named}", expected "${fixedType}"`, {
          code: 'TYPE_MISMATCH',
          topic: ctx.topic,
          partition: ctx.partition,
          offset: ctx.offset,
          role: 'value',
        });
      }
      return valueCodec.decode(message.payload, ctx);
    },
    async unmarshalKey(message, unmarshalOptions) {
      const { key } = message;
      if (key === undefined || keyCodec === undefined) return key;
      const bytes = typeof key === 'string' ? new TextEncoder().encode(key) : key;
      return keyCodec.decode(bytes, decodeContext(message, 'key', unmarshalOptions));
    },
    typeOf(message) {
      return message.headers[typeHeader];
    },
  };
}
