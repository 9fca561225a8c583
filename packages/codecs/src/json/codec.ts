import type { Codec, CodecContext } from '../codec.js';
import { CodecError, describeCause } from '../errors.js';
import { location } from '../internal/location.js';
import type { StandardSchemaV1 } from '../internal/standard-schema.js';
import { validateStandard } from '../internal/validate.js';
import { ConfigIssues } from '@bus/core';

/** How `bigint` values are written: `'error'` (default) fails with `ENCODE_FAILED`, `'string'` writes decimal strings. */
export type BigIntMode = 'error' | 'string';

/** Options of {@link jsonCodec} shared by the validated and the unvalidated form. */
export interface JsonCodecBaseOptions {
  /** `content-type` to advertise. Default `application/json`. */
  contentType?: string;
  /**
   * How to write `bigint`, which `JSON.stringify` refuses. Default `'error'`: a typed
   * `ENCODE_FAILED` error. With `'string'` bigints become decimal strings; a schema can turn them
   * back (e.g. zod `z.coerce.bigint()`).
   */
  bigint?: BigIntMode;
}

/** Options of a {@link jsonCodec} that validates with a Standard Schema validator. */
export interface JsonCodecOptions<S extends StandardSchemaV1> extends JsonCodecBaseOptions {
  /** Any Standard Schema validator (zod 4, valibot, arktype, ...); decoded values are its output. */
  schema: S;
  /**
   * Also validate values before encoding, so a producer cannot publish what consumers will reject.
   * Default `true`. Turn it off for schemas whose output does not satisfy their input (transforms).
   */
  validateOnEncode?: boolean;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Serializes `value` as JSON in UTF-8; every failure is an `ENCODE_FAILED` {@link CodecError}. */
export function stringifyJson(value: unknown, bigint: BigIntMode, ctx: CodecContext): Uint8Array {
  return utf8Encoder.encode(jsonText(value, bigint, ctx));
}

/** `prefix` followed by the JSON of `value` in UTF-8, written in place (no intermediate copy). */
export function stringifyJsonFramed(
  value: unknown,
  bigint: BigIntMode,
  prefix: Uint8Array,
  ctx: CodecContext,
): Uint8Array {
  const text = jsonText(value, bigint, ctx);
  const out = Buffer.allocUnsafe(prefix.length + Buffer.byteLength(text, 'utf8'));
  out.set(prefix, 0);
  out.write(text, prefix.length, 'utf8');
  return out;
}

function jsonText(value: unknown, bigint: BigIntMode, ctx: CodecContext): string {
  let text: string | undefined;
  try {
    text = bigint === 'string' ? JSON.stringify(value, bigintAsString) : JSON.stringify(value);
  } catch (cause) {
    const hint = typeof cause === 'object' && String(cause).includes('BigInt') ? " (use { bigint: 'string' })" : '';
    throw new CodecError(`Cannot encode value as JSON: ${describeCause(cause)}${hint}`, {
      code: 'ENCODE_FAILED',
      cause,
      ...location(ctx),
    });
  }
  if (text === undefined) {
    throw new CodecError(`Cannot encode ${typeof value} as JSON`, { code: 'ENCODE_FAILED', ...location(ctx) });
  }
  return text;
}

/** Parses UTF-8 JSON; invalid UTF-8 and invalid JSON are {@link CodecError}s. */
export function parseJson(bytes: Uint8Array, ctx: CodecContext): unknown {
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch (cause) {
    throw new CodecError('Payload is not valid UTF-8', { code: 'INVALID_UTF8', cause, ...location(ctx) });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    // The parser's message quotes the payload, which may hold personal data: keep it in `cause` only.
    throw new CodecError('Payload is not valid JSON', {
      code: 'INVALID_JSON',
      cause,
      ...location(ctx),
    });
  }
}

/** Checks the shared options; returns the resolved content type and bigint mode. */
export function checkJsonOptions(
  options: {
    contentType?: string | undefined;
    bigint?: BigIntMode | undefined;
    schema?: unknown;
    validateOnEncode?: unknown;
  },
  subject: string,
): { contentType: string; bigint: BigIntMode } {
  const issues = new ConfigIssues(subject);
  const contentType = options.contentType ?? 'application/json';
  const bigint = options.bigint ?? 'error';
  issues.require(
    typeof contentType === 'string' && contentType.length > 0,
    'contentType',
    'must be a non-empty string',
  );
  issues.oneOf(bigint, 'bigint', ['error', 'string']);
  if (options.schema !== undefined) {
    const props = (options.schema as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
    issues.require(
      typeof props?.validate === 'function',
      'schema',
      'must implement Standard Schema v1 (a "~standard" property with validate())',
    );
  }
  if (options.validateOnEncode !== undefined) {
    issues.require(typeof options.validateOnEncode === 'boolean', 'validateOnEncode', 'must be a boolean');
  }
  issues.throwIfAny();
  return { contentType, bigint };
}

/**
 * A JSON codec. With a `schema` (any Standard Schema validator, e.g. zod 4) decoded values are
 * validated and typed as the schema's output, and every issue is listed in a `VALIDATION_FAILED`
 * {@link CodecError}.
 *
 * Dates: `JSON.stringify` writes `Date` as an ISO-8601 string, and decoding yields that string
 * unless the schema converts it (e.g. zod `z.coerce.date()` or `z.iso.datetime().transform(...)`).
 * Bigints: see {@link JsonCodecBaseOptions.bigint}.
 *
 * @example
 * const OrderPlaced = z.object({ orderId: z.string(), total: z.number() });
 * const codec = jsonCodec({ schema: OrderPlaced }); // Codec<{ orderId: string; total: number }>
 */
export function jsonCodec<S extends StandardSchemaV1>(
  options: JsonCodecOptions<S>,
): Codec<StandardSchemaV1.InferOutput<S>>;
/** A JSON codec without validation: decoded values are typed `T` on trust. */
export function jsonCodec<T = unknown>(options?: JsonCodecBaseOptions): Codec<T>;
export function jsonCodec(
  options: JsonCodecBaseOptions & { schema?: StandardSchemaV1; validateOnEncode?: boolean } = {},
): Codec<unknown> {
  const { contentType, bigint } = checkJsonOptions(options, 'jsonCodec');
  const schema = options.schema;
  const validateOnEncode = schema !== undefined && options.validateOnEncode !== false;
  return {
    contentType,
    encode(value, ctx) {
      if (!validateOnEncode || schema === undefined) return stringifyJson(value, bigint, ctx);
      const checked = validateStandard(schema, value, ctx, 'Value to encode');
      return checked instanceof Promise
        ? checked.then(() => stringifyJson(value, bigint, ctx))
        : stringifyJson(value, bigint, ctx);
    },
    decode(bytes, ctx) {
      const parsed = parseJson(bytes, ctx);
      return schema === undefined ? parsed : validateStandard(schema, parsed, ctx, 'Decoded value');
    },
  };
}
