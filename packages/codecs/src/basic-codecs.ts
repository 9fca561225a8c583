import type { Codec, CodecContext } from './codec.js';
import { CodecError } from './errors.js';
import { location } from './internal/location.js';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 strings, e.g. for plain string keys next to a schema-encoded value. */
export const stringCodec: Codec<string> = Object.freeze({
  contentType: 'text/plain; charset=utf-8',
  encode(value: string, ctx: CodecContext) {
    if (typeof value !== 'string') {
      throw new CodecError(`Expected a string, got ${typeof value}`, { code: 'ENCODE_FAILED', ...location(ctx) });
    }
    return utf8Encoder.encode(value);
  },
  decode(bytes: Uint8Array, ctx: CodecContext) {
    try {
      return utf8Decoder.decode(bytes);
    } catch (cause) {
      throw new CodecError('Payload is not valid UTF-8', { code: 'INVALID_UTF8', cause, ...location(ctx) });
    }
  },
});

/** Raw bytes, passed through unchanged. */
export const bytesCodec: Codec<Uint8Array> = Object.freeze({
  contentType: 'application/octet-stream',
  encode(value: Uint8Array, ctx: CodecContext) {
    if (!(value instanceof Uint8Array)) {
      throw new CodecError(`Expected a Uint8Array, got ${typeof value}`, { code: 'ENCODE_FAILED', ...location(ctx) });
    }
    return value;
  },
  decode(bytes: Uint8Array) {
    return bytes;
  },
});
