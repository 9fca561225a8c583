/**
 * @bus/codecs/json: JSON in UTF-8, optionally validated and typed by any Standard Schema
 * validator (zod 4, valibot, arktype, ...). No peer dependency.
 */
export { type BigIntMode, type JsonCodecBaseOptions, type JsonCodecOptions, jsonCodec } from './codec.js';
export { type JsonFormatValue, type JsonSchemaFormatOptions, jsonSchemaFormat } from './registry-format.js';
export type { StandardSchemaV1 } from '../internal/standard-schema.js';
