import { type Codec, CodecError } from '@bus/codecs';
import { avroCodec } from '@bus/codecs/avro';
import { jsonCodec } from '@bus/codecs/json';
import { protobufCodec } from '@bus/codecs/protobuf';
import { decodeHeader } from '@bus/codecs/registry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { orderProto, orderSchemaV1, sampleOrder } from './fixtures.ts';

const ctx = { topic: 'fuzz', role: 'value' as const };
const RUNS = 500;

/** Decodes and reports whether the outcome was a value or a CodecError; anything else fails the property. */
async function decodesOrCodecError(codec: Codec<unknown>, bytes: Uint8Array): Promise<boolean> {
  try {
    await codec.decode(bytes, ctx);
    return true;
  } catch (error) {
    if (!CodecError.isInstance(error)) throw error;
    return true;
  }
}

const codecs: Record<string, Codec<unknown>> = {
  json: jsonCodec(),
  'json+zod': jsonCodec({ schema: z.object({ id: z.string(), n: z.number().int() }) }) as Codec<unknown>,
  avro: avroCodec({ schema: orderSchemaV1 }),
  protobuf: protobufCodec({ proto: orderProto, typeName: 'shop.orders.OrderPlaced' }),
};

// Mutations of a valid payload reach deeper into decoders than uniform noise does.
const validAvro = avroCodec({ schema: orderSchemaV1 }).encode(sampleOrder(), ctx) as Uint8Array;
const mutated = fc
  .tuple(fc.nat({ max: validAvro.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: validAvro.length }))
  .map(([at, byte, cut]) => {
    const copy = validAvro.slice(0, Math.max(cut, at + 1));
    copy[at] = byte;
    return copy;
  });

describe('decoders on arbitrary bytes', () => {
  for (const [name, codec] of Object.entries(codecs)) {
    it(`${name}: random bytes give a value or a CodecError, never another error`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), (bytes) => decodesOrCodecError(codec, bytes)),
        { numRuns: RUNS },
      );
    });
  }

  it('avro: mutated valid payloads give a value or a CodecError', async () => {
    await fc.assert(
      fc.asyncProperty(mutated, (bytes) => decodesOrCodecError(codecs.avro as Codec<unknown>, bytes)),
      { numRuns: RUNS },
    );
  });

  it('registry header: random bytes give a header or a CodecError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), fc.boolean(), (bytes, protobuf) => {
        try {
          const header = decodeHeader(bytes, protobuf, ctx);
          expect(header.bodyOffset).toBeLessThanOrEqual(bytes.length);
        } catch (error) {
          if (!CodecError.isInstance(error)) throw error;
        }
      }),
      { numRuns: RUNS },
    );
  });
});
