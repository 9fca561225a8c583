import type { Enum, Field, Type } from 'protobufjs';
import type { CodecIssue } from '../errors.js';
import { protobuf } from '../internal/protobufjs.js';

const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);
const LONGS = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const FLOATS = new Set(['double', 'float']);
const INTEGER_TEXT = /^-?\d+$/;

function isLongLike(value: unknown): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  if (typeof value === 'bigint') return true;
  if (typeof value === 'string') return INTEGER_TEXT.test(value);
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value;
}

function checkScalar(field: Field, typeName: string, value: unknown): string | undefined {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    const values = (resolved as Enum).values;
    if (typeof value === 'string') return value in values ? undefined : `not a value of enum ${resolved.name}`;
    return typeof value === 'number' && Number.isInteger(value) ? undefined : 'enum name or number expected';
  }
  if (INT32.has(typeName)) {
    return typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31
      ? undefined
      : 'int32 expected';
  }
  if (UINT32.has(typeName)) {
    return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 2 ** 32
      ? undefined
      : 'uint32 expected';
  }
  if (LONGS.has(typeName)) return isLongLike(value) ? undefined : 'integer, bigint, decimal string or Long expected';
  if (FLOATS.has(typeName)) return typeof value === 'number' ? undefined : 'number expected';
  if (typeName === 'bool') return typeof value === 'boolean' ? undefined : 'boolean expected';
  if (typeName === 'string') return typeof value === 'string' ? undefined : 'string expected';
  if (typeName === 'bytes') {
    return value instanceof Uint8Array || typeof value === 'string'
      ? undefined
      : 'bytes (Uint8Array or base64) expected';
  }
  return undefined;
}

/**
 * Checks a plain object against a message type before `fromObject`, which would otherwise coerce
 * wrong values silently (e.g. `"abc"` into an int32 field becomes 0). Returns every problem.
 */
export function checkMessage(type: Type, value: unknown, path = '', issues: CodecIssue[] = []): CodecIssue[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push({ path, message: `object expected for ${type.name}` });
    return issues;
  }
  const record = value as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const fieldValue = record[field.name];
    if (fieldValue === undefined || fieldValue === null) continue;
    const fieldPath = path === '' ? field.name : `${path}.${field.name}`;
    if (field.map) {
      if (typeof fieldValue !== 'object' || Array.isArray(fieldValue)) {
        issues.push({ path: fieldPath, message: 'map (object) expected' });
        continue;
      }
      for (const [key, entry] of Object.entries(fieldValue as Record<string, unknown>)) {
        checkValue(field, entry, `${fieldPath}.${key}`, issues);
      }
    } else if (field.repeated) {
      if (!Array.isArray(fieldValue)) {
        issues.push({ path: fieldPath, message: 'array expected' });
        continue;
      }
      fieldValue.forEach((entry, index) => {
        checkValue(field, entry, `${fieldPath}.${index}`, issues);
      });
    } else {
      checkValue(field, fieldValue, fieldPath, issues);
    }
  }
  return issues;
}

function checkValue(field: Field, value: unknown, path: string, issues: CodecIssue[]): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) {
    checkMessage(resolved as Type, value, path, issues);
    return;
  }
  const problem = checkScalar(field, field.type, value);
  if (problem !== undefined) issues.push({ path, message: problem });
}
