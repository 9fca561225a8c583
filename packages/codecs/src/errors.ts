import { BusError } from '@bus/core';

/** Stable codes of {@link CodecError}. New codes may be added in minor versions. */
export type CodecErrorCode =
  | 'INVALID_MAGIC_BYTE'
  | 'UNKNOWN_SCHEMA_ID'
  | 'TRUNCATED'
  | 'SCHEMA_MISMATCH'
  | 'VALIDATION_FAILED'
  | 'INVALID_JSON'
  | 'INVALID_UTF8'
  | 'INVALID_PAYLOAD'
  | 'ENCODE_FAILED'
  | 'TYPE_MISMATCH'
  | 'REGISTRY_UNAVAILABLE'
  | 'REGISTRY_ERROR'
  | 'SUBJECT_NOT_FOUND'
  | 'SCHEMA_NOT_REGISTERED'
  | 'INVALID_SCHEMA'
  | 'UNSUPPORTED_SCHEMA'
  | 'INCOMPATIBLE_SCHEMA';

/** One validation problem, as reported by the schema library. */
export interface CodecIssue {
  /** Dotted path of the offending field; empty for the value itself. */
  readonly path: string;
  /** What is wrong. */
  readonly message: string;
}

/** Where the failing bytes came from, when known. */
export interface CodecErrorLocation {
  /** Topic of the message. */
  topic?: string | undefined;
  /** Partition of a received message. */
  partition?: number | undefined;
  /** Offset of a received message. */
  offset?: number | undefined;
  /** Whether the key or the value failed. */
  role?: 'key' | 'value' | undefined;
}

/** Options of {@link CodecError}. */
export interface CodecErrorOptions extends CodecErrorLocation {
  /** Stable code. */
  code: CodecErrorCode;
  /** The library error that caused it. */
  cause?: unknown;
  /** Validation issues, for `VALIDATION_FAILED`. */
  issues?: readonly CodecIssue[] | undefined;
  /** The schema id involved, for registry errors. */
  schemaId?: number | undefined;
  /** The registry subject involved. */
  subject?: string | undefined;
  /** HTTP status of a failed registry call. */
  status?: number | undefined;
  /** Defaults to `true` for `REGISTRY_UNAVAILABLE`, else `false`. */
  isRetryable?: boolean;
}

const CODEC_ERROR_MARKER = 'bus.error.codec';

/**
 * A value could not be encoded or bytes could not be decoded. Every failure of a bus codec or
 * marshaler surfaces as this error with a stable {@link CodecErrorCode}; the library error, if
 * any, is the `cause`. Messages never include payload bytes or registry credentials.
 */
export class CodecError extends BusError {
  /** Stable code. */
  declare readonly code: CodecErrorCode;
  /** Topic of the message, when known. */
  readonly topic: string | undefined;
  /** Partition of a received message, when known. */
  readonly partition: number | undefined;
  /** Offset of a received message, when known. */
  readonly offset: number | undefined;
  /** Whether the key or the value failed, when known. */
  readonly role: 'key' | 'value' | undefined;
  /** Validation issues (`VALIDATION_FAILED`), else empty. */
  readonly issues: readonly CodecIssue[];
  /** The schema id involved, when known. */
  readonly schemaId: number | undefined;
  /** The registry subject involved, when known. */
  readonly subject: string | undefined;
  /** HTTP status of a failed registry call, when there was one. */
  readonly status: number | undefined;

  constructor(message: string, options: CodecErrorOptions) {
    super(withLocation(message, options), {
      code: options.code,
      isRetryable: options.isRetryable ?? options.code === 'REGISTRY_UNAVAILABLE',
      cause: options.cause,
    });
    this.name = 'CodecError';
    this.topic = options.topic;
    this.partition = options.partition;
    this.offset = options.offset;
    this.role = options.role;
    this.issues = options.issues ?? [];
    this.schemaId = options.schemaId;
    this.subject = options.subject;
    this.status = options.status;
    this.mark(CODEC_ERROR_MARKER);
  }

  /** Whether `error` is a codec error from any installed copy of @bus/codecs. */
  static override isInstance(error: unknown): error is CodecError {
    return BusError.hasMarker(error, CODEC_ERROR_MARKER);
  }
}

function withLocation(message: string, location: CodecErrorLocation): string {
  const parts: string[] = [];
  if (location.role !== undefined) parts.push(location.role);
  if (location.topic !== undefined) parts.push(`topic "${location.topic}"`);
  if (location.partition !== undefined) parts.push(`partition ${location.partition}`);
  if (location.offset !== undefined) parts.push(`offset ${location.offset}`);
  return parts.length === 0 ? message : `${message} (${parts.join(', ')})`;
}

/**
 * Describes any thrown value in one line, for error messages; with `maxLength`, longer text (such
 * as a parser quoting a whole schema) is cut there and ends with `…`.
 */
export function describeCause(cause: unknown, maxLength?: number): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  return maxLength !== undefined && text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
}
