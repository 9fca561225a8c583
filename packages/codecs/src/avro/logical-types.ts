import type { Schema, Type, types } from 'avsc';
import { avsc } from '../internal/avsc.js';

const MS_PER_DAY = 86_400_000;

/** A constructor avsc accepts in `ForSchemaOptions.logicalTypes`. */
export type AvroLogicalTypeConstructor = new (schema: Schema, opts?: unknown) => types.LogicalType;

// avsc calls these protected hooks; `_resolve` returns a converter when a writer type can be read.
// When the writer type is logical too, avsc hands the converter the writer's already-converted
// value, so converters accept both the raw and the converted form.
abstract class BusLogicalType extends avsc.types.LogicalType {
  protected readsFrom(type: Type, logicalName: string, underlying: string): boolean {
    const name = (type as { typeName?: string }).typeName;
    return name === `logical:${logicalName}` || name === underlying || name === `abstract:${underlying}`;
  }
}

// With `longs: 'bigint'` the underlying long arrives as a bigint.
function asDate(value: number | bigint | Date, msPerUnit: number): Date {
  if (value instanceof Date) return value;
  return new Date(Math.floor(Number(value) * msPerUnit));
}

/** `timestamp-millis` (long): `Date` ↔ milliseconds since the epoch. Accepts a `Date` or a number of ms. */
class TimestampMillis extends BusLogicalType {
  protected override _fromValue(value: number | bigint): Date {
    return asDate(value, 1);
  }
  protected override _toValue(value: unknown): number | undefined {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
    return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
  }
  protected override _resolve(type: Type): ((value: number | bigint | Date) => Date) | undefined {
    return this.readsFrom(type, 'timestamp-millis', 'long') ? (value) => asDate(value, 1) : undefined;
  }
}

/**
 * `timestamp-micros` (long): `Date` ↔ microseconds since the epoch. A `Date` holds milliseconds,
 * so decoding drops sub-millisecond digits; use a plain `long` when they matter.
 */
class TimestampMicros extends BusLogicalType {
  protected override _fromValue(value: number | bigint): Date {
    return asDate(value, 1 / 1000);
  }
  protected override _toValue(value: unknown): number | undefined {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime() * 1000;
    return undefined;
  }
  protected override _resolve(type: Type): ((value: number | bigint | Date) => Date) | undefined {
    return this.readsFrom(type, 'timestamp-micros', 'long') ? (value) => asDate(value, 1 / 1000) : undefined;
  }
}

/** `date` (int): `Date` at UTC midnight ↔ days since the epoch. The time of day of a `Date` is dropped. */
class DateType extends BusLogicalType {
  protected override _fromValue(value: number): Date {
    return new Date(value * MS_PER_DAY);
  }
  protected override _toValue(value: unknown): number | undefined {
    if (value instanceof Date && !Number.isNaN(value.getTime())) return Math.floor(value.getTime() / MS_PER_DAY);
    return undefined;
  }
  protected override _resolve(type: Type): ((value: number | bigint | Date) => Date) | undefined {
    return this.readsFrom(type, 'date', 'int') ? (value) => asDate(value, MS_PER_DAY) : undefined;
  }
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `uuid` (string): a UUID string, checked on encode and decode. */
class UuidType extends BusLogicalType {
  protected override _fromValue(value: string): string {
    if (!UUID_PATTERN.test(value)) throw new Error('invalid uuid string');
    return value;
  }
  protected override _toValue(value: unknown): string | undefined {
    return typeof value === 'string' && UUID_PATTERN.test(value) ? value : undefined;
  }
  protected override _resolve(type: Type): ((value: string) => string) | undefined {
    return this.readsFrom(type, 'uuid', 'string') ? (value) => this._fromValue(value) : undefined;
  }
}

const DECIMAL_PATTERN = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * `decimal` (bytes or fixed, with `precision` and `scale`): a decimal string such as `"-12.50"`
 * ↔ a two's-complement big-endian unscaled integer. Strings keep every digit (numbers would
 * round); encoding refuses more fraction digits than `scale` or more digits than `precision`.
 */
class DecimalType extends BusLogicalType {
  readonly #precision: number;
  readonly #scale: number;
  readonly #size: number | undefined;

  constructor(schema: Schema, opts?: unknown) {
    super(schema, opts);
    const attrs = schema as { precision?: unknown; scale?: unknown; size?: unknown };
    const precision = attrs.precision;
    const scale = attrs.scale ?? 0;
    if (typeof precision !== 'number' || !Number.isInteger(precision) || precision < 1) {
      throw new Error('decimal needs an integer precision >= 1');
    }
    if (typeof scale !== 'number' || !Number.isInteger(scale) || scale < 0 || scale > precision) {
      throw new Error('decimal scale must be an integer from 0 to precision');
    }
    this.#precision = precision;
    this.#scale = scale;
    this.#size = typeof attrs.size === 'number' ? attrs.size : undefined;
  }

  // avsc asks each logical type to export its own attributes when a schema is serialized.
  protected override _export(attrs: Schema): void {
    const out = attrs as { precision?: number; scale?: number };
    out.precision = this.#precision;
    out.scale = this.#scale;
  }

  protected override _fromValue(value: Buffer): string {
    if (value.length === 0) return '0';
    let unscaled = 0n;
    for (const byte of value) unscaled = (unscaled << 8n) | BigInt(byte);
    if ((value[0] ?? 0) & 0x80) unscaled -= 1n << BigInt(value.length * 8);
    const negative = unscaled < 0n;
    const digits = (negative ? -unscaled : unscaled).toString().padStart(this.#scale + 1, '0');
    const whole = digits.slice(0, digits.length - this.#scale);
    const fraction = digits.slice(digits.length - this.#scale);
    return `${negative ? '-' : ''}${whole}${this.#scale > 0 ? `.${fraction}` : ''}`;
  }

  protected override _toValue(value: unknown): Buffer | undefined {
    if (typeof value !== 'string') return undefined;
    const match = DECIMAL_PATTERN.exec(value);
    if (match === null) return undefined;
    const fraction = match[3] ?? '';
    if (fraction.length > this.#scale) return undefined;
    const digits = ((match[2] ?? '') + fraction.padEnd(this.#scale, '0')).replace(/^0+(?=\d)/, '');
    if (digits.length > this.#precision) return undefined;
    let unscaled = BigInt(digits);
    if (match[1] === '-') unscaled = -unscaled;
    return toTwosComplement(unscaled, this.#size);
  }

  protected override _resolve(type: Type): ((value: string) => string) | undefined {
    const sameShape = type instanceof DecimalType && type.#precision === this.#precision && type.#scale === this.#scale;
    return sameShape ? (value) => value : undefined;
  }
}

function toTwosComplement(value: bigint, size: number | undefined): Buffer | undefined {
  let length = 1;
  while (value >= 1n << BigInt(length * 8 - 1) || value < -(1n << BigInt(length * 8 - 1))) length++;
  if (size !== undefined) {
    if (length > size) return undefined;
    length = size;
  }
  const out = Buffer.alloc(length);
  let rest = BigInt.asUintN(length * 8, value);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/**
 * Implementations of the standard Avro logical types, used by default by `avroCodec` and
 * `avroSchemaFormat`: `timestamp-millis`, `timestamp-micros` and `date` as `Date`, `uuid` as a
 * checked string, `decimal` as a lossless decimal string.
 */
export const avroLogicalTypes: Readonly<Record<string, AvroLogicalTypeConstructor>> = Object.freeze({
  'timestamp-millis': TimestampMillis,
  'timestamp-micros': TimestampMicros,
  date: DateType,
  uuid: UuidType,
  decimal: DecimalType,
}) as Readonly<Record<string, AvroLogicalTypeConstructor>>;
