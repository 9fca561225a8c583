import type { ConfigIssues } from '@bus/core';
import type { Schema, Type } from 'avsc';
import { describeCause } from '../errors.js';
import { avsc } from '../internal/avsc.js';
import { type AvroLogicalTypeConstructor, avroLogicalTypes } from './logical-types.js';

/**
 * An Avro schema: the parsed JSON (object, or array for a union; `as const` literals welcome),
 * its JSON text, or an avsc `Type`.
 */
export type AvroSchemaInput = Schema | string | Type | { readonly [key: string]: unknown } | readonly unknown[];

/** Options that shape how avsc builds types. */
export interface AvroTypeOptions {
  /**
   * Logical type implementations by name; merged over {@link avroLogicalTypes}. Pass `{}` entries
   * of your own to add types (e.g. a money type).
   */
  logicalTypes?: Record<string, AvroLogicalTypeConstructor>;
}

/** Builds an avsc type, reporting a bad schema as a config issue at `path`. */
export function buildType(
  input: unknown,
  options: AvroTypeOptions,
  issues: ConfigIssues,
  path: string,
): Type | undefined {
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
  try {
    return avsc.Type.forSchema(schema as Schema, {
      logicalTypes: { ...avroLogicalTypes, ...options.logicalTypes },
      wrapUnions: false,
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
