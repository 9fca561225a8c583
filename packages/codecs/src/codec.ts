/** What a codec knows about the bytes it handles. */
export interface CodecContext {
  /** Topic the message is published to or was read from; required by topic-based registry subjects. */
  readonly topic?: string | undefined;
  /** Whether the codec handles the message key or its value. */
  readonly role: 'key' | 'value';
  /** Headers of the message, when there are any. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Partition of a received message, when decoding and known. */
  readonly partition?: number | undefined;
  /** Offset of a received message, when decoding and known. */
  readonly offset?: number | undefined;
}

/**
 * Turns values of type `T` into bytes and back. Either side may be synchronous or asynchronous
 * (a registry codec is asynchronous only until its schema is cached). Every failure is a
 * {@link CodecError}.
 */
export interface Codec<T> {
  /** MIME type of the encoded bytes, written to the `content-type` header by marshalers. */
  readonly contentType: string;
  /** Encodes `value`. */
  encode(value: T, ctx: CodecContext): Uint8Array | Promise<Uint8Array>;
  /** Decodes `bytes`. */
  decode(bytes: Uint8Array, ctx: CodecContext): T | Promise<T>;
}

/** The value type of a codec. */
export type CodecValue<C> = C extends Codec<infer T> ? T : never;

/** Encodes with `codec` and always returns a promise, turning synchronous throws into rejections. */
export async function encodeWith<T>(codec: Codec<T>, value: T, ctx: CodecContext): Promise<Uint8Array> {
  return codec.encode(value, ctx);
}

/** Decodes with `codec` and always returns a promise, turning synchronous throws into rejections. */
export async function decodeWith<T>(codec: Codec<T>, bytes: Uint8Array, ctx: CodecContext): Promise<T> {
  return codec.decode(bytes, ctx);
}
