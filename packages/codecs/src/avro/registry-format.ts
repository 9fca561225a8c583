import { ConfigIssues } from '@bus/core';
import type { Type } from 'avsc';
import type { CodecContext } from '../codec.js';
import { CodecError } from '../errors.js';
import { avsc } from '../internal/avsc.js';
import { location } from '../internal/location.js';
import type { BodyDecoder, RegistrySchema, SchemaFormat } from '../schema-format.js';
import { AvroWriter, createResolver, readAvro } from './codec.js';
import { type AvroSchemaInput, type AvroTypeOptions, buildType, typeName } from './type.js';
import type { AvroLongs, AvroValue } from './value.js';

/**
 * Options of {@link avroSchemaFormat}.
 *
 * @typeParam S - The schema's type, inferred to type the format (see {@link AvroValue}).
 * @typeParam Longs - The `longs` option.
 * @typeParam CustomLogicalTypes - Names in the `logicalTypes` option.
 */
export interface AvroSchemaFormatOptions<
  S extends AvroSchemaInput = AvroSchemaInput,
  Longs extends AvroLongs = AvroLongs,
  CustomLogicalTypes extends string = string,
> extends AvroTypeOptions<Longs, CustomLogicalTypes> {
  /** The schema this service writes with and reads as. Written inline or `as const`, it types the format. */
  schema: S;
}

/**
 * Avro for `registryCodec()` from `@bus/codecs/registry`. Values are written with `schema`;
 * payloads written with any other registered schema are resolved to it (schema evolution), or
 * rejected with `SCHEMA_MISMATCH` when Avro resolution rules forbid it.
 *
 * The value type is inferred from `schema` when it is written inline or `as const` (see
 * {@link AvroValue}); an explicit type argument, `avroSchemaFormat<Order>(...)`, takes precedence.
 */
export function avroSchemaFormat<
  T = never,
  const S extends AvroSchemaInput = AvroSchemaInput,
  const Longs extends AvroLongs = [T] extends [never] ? 'number' : AvroLongs,
  CustomLogicalTypes extends string = [T] extends [never] ? never : string,
>(
  options: AvroSchemaFormatOptions<S, Longs, CustomLogicalTypes>,
): SchemaFormat<[T] extends [never] ? AvroValue<S, Longs, CustomLogicalTypes> : T> {
  type Value = [T] extends [never] ? AvroValue<S, Longs, CustomLogicalTypes> : T;
  const issues = new ConfigIssues('avroSchemaFormat');
  const built = buildType(options.schema, options, issues, 'schema');
  issues.throwIfAny();
  const reader = built as Type;
  const writer = new AvroWriter(reader);
  // Register the schema as the user wrote it (docs, aliases and custom attributes included).
  // A bare primitive name (`string`) is not JSON, and registries want JSON: export those.
  const text =
    typeof options.schema === 'string' && isJson(options.schema)
      ? options.schema
      : typeof options.schema === 'object' && !avsc.Type.isType(options.schema)
        ? JSON.stringify(options.schema)
        : JSON.stringify(reader.schema({ exportAttrs: true }));
  const readerFingerprint = reader.fingerprint('sha256').toString('hex');

  return {
    schemaType: 'AVRO',
    schema: { schemaType: 'AVRO', schema: text },
    recordName: typeName(reader),
    encodeFramed(value: Value, prefix: Uint8Array, ctx: CodecContext) {
      return writer.write(value, prefix, ctx);
    },
    matches(registered: RegistrySchema) {
      if (registered.schemaType !== 'AVRO') return false;
      const issues = new ConfigIssues('registered schema');
      const type = buildType(registered.schema, options, issues, 'schema');
      return type !== undefined && type.fingerprint('sha256').toString('hex') === readerFingerprint;
    },
    decoderFor(registered: RegistrySchema, ctx: CodecContext): BodyDecoder<Value> {
      if (registered.schemaType !== 'AVRO') {
        throw new CodecError(`Payload was written with a ${registered.schemaType} schema, expected AVRO`, {
          code: 'SCHEMA_MISMATCH',
          ...location(ctx),
        });
      }
      const writerType = parseWriter(registered.schema, options, ctx);
      const same = writerType.fingerprint('sha256').toString('hex') === readerFingerprint;
      const resolver = same ? undefined : createResolver(reader, writerType, ctx);
      return (bytes, offset, _indexes, decodeCtx) => readAvro(reader, bytes, offset, resolver, decodeCtx) as Value;
    },
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function parseWriter(text: string, options: AvroTypeOptions, ctx: CodecContext): Type {
  const issues = new ConfigIssues('writer schema');
  const type = buildType(text, options, issues, 'schema');
  if (type === undefined) {
    const detail = issues.issues.map((issue) => issue.message).join('; ');
    throw new CodecError(`Registered writer schema is not valid Avro: ${detail}`, {
      code: 'SCHEMA_MISMATCH',
      ...location(ctx),
    });
  }
  return type;
}
