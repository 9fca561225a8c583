import type { Enum, Field, Type } from 'protobufjs';
import type { CodecIssue } from '../errors.js';
import { protobuf } from '../internal/protobufjs.js';

const INTEGER_TEXT = /^-?\d+$/;

type ScalarCheck = (value: unknown) => string | undefined;

const int32: ScalarCheck = (value) =>
  typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31
    ? undefined
    : 'int32 expected';
const uint32: ScalarCheck = (value) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 2 ** 32 ? undefined : 'uint32 expected';
const long: ScalarCheck = (value) => {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? undefined : 'safe integer expected';
  if (typeof value === 'bigint') return undefined;
  if (typeof value === 'string') return INTEGER_TEXT.test(value) ? undefined : 'integer string expected';
  return typeof value === 'object' && value !== null && 'low' in value && 'high' in value
    ? undefined
    : 'integer, bigint, decimal string or Long expected';
};
const float: ScalarCheck = (value) => (typeof value === 'number' ? undefined : 'number expected');
const bool: ScalarCheck = (value) => (typeof value === 'boolean' ? undefined : 'boolean expected');
const string: ScalarCheck = (value) => (typeof value === 'string' ? undefined : 'string expected');
const bytes: ScalarCheck = (value) =>
  value instanceof Uint8Array || typeof value === 'string' ? undefined : 'bytes (Uint8Array or base64) expected';

const SCALARS: Record<string, ScalarCheck> = {
  int32,
  sint32: int32,
  sfixed32: int32,
  uint32,
  fixed32: uint32,
  int64: long,
  sint64: long,
  sfixed64: long,
  uint64: long,
  fixed64: long,
  double: float,
  float,
  bool,
  string,
  bytes,
};

function enumCheck(type: Enum): ScalarCheck {
  const names = type.values;
  return (value) => {
    if (typeof value === 'string') return Object.hasOwn(names, value) ? undefined : `not a value of enum ${type.name}`;
    return typeof value === 'number' && Number.isInteger(value) ? undefined : 'enum name or number expected';
  };
}

interface FieldCheck {
  name: string;
  shape: 'single' | 'repeated' | 'map';
  message: Type | undefined;
  scalar: ScalarCheck;
}

const accept: ScalarCheck = () => undefined;
// Checks are derived once per message type: encoding is a hot path.
const compiled = new WeakMap<Type, FieldCheck[]>();

function fieldChecks(type: Type): FieldCheck[] {
  let checks = compiled.get(type);
  if (checks !== undefined) return checks;
  checks = type.fieldsArray.map((field: Field) => {
    const resolved = field.resolvedType;
    const message = resolved instanceof protobuf.Type ? (resolved as Type) : undefined;
    const scalar = resolved instanceof protobuf.Enum ? enumCheck(resolved as Enum) : (SCALARS[field.type] ?? accept);
    return { name: field.name, shape: field.map ? 'map' : field.repeated ? 'repeated' : 'single', message, scalar };
  });
  compiled.set(type, checks);
  return checks;
}

function join(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

// Paths are only built when something is wrong or nested: the valid case allocates nothing.
function checkValue(
  check: FieldCheck,
  value: unknown,
  path: string,
  entry: string | number | undefined,
  issues: CodecIssue[],
): void {
  if (check.message === undefined) {
    const problem = check.scalar(value);
    if (problem === undefined) return;
    issues.push({ path: entryPath(path, check.name, entry), message: problem });
    return;
  }
  checkMessage(check.message, value, entryPath(path, check.name, entry), issues);
}

function entryPath(path: string, name: string, entry: string | number | undefined): string {
  const field = join(path, name);
  return entry === undefined ? field : join(field, entry);
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
  for (const check of fieldChecks(type)) {
    const fieldValue = record[check.name];
    if (fieldValue === undefined || fieldValue === null) continue;
    if (check.shape === 'single') {
      checkValue(check, fieldValue, path, undefined, issues);
    } else if (check.shape === 'repeated') {
      if (!Array.isArray(fieldValue)) {
        issues.push({ path: join(path, check.name), message: 'array expected' });
        continue;
      }
      for (let index = 0; index < fieldValue.length; index++) {
        checkValue(check, fieldValue[index], path, index, issues);
      }
    } else {
      if (typeof fieldValue !== 'object' || Array.isArray(fieldValue)) {
        issues.push({ path: join(path, check.name), message: 'map (object) expected' });
        continue;
      }
      for (const [key, entry] of Object.entries(fieldValue as Record<string, unknown>)) {
        checkValue(check, entry, path, key, issues);
      }
    }
  }
  return issues;
}
