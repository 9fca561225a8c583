import { CodecError } from '@bus/codecs';
import { decodeHeader, encodeHeader, encodeMessageIndexes } from '@bus/codecs/registry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const ctx = { topic: 't', role: 'value' as const, partition: 0, offset: 5 };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(CodecError.isInstance(error)).toBe(true);
    return (error as CodecError).code;
  }
  return 'no error';
}

describe('Confluent wire format', () => {
  it('writes magic byte 0 and a big-endian schema id', () => {
    expect([...encodeHeader(0x01020304)]).toEqual([0, 1, 2, 3, 4]);
    expect([...encodeHeader(4_000_000_000)]).toEqual([0, 0xee, 0x6b, 0x28, 0x00]);
    expect(decodeHeader(new Uint8Array([0, 0xee, 0x6b, 0x28, 0x00, 9]), false, ctx)).toEqual({
      schemaId: 4_000_000_000,
      messageIndexes: undefined,
      bodyOffset: 5,
    });
  });

  it('encodes message indexes as zigzag varints with the [0] shortcut', () => {
    expect([...encodeMessageIndexes([0])]).toEqual([0]);
    expect([...encodeMessageIndexes([1])]).toEqual([2, 2]);
    expect([...encodeMessageIndexes([1, 0])]).toEqual([4, 2, 0]);
    expect([...encodeMessageIndexes([70])]).toEqual([2, 0x8c, 0x01]);
    expect([...encodeHeader(7, [2, 1])]).toEqual([0, 0, 0, 0, 7, 4, 4, 2]);
  });

  it('round-trips any header with any message indexes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { minLength: 1, maxLength: 8 }),
        fc.uint8Array({ maxLength: 8 }),
        (id, indexes, body) => {
          const header = encodeHeader(id, indexes);
          const bytes = new Uint8Array([...header, ...body]);
          const parsed = decodeHeader(bytes, true, ctx);
          expect(parsed.schemaId).toBe(id);
          expect(parsed.messageIndexes).toEqual(indexes);
          expect(parsed.bodyOffset).toBe(header.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports wrong magic bytes, short headers and bad index arrays', () => {
    expect(codeOf(() => decodeHeader(new Uint8Array([1, 0, 0, 0, 1]), false, ctx))).toBe('INVALID_MAGIC_BYTE');
    expect(codeOf(() => decodeHeader(new Uint8Array([0, 0, 0]), false, ctx))).toBe('TRUNCATED');
    expect(codeOf(() => decodeHeader(new Uint8Array([]), false, ctx))).toBe('TRUNCATED');
    expect(codeOf(() => decodeHeader(new Uint8Array([0, 0, 0, 0, 1]), true, ctx))).toBe('TRUNCATED');
    expect(codeOf(() => decodeHeader(new Uint8Array([0, 0, 0, 0, 1, 4, 2]), true, ctx))).toBe('TRUNCATED');
    expect(codeOf(() => decodeHeader(new Uint8Array([0, 0, 0, 0, 1, 3]), true, ctx))).toBe('INVALID_PAYLOAD');
    expect(codeOf(() => decodeHeader(new Uint8Array([0, 0, 0, 0, 1, 0xfe, 0x01]), true, ctx))).toBe('INVALID_PAYLOAD');
    expect(codeOf(() => decodeHeader(new Uint8Array([0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x7f]), true, ctx))).toBe(
      'INVALID_PAYLOAD',
    );
  });
});
