import { ConfigIssues } from '@bus/core';
import type { CodecContext } from '../codec.js';
import { CodecError } from '../errors.js';
import { location } from '../internal/location.js';
import type { StandardSchemaV1 } from '../internal/standard-schema.js';
import { validateStandard } from '../internal/validate.js';
import type { BodyDecoder, RegistrySchema, SchemaFormat } from '../schema-format.js';
import { type BigIntMode, checkJsonOptions, parseJson, stringifyJsonFramed } from './codec.js';

/** Options of {@link jsonSchemaFormat}. */
export interface JsonSchemaFormatOptions<S extends StandardSchemaV1 | undefined> {
  /** The JSON Schema document registered as the writer schema (e.g. `z.toJSONSchema(schema)`). */
  jsonSchema: Record<string, unknown> | string;
  /**
   * A Standard Schema validator that decoded values (and, by default, values to encode) must pass.
   * The registry's JSON Schema is not evaluated locally (that would need a JSON Schema engine);
   * derive both from one source, e.g. a zod schema and `z.toJSONSchema()`.
   */
  schema?: S;
  /** Name for the RecordName subject strategies. Default: the JSON Schema `title`. */
  recordName?: string;
  /** Validate before encoding. Default `true` when a `schema` is given. */
  validateOnEncode?: boolean;
  /** How `bigint` is written; see `jsonCodec`. */
  bigint?: BigIntMode;
}

/** Value type of a {@link jsonSchemaFormat}: the validator's output, or `unknown`. */
export type JsonFormatValue<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : unknown;

/**
 * JSON Schema for `registryCodec()` from `@bus/codecs/registry`: registers `jsonSchema` under the
 * `JSON` schema type and frames UTF-8 JSON bodies in the Confluent wire format.
 */
export function jsonSchemaFormat<S extends StandardSchemaV1 | undefined = undefined>(
  options: JsonSchemaFormatOptions<S>,
): SchemaFormat<JsonFormatValue<S>> {
  const { bigint } = checkJsonOptions(
    { schema: options.schema, validateOnEncode: options.validateOnEncode, bigint: options.bigint },
    'jsonSchemaFormat',
  );
  const issues = new ConfigIssues('jsonSchemaFormat');
  let text = '';
  let title: unknown;
  if (typeof options.jsonSchema === 'string') {
    text = options.jsonSchema;
    try {
      title = (JSON.parse(text) as { title?: unknown }).title;
    } catch {
      issues.add('jsonSchema', 'must be valid JSON');
    }
  } else if (typeof options.jsonSchema === 'object' && options.jsonSchema !== null) {
    text = JSON.stringify(options.jsonSchema);
    title = options.jsonSchema.title;
  } else {
    issues.add('jsonSchema', 'must be a JSON Schema object or its JSON text');
  }
  const recordName = options.recordName ?? (typeof title === 'string' ? title : undefined);
  issues.require(
    options.recordName === undefined || (typeof options.recordName === 'string' && options.recordName.length > 0),
    'recordName',
    'must be a non-empty string',
  );
  issues.throwIfAny();

  const validator = options.schema as StandardSchemaV1 | undefined;
  const validateOnEncode = validator !== undefined && options.validateOnEncode !== false;
  const schema: RegistrySchema = { schemaType: 'JSON', schema: text };

  const decode: BodyDecoder<unknown> = (bytes, offset, _indexes, ctx) => {
    const parsed = parseJson(bytes.subarray(offset), ctx);
    return validator === undefined ? parsed : validateStandard(validator, parsed, ctx, 'Decoded value');
  };

  return {
    schemaType: 'JSON',
    schema,
    recordName: recordName ?? 'unnamed',
    encodeFramed(value: unknown, prefix: Uint8Array, ctx: CodecContext) {
      if (!validateOnEncode || validator === undefined) return stringifyJsonFramed(value, bigint, prefix, ctx);
      const checked = validateStandard(validator, value, ctx, 'Value to encode');
      return checked instanceof Promise
        ? checked.then(() => stringifyJsonFramed(value, bigint, prefix, ctx))
        : stringifyJsonFramed(value, bigint, prefix, ctx);
    },
    matches(registered: RegistrySchema) {
      return registered.schemaType === 'JSON' && canonicalJson(registered.schema) === canonicalJson(text);
    },
    decoderFor(writer: RegistrySchema, ctx: CodecContext) {
      if (writer.schemaType !== 'JSON') {
        throw new CodecError(`Payload was written with a ${writer.schemaType} schema, expected JSON`, {
          code: 'SCHEMA_MISMATCH',
          ...location(ctx),
        });
      }
      return decode;
    },
  } as SchemaFormat<JsonFormatValue<S>>;
}

function canonicalJson(text: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
}
