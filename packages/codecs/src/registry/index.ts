/**
 * @bus/codecs/registry: a Confluent-compatible schema registry client and the registry codec that
 * frames Avro, Protobuf and JSON Schema payloads in the Confluent wire format. Formats come from
 * `@bus/codecs/avro`, `/protobuf` and `/json`; this subpath itself needs no peer dependency.
 */
export {
  type CheckCompatibilityOptions,
  type CompatibilityLevel,
  type CompatibilityResult,
  type RegistryCallOptions,
  SchemaRegistry,
  type SchemaRegistryOptions,
  type SubjectVersion,
} from './client.js';
export {
  type RegistryCodec,
  type RegistryCodecOptions,
  registryCodec,
  type SchemaSelection,
  type SubjectInfo,
  type SubjectNameStrategy,
} from './codec.js';
export type { RegistryBasicAuth, RegistryTlsOptions } from './http.js';
export {
  decodeHeader,
  encodeHeader,
  encodeMessageIndexes,
  HEADER_SIZE,
  MAGIC_BYTE,
  type WireHeader,
} from './wire-format.js';
