/**
 * @bus/codecs/protobuf: Protobuf codecs on protobufjs (an optional peer dependency), from `.proto`
 * source, files or a reflection root, plus the registry format with Confluent message indexes.
 */
export { type ProtobufCodec, type ProtobufCodecOptions, protobufCodec } from './codec.js';
export { defaultToObject, type ProtobufSourceOptions } from './message-type.js';
export { type ProtobufSchemaFormatOptions, protobufSchemaFormat } from './registry-format.js';
