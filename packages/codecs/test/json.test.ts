import { CodecError } from '@bus/codecs';
import { jsonCodec } from '@bus/codecs/json';
import { ConfigError } from '@bus/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

const ctx = { topic: 'orders', role: 'value' as const };
const utf8 = new TextEncoder();

async function decodeError(promise: () => unknown): Promise<CodecError> {
  try {
    await promise();
  } catch (error) {
    expect(CodecError.isInstance(error)).toBe(true);
    return error as CodecError;
  }
  throw new Error('expected a CodecError');
}

describe('jsonCodec', () => {
  it('round-trips values without a schema', async () => {
    const codec = jsonCodec<{ a: number; b: string[] }>();
    const bytes = await codec.encode({ a: 1, b: ['x'] }, ctx);
    expect(new TextDecoder().decode(bytes)).toBe('{"a":1,"b":["x"]}');
    expect(await codec.decode(bytes, ctx)).toEqual({ a: 1, b: ['x'] });
    expect(codec.contentType).toBe('application/json');
  });

  it('types decoded values from a zod schema and validates them', async () => {
    const schema = z.object({ orderId: z.string(), total: z.number().positive(), at: z.coerce.date() });
    const codec = jsonCodec({ schema });
    expectTypeOf(codec.decode).returns.toEqualTypeOf<
      { orderId: string; total: number; at: Date } | Promise<{ orderId: string; total: number; at: Date }>
    >();
    const at = new Date('2026-01-02T03:04:05.678Z');
    const bytes = await codec.encode({ orderId: 'o-1', total: 12.5, at }, ctx);
    expect(new TextDecoder().decode(bytes)).toContain('"at":"2026-01-02T03:04:05.678Z"');
    const decoded = await codec.decode(bytes, ctx);
    expect(decoded.at).toBeInstanceOf(Date);
    expect(decoded.at.getTime()).toBe(at.getTime());
  });

  it('lists every validation issue with its path', async () => {
    const codec = jsonCodec({ schema: z.object({ orderId: z.string(), total: z.number().positive() }) });
    const error = await decodeError(() =>
      codec.decode(utf8.encode('{"orderId":5,"total":-1}'), { ...ctx, offset: 7, partition: 2 }),
    );
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['orderId', 'total']);
    expect(error.offset).toBe(7);
    expect(error.partition).toBe(2);
    expect(error.topic).toBe('orders');
    expect(error.message).toContain('offset 7');
  });

  it('validates before encoding, so producers cannot publish what consumers reject', async () => {
    const codec = jsonCodec({ schema: z.object({ n: z.number() }) });
    const error = await decodeError(() => codec.encode({ n: 'x' } as unknown as { n: number }, ctx));
    expect(error.code).toBe('VALIDATION_FAILED');
    const lenient = jsonCodec({ schema: z.object({ n: z.number() }), validateOnEncode: false });
    expect(await lenient.encode({ n: 'x' } as unknown as { n: number }, ctx)).toEqual(utf8.encode('{"n":"x"}'));
  });

  it('supports async validators', async () => {
    const schema = z.object({ id: z.string() }).refine(async (v) => v.id !== 'bad', { message: 'bad id' });
    const codec = jsonCodec({ schema });
    expect(await codec.decode(utf8.encode('{"id":"ok"}'), ctx)).toEqual({ id: 'ok' });
    const error = await decodeError(() => codec.decode(utf8.encode('{"id":"bad"}'), ctx));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues[0]?.message).toBe('bad id');
  });

  it('refuses invalid UTF-8 and invalid JSON with typed errors wrapping the cause', async () => {
    const codec = jsonCodec();
    const utf8Error = await decodeError(() => codec.decode(new Uint8Array([0x7b, 0xff, 0x7d]), ctx));
    expect(utf8Error.code).toBe('INVALID_UTF8');
    expect(utf8Error.cause).toBeInstanceOf(TypeError);
    const jsonError = await decodeError(() => codec.decode(utf8.encode('{"a":'), ctx));
    expect(jsonError.code).toBe('INVALID_JSON');
    expect(jsonError.cause).toBeInstanceOf(SyntaxError);
  });

  it('refuses bigint by default and writes it as a string when asked', async () => {
    const error = await decodeError(() => jsonCodec().encode({ n: 10n }, ctx));
    expect(error.code).toBe('ENCODE_FAILED');
    expect(error.message).toContain("bigint: 'string'");
    const codec = jsonCodec({ bigint: 'string', schema: z.object({ n: z.coerce.bigint() }) });
    const bytes = await codec.encode({ n: 12345678901234567890n }, ctx);
    expect(new TextDecoder().decode(bytes)).toBe('{"n":"12345678901234567890"}');
    expect(await codec.decode(bytes, ctx)).toEqual({ n: 12345678901234567890n });
  });

  it('refuses values JSON cannot represent', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect((await decodeError(() => jsonCodec().encode(circular, ctx))).code).toBe('ENCODE_FAILED');
    expect((await decodeError(() => jsonCodec().encode(undefined, ctx))).code).toBe('ENCODE_FAILED');
  });

  it('reports every bad option at once', () => {
    try {
      jsonCodec({ schema: {} as never, bigint: 'number' as never, contentType: '' });
      expect.unreachable();
    } catch (error) {
      expect(ConfigError.isInstance(error)).toBe(true);
      expect((error as ConfigError).issues.map((issue) => issue.path).sort()).toEqual([
        'bigint',
        'contentType',
        'schema',
      ]);
    }
  });
});

describe('vendored Standard Schema types', () => {
  it('are interchangeable with @standard-schema/spec', () => {
    type Vendored = import('@bus/codecs').StandardSchemaV1<{ a: string }, { a: number }>;
    type Official = import('@standard-schema/spec').StandardSchemaV1<{ a: string }, { a: number }>;
    expectTypeOf<Vendored>().toExtend<Official>();
    expectTypeOf<Official>().toExtend<Vendored>();
    const schema = z.object({ a: z.string() });
    expectTypeOf(schema).toExtend<import('@bus/codecs').StandardSchemaV1>();
  });
});
