import type { CodecContext } from '../codec.js';
import { CodecError } from '../errors.js';
import { location } from '../internal/location.js';
import { protobuf } from '../internal/protobufjs.js';
import type { BodyDecoder, RegistrySchema, SchemaFormat } from '../schema-format.js';
import { decodeProtobuf, encodeProtobuf, resolveType } from './codec.js';
import { defaultToObject, messageIndexes, type ProtobufSourceOptions } from './message-type.js';
import { indexesOf, sourceOrder } from './source-order.js';
import { parseWriterSchema } from './writer-schema.js';

/** Options of {@link protobufSchemaFormat}: the `.proto` source is required, it is what gets registered. */
export interface ProtobufSchemaFormatOptions extends Omit<ProtobufSourceOptions, 'files' | 'root'> {
  /** `.proto` source text of one self-contained file (imports are not supported yet). */
  proto: string;
}

/**
 * Protobuf for `registryCodec()` from `@bus/codecs/registry`: registers the `.proto` source and
 * writes the Confluent message indexes of `typeName`. On decode, the writer's message (found by
 * schema id and indexes) must have the same full name as `typeName`, else `SCHEMA_MISMATCH`;
 * field-level evolution follows protobuf rules (unknown fields are skipped, missing ones default).
 */
export function protobufSchemaFormat<T = Record<string, unknown>>(
  options: ProtobufSchemaFormatOptions,
): SchemaFormat<T> {
  const type = resolveType(options, 'protobufSchemaFormat', (issues) => {
    issues.require(
      typeof options.proto === 'string',
      'proto',
      'is required: the .proto source is what gets registered',
    );
  });
  const toObject = options.toObject ?? defaultToObject;
  const fullName = type.fullName.slice(1);
  const indexes = sourceIndexes(options.proto, fullName) ?? messageIndexes(type);
  const ownShape = shape(options.proto, options.keepCase === true);
  const decodeBody = (bytes: Uint8Array, offset: number, ctx: CodecContext) =>
    decodeProtobuf(type, bytes.subarray(offset), toObject, ctx) as T;

  return {
    schemaType: 'PROTOBUF',
    schema: { schemaType: 'PROTOBUF', schema: options.proto },
    recordName: fullName,
    messageIndexes: indexes,
    encodeFramed(value: T, prefix: Uint8Array, ctx: CodecContext) {
      const body = encodeProtobuf(type, value, ctx);
      const out = Buffer.allocUnsafe(prefix.length + body.length);
      out.set(prefix, 0);
      out.set(body, prefix.length);
      return out;
    },
    matches(registered: RegistrySchema) {
      return registered.schemaType === 'PROTOBUF' && shape(registered.schema, options.keepCase === true) === ownShape;
    },
    decoderFor(writer: RegistrySchema, ctx: CodecContext): BodyDecoder<T> {
      if (writer.schemaType !== 'PROTOBUF') {
        throw new CodecError(`Payload was written with a ${writer.schemaType} schema, expected PROTOBUF`, {
          code: 'SCHEMA_MISMATCH',
          ...location(ctx),
        });
      }
      const writerSchema = parseWriterSchema(writer.schema, options.keepCase === true, ctx);
      // Most producers write one message type per subject: remember the last indexes checked.
      let lastIndexes: readonly number[] | undefined;
      return (bytes, offset, writerIndexes, decodeCtx) => {
        const at = writerIndexes ?? [0];
        if (at !== lastIndexes && !sameIndexes(at, lastIndexes)) {
          const writerType = writerSchema.typeAt(at);
          if (writerType === undefined) {
            throw new CodecError(`Message indexes [${at.join(', ')}] name no message in the writer schema`, {
              code: 'SCHEMA_MISMATCH',
              ...location(decodeCtx),
            });
          }
          const writerName = writerType.fullName.slice(1);
          if (writerName !== fullName) {
            throw new CodecError(`Payload is a ${writerName}, expected ${fullName}`, {
              code: 'SCHEMA_MISMATCH',
              ...location(decodeCtx),
            });
          }
          lastIndexes = at;
        }
        return decodeBody(bytes, offset, decodeCtx);
      };
    },
  };
}

/** A comparable form of `.proto` source that ignores comments, whitespace and option order of parsing. */
function shape(text: string, keepCase: boolean): string | undefined {
  try {
    return JSON.stringify(protobuf.parse(text, { keepCase }).root.toJSON());
  } catch {
    return undefined;
  }
}

function sameIndexes(a: readonly number[], b: readonly number[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The Confluent indexes of `fullName` counted as protoc orders the source (map entries included),
 * or undefined when the source cannot be read that way.
 */
function sourceIndexes(proto: string, fullName: string): number[] | undefined {
  const order = sourceOrder(proto);
  if (order === undefined) return undefined;
  let pkg: string | undefined;
  try {
    pkg = protobuf.parse(proto).package ?? undefined;
  } catch {
    return undefined;
  }
  const local =
    pkg === undefined ? fullName : fullName.startsWith(`${pkg}.`) ? fullName.slice(pkg.length + 1) : undefined;
  return local === undefined ? undefined : indexesOf(order, local.split('.'));
}
