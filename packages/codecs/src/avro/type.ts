import type { ConfigIssues } from '@bus/core';
import type { Schema, Type } from 'avsc';
import { describeCause } from '../errors.js';
import { avsc } from '../internal/avsc.js';
import { type AvroLogicalTypeConstructor, avroLogicalTypes } from './logical-types.js';
import type { AvroLongs } from './value.js';

/**
 * An Avro schema: the parsed JSON (object, or array for a union; `as const` literals welcome),
 * its JSON text, or an avsc `Type`.
 */
export type AvroSchemaInput = Schema | string | Type | { readonly [key: string]: unknown } | readonly unknown[];

/**
 * Options that shape how avsc builds types.
 *
 * @typeParam Longs - The `longs` option, inferred by the codecs to type `long` values.
 * @typeParam CustomLogicalTypes - Names in `logicalTypes`, inferred by the codecs.
 */
export interface AvroTypeOptions<Longs extends AvroLongs = AvroLongs, CustomLogicalTypes extends string = string> {
  /**
   * Logical type implementations by name; merged over {@link avroLogicalTypes}. Add your own
   * (e.g. a money type) by name.
   */
  logicalTypes?: { [Name in CustomLogicalTypes]: AvroLogicalTypeConstructor };
  /**
   * How Avro `long` values are represented. `'number'` (default) refuses values beyond
   * ±2^53 with a typed error instead of rounding them; `'bigint'` decodes every `long` as a
   * `bigint` and encodes bigints or safe-integer numbers.
   */
  longs?: Longs;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// avsc hands custom long types the value as 8 little-endian two's-complement bytes.
const bigintLong = avsc.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(0),
  toBuffer: (value: bigint | number) => {
    const buffer = Buffer.alloc(8);
    buffer.writeBigInt64LE(BigInt(value), 0);
    return buffer;
  },
  fromJSON: (value: unknown) => BigInt(value as string | number),
  toJSON: (value: bigint) => Number(value),
  isValid: (value: unknown) =>
    typeof value === 'bigint' ? value >= INT64_MIN && value <= INT64_MAX : Number.isSafeInteger(value),
  compare: (a: bigint | number, b: bigint | number) => (a < b ? -1 : a > b ? 1 : 0),
});

// The registry entry above covers `"long"` references; the object form `{ "type": "long" }` (a
// logical type the codec does not implement included) is built fresh, so it is hooked here.
function bigintLongFor(schema: unknown, logicalTypes: Record<string, unknown>): Type | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  const { type, logicalType } = schema as { type?: unknown; logicalType?: unknown };
  if (type !== 'long') return undefined;
  return typeof logicalType === 'string' && Object.hasOwn(logicalTypes, logicalType) ? undefined : bigintLong;
}

/** Builds an avsc type, reporting a bad schema as a config issue at `path`. */
export function buildType(
  input: unknown,
  options: AvroTypeOptions,
  issues: ConfigIssues,
  path: string,
): Type | undefined {
  if (options.longs !== undefined && options.longs !== 'number' && options.longs !== 'bigint') {
    issues.add('longs', "must be 'number' or 'bigint'");
    return undefined;
  }
  if (avsc.Type.isType(input)) return input as Type;
  let schema: unknown = input;
  if (typeof input === 'string') {
    try {
      schema = JSON.parse(input);
    } catch {
      // A bare primitive name such as `string` is valid Avro schema text too.
      schema = input;
    }
  }
  if (schema === undefined || schema === null) {
    issues.add(path, 'is required (an Avro schema object, its JSON text, or an avsc Type)');
    return undefined;
  }
  const logicalTypes = { ...avroLogicalTypes, ...options.logicalTypes };
  try {
    return avsc.Type.forSchema(schema as Schema, {
      logicalTypes,
      // Unions are unwrapped (the value is the branch's value) unless two branches share a
      // JavaScript kind, e.g. two records: those are wrapped as `{ 'shop.A': value }`.
      wrapUnions: 'auto',
      // avsc adds every named type to this registry, so each schema needs a fresh object.
      ...(options.longs === 'bigint'
        ? { registry: { long: bigintLong }, typeHook: (inner: unknown) => bigintLongFor(inner, logicalTypes) }
        : {}),
    });
  } catch (cause) {
    issues.add(path, `is not a valid Avro schema: ${describeCause(cause)}`);
    return undefined;
  }
}

/** The fully-qualified name of a named type, or the type name of an unnamed one. */
export function typeName(type: Type): string {
  return type.name ?? (type as { typeName?: string }).typeName ?? 'unknown';
}

/** Collects why `value` is not valid for `type`, as dotted paths. */
export function invalidPaths(type: Type, value: unknown): { path: string; message: string }[] {
  const found: { path: string; message: string }[] = [];
  type.isValid(value, {
    errorHook(path: string[], _any: unknown, invalid: Type) {
      found.push({ path: path.join('.'), message: `not a valid ${typeName(invalid)}` });
    },
  });
  return found;
}
