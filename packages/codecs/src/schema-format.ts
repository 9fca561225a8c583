import type { CodecContext } from './codec.js';

/** Schema formats the Confluent-compatible registry API knows. */
export type SchemaType = 'AVRO' | 'PROTOBUF' | 'JSON';

/** A reference from one registered schema to another (e.g. a protobuf import). */
export interface SchemaReference {
  /** Name the referring schema uses, e.g. the import path `common/money.proto`. */
  readonly name: string;
  /** Subject the referenced schema is registered under. */
  readonly subject: string;
  /** Version of that subject. */
  readonly version: number;
}

/** A schema as the registry stores it. */
export interface RegistrySchema {
  /** Its format. */
  readonly schemaType: SchemaType;
  /** Its text: Avro JSON, `.proto` source, or JSON Schema JSON. */
  readonly schema: string;
  /** Schemas it references, if any. */
  readonly references?: readonly SchemaReference[] | undefined;
}

/** Decodes a body (the bytes after the wire-format header) written with one writer schema. */
export type BodyDecoder<T> = (
  bytes: Uint8Array,
  offset: number,
  messageIndexes: readonly number[] | undefined,
  ctx: CodecContext,
) => T | Promise<T>;

/**
 * What a format subpath (`@bus/codecs/avro`, `/protobuf`, `/json`) hands to the registry codec:
 * the writer schema, a body encoder, and decoders for any writer schema found by id. It lets
 * `@bus/codecs/registry` own the wire format without importing avsc or protobufjs itself.
 */
export interface SchemaFormat<T> {
  /** Format of {@link schema}. */
  readonly schemaType: SchemaType;
  /** The writer schema, registered or looked up on first encode. */
  readonly schema: RegistrySchema;
  /** Fully-qualified record/message name, used by the RecordName subject strategies. */
  readonly recordName: string;
  /**
   * Confluent message indexes of the writer message inside its `.proto` file (protobuf only):
   * the path of indexes from the top-level message down to nested ones.
   */
  readonly messageIndexes?: readonly number[] | undefined;
  /**
   * Encodes `value` and returns `prefix` followed by the body in one new array; formats that can
   * write in place avoid the copy of a separate body.
   */
  encodeFramed(value: T, prefix: Uint8Array, ctx: CodecContext): Uint8Array | Promise<Uint8Array>;
  /**
   * Whether `registered` is the same schema as {@link schema} (canonical comparison), so a codec
   * pinned to an id, a version or the latest version never writes bodies under a foreign id.
   */
  matches(registered: RegistrySchema): boolean;
  /**
   * Builds a decoder for bodies written with `writer` (found by schema id). Throws a
   * `CodecError` with code `SCHEMA_MISMATCH` when values of `writer` cannot be read as `T`, or
   * `UNSUPPORTED_SCHEMA` when `writer` is in a form the format cannot read.
   */
  decoderFor(writer: RegistrySchema, ctx: CodecContext): BodyDecoder<T>;
}
