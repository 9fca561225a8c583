import type { CodecContext } from '../codec.js';
import { CodecError } from '../errors.js';
import { location } from '../internal/location.js';

/** First byte of every Confluent-framed payload. */
export const MAGIC_BYTE = 0;
/** Magic byte plus the 4-byte big-endian schema id. */
export const HEADER_SIZE = 5;
// Enough for any real nesting depth; bounds work on hostile input.
const MAX_MESSAGE_INDEXES = 64;

/** The parsed wire-format header. */
export interface WireHeader {
  /** Global schema id. */
  schemaId: number;
  /** Protobuf message indexes, when the format has them. */
  messageIndexes: readonly number[] | undefined;
  /** Where the body starts. */
  bodyOffset: number;
}

const FIRST_MESSAGE: readonly number[] = Object.freeze([0]);

function zigzag(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

function writeVarint(out: number[], value: number): void {
  let rest = value >>> 0;
  while (rest > 0x7f) {
    out.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  out.push(rest);
}

/**
 * Encodes protobuf message indexes: a zigzag varint count, then each index as a zigzag varint;
 * the common `[0]` (first message of the file) is the single byte 0.
 */
export function encodeMessageIndexes(indexes: readonly number[]): Uint8Array {
  if (indexes.length === 1 && indexes[0] === 0) return new Uint8Array([0]);
  const out: number[] = [];
  writeVarint(out, zigzag(indexes.length));
  for (const index of indexes) writeVarint(out, zigzag(index));
  return Uint8Array.from(out);
}

/** The header bytes for `schemaId` (and protobuf message indexes), computed once per schema. */
export function encodeHeader(schemaId: number, messageIndexes?: readonly number[]): Uint8Array {
  const indexes = messageIndexes === undefined ? new Uint8Array(0) : encodeMessageIndexes(messageIndexes);
  const header = new Uint8Array(HEADER_SIZE + indexes.length);
  header[0] = MAGIC_BYTE;
  new DataView(header.buffer).setUint32(1, schemaId >>> 0, false);
  header.set(indexes, HEADER_SIZE);
  return header;
}

function readVarint(bytes: Uint8Array, offset: number, ctx: CodecContext): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let position = offset;
  for (;;) {
    if (position >= bytes.length) {
      throw new CodecError('Payload ends inside the protobuf message indexes', { code: 'TRUNCATED', ...location(ctx) });
    }
    const byte = bytes[position++] as number;
    if (shift === 28 && byte > 0x0f) {
      throw new CodecError('Protobuf message index does not fit in 32 bits', {
        code: 'INVALID_PAYLOAD',
        ...location(ctx),
      });
    }
    value |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  const decoded = (value >>> 1) ^ -(value & 1);
  return [decoded, position];
}

/** Parses the header; wrong magic bytes, truncation and bad index arrays are {@link CodecError}s. */
export function decodeHeader(bytes: Uint8Array, withMessageIndexes: boolean, ctx: CodecContext): WireHeader {
  if (bytes.length > 0 && bytes[0] !== MAGIC_BYTE) {
    throw new CodecError(`Payload starts with byte ${bytes[0]}, not the schema registry magic byte 0`, {
      code: 'INVALID_MAGIC_BYTE',
      ...location(ctx),
    });
  }
  if (bytes.length < HEADER_SIZE) {
    throw new CodecError(`Payload of ${bytes.length} bytes is shorter than the 5-byte schema registry header`, {
      code: 'TRUNCATED',
      ...location(ctx),
    });
  }
  const schemaId =
    (bytes[1] as number) * 0x1000000 +
    ((bytes[2] as number) << 16) +
    (((bytes[3] as number) << 8) | (bytes[4] as number));
  if (!withMessageIndexes) return { schemaId, messageIndexes: undefined, bodyOffset: HEADER_SIZE };
  let [count, offset] = readVarint(bytes, HEADER_SIZE, ctx);
  if (count === 0) return { schemaId, messageIndexes: FIRST_MESSAGE, bodyOffset: offset };
  if (count < 0 || count > MAX_MESSAGE_INDEXES) {
    throw new CodecError(`Invalid protobuf message index count ${count}`, {
      code: 'INVALID_PAYLOAD',
      ...location(ctx),
    });
  }
  const indexes: number[] = [];
  for (let i = 0; i < count; i++) {
    const [index, next] = readVarint(bytes, offset, ctx);
    if (index < 0) {
      throw new CodecError(`Invalid protobuf message index ${index}`, { code: 'INVALID_PAYLOAD', ...location(ctx) });
    }
    indexes.push(index);
    offset = next;
  }
  return { schemaId, messageIndexes: indexes, bodyOffset: offset };
}
