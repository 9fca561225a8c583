/**
 * @bus/codecs/avro: Avro codecs on avsc (an optional peer dependency), with the standard logical
 * types built in and writer→reader schema resolution.
 */
export { type AvroCodec, type AvroCodecOptions, avroCodec } from './codec.js';
export { type AvroLogicalTypeConstructor, avroLogicalTypes } from './logical-types.js';
export { type AvroSchemaFormatOptions, avroSchemaFormat } from './registry-format.js';
export type { AvroSchemaInput, AvroTypeOptions } from './type.js';
export type { AvroLongs, AvroValue } from './value.js';
