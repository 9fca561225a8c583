import { ConfigIssues } from '@bus/core';
import type { IConversionOptions, Type } from 'protobufjs';
import type { Codec, CodecContext } from '../codec.js';
import { CodecError, describeCause } from '../errors.js';
import { asBuffer } from '../internal/bytes.js';
import { location } from '../internal/location.js';
import { checkMessage } from './check.js';
import { defaultToObject, loadRoot, lookupType, type ProtobufSourceOptions } from './message-type.js';

/** Options of {@link protobufCodec}. */
export interface ProtobufCodecOptions extends ProtobufSourceOptions {
  /** `content-type` to advertise. Default `application/x-protobuf`. */
  contentType?: string;
}

/** A Protobuf {@link Codec} that also exposes its reflected message type. */
export interface ProtobufCodec<T> extends Codec<T> {
  /** The protobufjs message type. */
  readonly type: Type;
}

/** Checks and encodes a plain object; wrong field values are an `ENCODE_FAILED` error listing each one. */
export function encodeProtobuf(type: Type, value: unknown, ctx: CodecContext): Uint8Array {
  const issues = checkMessage(type, value);
  if (issues.length > 0) {
    const detail = issues
      .slice(0, 5)
      .map((issue) => `${issue.path || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new CodecError(`Value does not match protobuf message ${type.fullName.slice(1)}: ${detail}`, {
      code: 'ENCODE_FAILED',
      issues,
      ...location(ctx),
    });
  }
  try {
    return type.encode(type.fromObject(value as Record<string, unknown>)).finish();
  } catch (cause) {
    throw new CodecError(`Cannot encode protobuf message ${type.fullName.slice(1)}: ${describeCause(cause)}`, {
      code: 'ENCODE_FAILED',
      cause,
      ...location(ctx),
    });
  }
}

/** Decodes a message body into a plain object; truncation and garbage are {@link CodecError}s. */
export function decodeProtobuf(
  type: Type,
  bytes: Uint8Array,
  toObject: IConversionOptions,
  ctx: CodecContext,
): unknown {
  try {
    // protobufjs reads strings much faster from a Buffer (native UTF-8) than from a Uint8Array.
    return type.toObject(type.decode(asBuffer(bytes)), toObject);
  } catch (cause) {
    const truncated = cause instanceof RangeError && /index out of range/.test(cause.message);
    throw new CodecError(`Payload is not a valid protobuf ${type.fullName.slice(1)}: ${describeCause(cause)}`, {
      code: truncated ? 'TRUNCATED' : 'INVALID_PAYLOAD',
      cause,
      ...location(ctx),
    });
  }
}

/** Resolves the message type of protobuf options, reporting every problem at once. */
export function resolveType(
  options: ProtobufSourceOptions,
  subject: string,
  extra?: (issues: ConfigIssues) => void,
): Type {
  const issues = new ConfigIssues(subject);
  const root = loadRoot(options, issues);
  const type = lookupType(root, options.typeName, issues);
  extra?.(issues);
  issues.throwIfAny();
  return type as Type;
}

/**
 * A Protobuf codec (protobufjs) for plain objects. Encoding checks every field first (protobufjs
 * alone would coerce `"abc"` into an int32 as 0); decoding yields plain objects per `toObject`.
 *
 * @example
 * const codec = protobufCodec<OrderPlaced>({ proto: source, typeName: 'shop.orders.OrderPlaced' });
 */
export function protobufCodec<T = Record<string, unknown>>(options: ProtobufCodecOptions): ProtobufCodec<T> {
  const contentType = options.contentType ?? 'application/x-protobuf';
  const type = resolveType(options, 'protobufCodec', (issues) => {
    issues.require(
      typeof contentType === 'string' && contentType.length > 0,
      'contentType',
      'must be a non-empty string',
    );
  });
  const toObject = options.toObject ?? defaultToObject;
  return {
    contentType,
    type,
    encode(value, ctx) {
      return encodeProtobuf(type, value, ctx);
    },
    decode(bytes, ctx) {
      return decodeProtobuf(type, bytes, toObject, ctx) as T;
    },
  };
}
