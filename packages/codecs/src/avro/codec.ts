import { ConfigIssues } from '@bus/core';
import type { Resolver, Type } from 'avsc';
import type { Codec, CodecContext } from '../codec.js';
import { CodecError, describeCause } from '../errors.js';
import { asBuffer } from '../internal/bytes.js';
import { location } from '../internal/location.js';
import { type AvroSchemaInput, type AvroTypeOptions, buildType, invalidPaths, typeName } from './type.js';
import type { AvroLongs, AvroValue } from './value.js';

/**
 * Options of {@link avroCodec}.
 *
 * @typeParam S - The reader schema's type, inferred to type the codec (see {@link AvroValue}).
 * @typeParam Longs - The `longs` option.
 * @typeParam CustomLogicalTypes - Names in the `logicalTypes` option.
 */
export interface AvroCodecOptions<
  S extends AvroSchemaInput = AvroSchemaInput,
  Longs extends AvroLongs = AvroLongs,
  CustomLogicalTypes extends string = string,
> extends AvroTypeOptions<Longs, CustomLogicalTypes> {
  /**
   * The schema values are encoded with, and read as (the reader schema). Written inline or
   * `as const`, it types the codec.
   */
  schema: S;
  /**
   * The schema the bytes to decode were written with, when it differs from {@link schema}:
   * decoding then resolves writer to reader (added fields take defaults, removed ones are
   * skipped). Encoding always uses {@link schema}.
   */
  writerSchema?: AvroSchemaInput;
  /** `content-type` to advertise. Default `application/avro`. */
  contentType?: string;
}

/** An Avro {@link Codec} that also exposes its avsc type. */
export interface AvroCodec<T> extends Codec<T> {
  /** The avsc type of the reader schema. */
  readonly type: Type;
}

const INITIAL_SCRATCH = 1024;

/**
 * Encodes into a reusable scratch buffer and copies out exactly the written bytes (as avsc's own
 * `toBuffer` does), so a prefix such as the registry header costs no extra copy.
 */
export class AvroWriter {
  readonly #type: Type;
  #scratch: Buffer = Buffer.allocUnsafe(INITIAL_SCRATCH);

  constructor(type: Type) {
    this.#type = type;
  }

  /** `prefix` followed by the Avro encoding of `value`. */
  write(value: unknown, prefix: Uint8Array | undefined, ctx: CodecContext): Uint8Array {
    const start = prefix === undefined ? 0 : prefix.length;
    let end: number;
    try {
      end = this.#type.encode(value, this.#scratch, start);
      if (end < 0) {
        this.#scratch = Buffer.allocUnsafe(Math.max(this.#scratch.length * 2, this.#scratch.length - end));
        end = this.#type.encode(value, this.#scratch, start);
      }
    } catch (cause) {
      const issues = invalidPaths(this.#type, value);
      const detail =
        issues.length > 0
          ? issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')
          : 'the value is not valid for this schema'; // avsc's own message quotes the value
      throw new CodecError(`Value does not match Avro schema ${typeName(this.#type)}: ${detail}`, {
        code: 'ENCODE_FAILED',
        cause,
        issues,
        ...location(ctx),
      });
    }
    const out = Buffer.allocUnsafe(end);
    if (prefix !== undefined) out.set(prefix, 0);
    this.#scratch.copy(out, start, start, end);
    return out;
  }
}

/**
 * Decodes one Avro body at `offset`, resolving from `resolver`'s writer schema when given.
 * Truncation, trailing bytes and library failures become {@link CodecError}s.
 */
export function readAvro(
  type: Type,
  bytes: Uint8Array,
  offset: number,
  resolver: Resolver | undefined,
  ctx: CodecContext,
): unknown {
  const buffer = asBuffer(bytes);
  let result: { value: unknown; offset: number };
  try {
    result = type.decode(buffer, offset, resolver);
  } catch (cause) {
    throw new CodecError(`Payload is not valid Avro for ${typeName(type)}: ${describeCause(cause)}`, {
      code: 'INVALID_PAYLOAD',
      cause,
      ...location(ctx),
    });
  }
  if (result.offset < 0) {
    throw new CodecError(`Avro payload for ${typeName(type)} is truncated`, { code: 'TRUNCATED', ...location(ctx) });
  }
  if (result.offset !== buffer.length) {
    throw new CodecError(
      `Avro payload for ${typeName(type)} has ${buffer.length - result.offset} trailing bytes (written with another schema?)`,
      { code: 'SCHEMA_MISMATCH', ...location(ctx) },
    );
  }
  return result.value;
}

/** Builds a resolver reading `writer` data as `reader`, or throws `SCHEMA_MISMATCH`. */
export function createResolver(reader: Type, writer: Type, ctx: CodecContext | undefined): Resolver {
  try {
    return reader.createResolver(writer);
  } catch (cause) {
    throw new CodecError(
      `Avro data written with ${typeName(writer)} cannot be read as ${typeName(reader)}: ${describeCause(cause)}`,
      { code: 'SCHEMA_MISMATCH', cause, ...location(ctx) },
    );
  }
}

/**
 * An Avro codec (avsc). Standard logical types are built in (see `avroLogicalTypes`); pass
 * `writerSchema` to read data written with an older or newer schema.
 *
 * The value type is inferred from `schema` when it is written inline or `as const` (see
 * {@link AvroValue}); an explicit type argument, `avroCodec<Order>(...)`, takes precedence.
 *
 * @example
 * const orderSchema = { type: 'record', name: 'shop.Order', fields: [...] } as const;
 * const codec = avroCodec({ schema: orderSchema }); // AvroCodec<AvroValue<typeof orderSchema>>
 */
export function avroCodec<
  T = never,
  const S extends AvroSchemaInput = AvroSchemaInput,
  const Longs extends AvroLongs = [T] extends [never] ? 'number' : AvroLongs,
  CustomLogicalTypes extends string = [T] extends [never] ? never : string,
>(
  options: AvroCodecOptions<S, Longs, CustomLogicalTypes>,
): AvroCodec<[T] extends [never] ? AvroValue<S, Longs, CustomLogicalTypes> : T> {
  type Value = [T] extends [never] ? AvroValue<S, Longs, CustomLogicalTypes> : T;
  const issues = new ConfigIssues('avroCodec');
  const type = buildType(options.schema, options, issues, 'schema');
  const writerType =
    options.writerSchema === undefined ? undefined : buildType(options.writerSchema, options, issues, 'writerSchema');
  const contentType = options.contentType ?? 'application/avro';
  issues.require(
    typeof contentType === 'string' && contentType.length > 0,
    'contentType',
    'must be a non-empty string',
  );
  let resolver: Resolver | undefined;
  if (type !== undefined && writerType !== undefined) {
    try {
      resolver = type.createResolver(writerType);
    } catch (cause) {
      issues.add('writerSchema', `cannot be read as the reader schema: ${describeCause(cause)}`);
    }
  }
  issues.throwIfAny();
  const reader = type as Type;
  const writer = new AvroWriter(reader);
  return {
    contentType,
    type: reader,
    encode(value, ctx) {
      return writer.write(value, undefined, ctx);
    },
    decode(bytes, ctx) {
      return readAvro(reader, bytes, 0, resolver, ctx) as Value;
    },
  };
}
