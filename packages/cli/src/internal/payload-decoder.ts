import { isUtf8 } from 'node:buffer';
import type { BodyDecoder, CodecContext, RegistrySchema } from '@bus/codecs';
import { avroSchemaFormat } from '@bus/codecs/avro';
import { jsonSchemaFormat } from '@bus/codecs/json';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { decodeHeader, HEADER_SIZE, MAGIC_BYTE, type SchemaRegistry } from '@bus/codecs/registry';
import { messageTypeNames } from './protobufjs.js';

/** How a payload was read. */
export type PayloadFormat = 'avro' | 'protobuf' | 'json-schema' | 'json' | 'text' | 'bytes' | 'null';

/** A payload made readable. */
export interface DecodedPayload {
  /** How it was read. */
  format: PayloadFormat;
  /** The schema id of a registry-framed payload. */
  schemaId?: number;
  /** The decoded value; for `bytes`, the base64 text. */
  value: unknown;
  /** Why a registry-framed payload could not be decoded (it is then shown as bytes). */
  error?: string;
}

const FORMAT_NAMES = { AVRO: 'avro', PROTOBUF: 'protobuf', JSON: 'json-schema' } as const;

/**
 * Decodes payloads for display: registry-framed ones (magic byte 0 and a schema id) through the
 * registry with the writer's own schema (Avro, Protobuf, JSON Schema); others as JSON when they
 * parse, else UTF-8 text, else base64 bytes.
 */
export class PayloadDecoder {
  readonly #registry: SchemaRegistry | undefined;
  readonly #decoders = new Map<number, Promise<{ schema: RegistrySchema; decode: BodyDecoder<unknown> }>>();

  constructor(registry: SchemaRegistry | undefined) {
    this.#registry = registry;
  }

  async decode(bytes: Uint8Array | null, ctx: CodecContext): Promise<DecodedPayload> {
    if (bytes === null) return { format: 'null', value: null };
    if (bytes.length >= HEADER_SIZE && bytes[0] === MAGIC_BYTE) {
      const schemaId = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, false);
      if (this.#registry === undefined) {
        return { format: 'bytes', schemaId, value: base64(bytes), error: 'registry-framed: pass --registry to decode' };
      }
      try {
        const { schema, decode } = await this.#decoderFor(schemaId, ctx);
        const header = decodeHeader(bytes, schema.schemaType === 'PROTOBUF', ctx);
        const value = await decode(bytes, header.bodyOffset, header.messageIndexes, ctx);
        return { format: FORMAT_NAMES[schema.schemaType], schemaId, value };
      } catch (error) {
        return { format: 'bytes', schemaId, value: base64(bytes), error: (error as Error).message };
      }
    }
    return plain(bytes);
  }

  #decoderFor(schemaId: number, ctx: CodecContext) {
    let pending = this.#decoders.get(schemaId);
    if (pending === undefined) {
      pending = this.#registry!.getSchema(schemaId).then((schema) => ({
        schema,
        decode: writerDecoder(schema, ctx),
      }));
      this.#decoders.set(schemaId, pending);
      pending.catch(() => this.#decoders.delete(schemaId));
    }
    return pending;
  }
}

/** A decoder that reads bodies with the writer's own schema (no reader schema to resolve to). */
function writerDecoder(schema: RegistrySchema, ctx: CodecContext): BodyDecoder<unknown> {
  if (schema.schemaType === 'AVRO') {
    return avroSchemaFormat<unknown>({ schema: JSON.parse(schema.schema) }).decoderFor(schema, ctx);
  }
  if (schema.schemaType === 'JSON') return jsonSchemaFormat({ jsonSchema: schema.schema }).decoderFor(schema, ctx);
  // Protobuf: the message indexes of each payload name its type; one decoder per type.
  const byIndexes = new Map<string, BodyDecoder<unknown>>();
  for (const typeName of messageTypeNames(schema.schema)) {
    const format = protobufSchemaFormat<unknown>({ proto: schema.schema, typeName, keepCase: true });
    byIndexes.set((format.messageIndexes ?? [0]).join('.'), format.decoderFor(schema, ctx));
  }
  return (bytes, offset, indexes, decodeCtx) => {
    const decoder = byIndexes.get((indexes ?? [0]).join('.'));
    if (decoder === undefined) throw new Error(`No message at indexes [${(indexes ?? [0]).join(', ')}]`);
    return decoder(bytes, offset, indexes, decodeCtx);
  };
}

function plain(bytes: Uint8Array): DecodedPayload {
  if (!isUtf8(bytes)) return { format: 'bytes', value: base64(bytes) };
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[') || trimmed.startsWith('"')) {
    try {
      return { format: 'json', value: JSON.parse(text) };
    } catch {
      // Looks like JSON but is not: show the text.
    }
  }
  return { format: 'text', value: text };
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
