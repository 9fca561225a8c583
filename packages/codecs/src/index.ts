/**
 * @bus/codecs: the codec and marshaler contracts, their typed errors, and the bridge that format
 * subpaths use to plug into the schema registry. Heavy formats live in subpaths:
 * `@bus/codecs/json`, `/avro`, `/protobuf`, `/registry`.
 */
export { type Codec, type CodecContext, type CodecValue, decodeWith, encodeWith } from './codec.js';
export {
  CodecError,
  type CodecErrorCode,
  type CodecErrorLocation,
  type CodecErrorOptions,
  type CodecIssue,
} from './errors.js';
export {
  CONTENT_TYPE_HEADER,
  createMarshaler,
  type MarshalOptions,
  type Marshaler,
  type MarshalerKeyOptions,
  type MarshalerOptions,
  TYPE_HEADER,
  type UnmarshalOptions,
} from './marshaler.js';
export type { BodyDecoder, RegistrySchema, SchemaFormat, SchemaReference, SchemaType } from './schema-format.js';
export type { StandardSchemaV1 } from './internal/standard-schema.js';
export { stringCodec, bytesCodec } from './basic-codecs.js';
