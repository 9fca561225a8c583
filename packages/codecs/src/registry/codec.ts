import { ConfigIssues } from '@bus/core';
import type { Codec, CodecContext } from '../codec.js';
import { CodecError } from '../errors.js';
import { location } from '../internal/location.js';
import type { BodyDecoder, RegistrySchema, SchemaFormat, SchemaType } from '../schema-format.js';
import type { SchemaRegistry } from './client.js';
import { decodeHeader, encodeHeader } from './wire-format.js';

/** What a subject name is derived from. */
export interface SubjectInfo {
  /** Topic of the message, when known. */
  topic: string | undefined;
  /** Key or value. */
  role: 'key' | 'value';
  /** Fully-qualified record/message name of the writer schema. */
  recordName: string;
}

/**
 * How the subject of a schema is named: `TopicName` (`<topic>-key` / `<topic>-value`, the
 * default), `RecordName` (the fully-qualified record name, shared across topics),
 * `TopicRecordName` (`<topic>-<record name>`, several event types on one topic), or a function.
 */
export type SubjectNameStrategy = 'TopicName' | 'RecordName' | 'TopicRecordName' | ((info: SubjectInfo) => string);

/**
 * Which registered schema id the codec writes with:
 * - `'auto-register'` (default): register the codec's schema on first encode (idempotent);
 * - `'lookup'`: find the codec's schema under the subject, never register (fails with `SCHEMA_NOT_REGISTERED`);
 * - `'latest'`: the subject's latest version, which must be the codec's schema;
 * - `{ version }`: that version of the subject, which must be the codec's schema;
 * - `{ id }`: that global id, which must be the codec's schema.
 */
export type SchemaSelection = 'auto-register' | 'lookup' | 'latest' | { version: number } | { id: number };

/** Options of {@link registryCodec}. */
export interface RegistryCodecOptions<T> {
  /** The registry client; share one per registry. */
  registry: SchemaRegistry;
  /** The format: `avroSchemaFormat()`, `protobufSchemaFormat()` or `jsonSchemaFormat()`. */
  format: SchemaFormat<T>;
  /** Subject naming. Default `TopicName`. */
  subjectNameStrategy?: SubjectNameStrategy;
  /** Which schema id to write with. Default `'auto-register'`. */
  schema?: SchemaSelection;
  /** `content-type` to advertise. Default `application/vnd.confluent.<format>`. */
  contentType?: string;
}

/** A codec writing the Confluent wire format: magic byte 0, 4-byte schema id, (message indexes,) body. */
export interface RegistryCodec<T> extends Codec<T> {
  /** The subject this codec writes under for `topic` and `role`. */
  subjectFor(topic: string | undefined, role: 'key' | 'value'): string;
  /**
   * Resolves (and registers, in auto-register mode) the schema id for `topic` ahead of the first
   * message, so startup fails fast when the registry refuses the schema.
   */
  prepare(topic: string | undefined, role?: 'key' | 'value'): Promise<number>;
}

const CONTENT_TYPES: Record<SchemaType, string> = {
  AVRO: 'application/vnd.confluent.avro',
  PROTOBUF: 'application/vnd.confluent.protobuf',
  JSON: 'application/vnd.confluent.json',
};

function subjectFunction(strategy: SubjectNameStrategy): (info: SubjectInfo) => string {
  if (typeof strategy === 'function') return strategy;
  const needTopic = (info: SubjectInfo): string => {
    if (info.topic === undefined || info.topic === '') {
      throw new CodecError(`The ${strategy} subject strategy needs the topic`, {
        code: 'ENCODE_FAILED',
        role: info.role,
      });
    }
    return info.topic;
  };
  switch (strategy) {
    case 'RecordName':
      return (info) => info.recordName;
    case 'TopicRecordName':
      return (info) => `${needTopic(info)}-${info.recordName}`;
    default:
      return (info) => `${needTopic(info)}-${info.role}`;
  }
}

interface Resolved {
  id: number;
  prefix: Uint8Array;
}

/**
 * A codec for schema-registry-framed payloads, compatible with Confluent serializers in any
 * language. After the first message of a topic the encode path makes no HTTP call and allocates
 * only the output (the header bytes are precomputed), and decoders are cached per schema id.
 *
 * @example
 * const registry = new SchemaRegistry({ url: 'http://localhost:8081' });
 * const codec = registryCodec({ registry, format: avroSchemaFormat<Order>({ schema: orderSchema }) });
 */
export function registryCodec<T>(options: RegistryCodecOptions<T>): RegistryCodec<T> {
  const issues = new ConfigIssues('registryCodec');
  const { registry, format } = options;
  issues.require(
    typeof registry?.register === 'function' && typeof registry.getSchema === 'function',
    'registry',
    'must be a SchemaRegistry',
  );
  issues.require(
    typeof format?.encodeFramed === 'function' && typeof format.decoderFor === 'function',
    'format',
    'must be a SchemaFormat (avroSchemaFormat, protobufSchemaFormat or jsonSchemaFormat)',
  );
  const strategy = options.subjectNameStrategy ?? 'TopicName';
  issues.require(
    typeof strategy === 'function' || ['TopicName', 'RecordName', 'TopicRecordName'].includes(strategy),
    'subjectNameStrategy',
    'must be TopicName, RecordName, TopicRecordName or a function',
  );
  const selection = options.schema ?? 'auto-register';
  if (typeof selection === 'object' && selection !== null) {
    if ('id' in selection) issues.integer(selection.id, 'schema.id', { min: 0, max: 0xffffffff });
    else if ('version' in selection) issues.integer(selection.version, 'schema.version', { min: 1 });
    else issues.add('schema', 'must be auto-register, lookup, latest, { id } or { version }');
  } else {
    issues.oneOf(selection, 'schema', ['auto-register', 'lookup', 'latest']);
  }
  issues.require(
    options.contentType === undefined || (typeof options.contentType === 'string' && options.contentType.length > 0),
    'contentType',
    'must be a non-empty string',
  );
  issues.throwIfAny();

  const nameSubject = subjectFunction(strategy);
  const withIndexes = format.schemaType === 'PROTOBUF';
  const prefixes = { key: new Map<string | undefined, Uint8Array>(), value: new Map<string | undefined, Uint8Array>() };
  const resolving = new Map<string, Promise<Resolved>>();
  const decoders = new Map<number, BodyDecoder<T>>();
  const loading = new Map<number, Promise<BodyDecoder<T>>>();

  const subjectFor = (topic: string | undefined, role: 'key' | 'value') =>
    nameSubject({ topic, role, recordName: format.recordName });

  function ensureSame(registered: RegistrySchema, what: string, subject: string, id: number): void {
    if (!format.matches(registered)) {
      throw new CodecError(`${what} is not the schema this codec writes with`, {
        code: 'SCHEMA_MISMATCH',
        subject,
        schemaId: id,
      });
    }
  }

  async function resolveId(subject: string): Promise<number> {
    if (typeof selection === 'object') {
      if ('id' in selection) {
        ensureSame(await registry.getSchema(selection.id), `Schema id ${selection.id}`, subject, selection.id);
        return selection.id;
      }
      const pinned = await registry.getVersion(subject, selection.version);
      ensureSame(pinned.schema, `Version ${selection.version} of "${subject}"`, subject, pinned.id);
      return pinned.id;
    }
    if (selection === 'latest') {
      const latest = await registry.getVersion(subject, 'latest');
      ensureSame(latest.schema, `The latest version of "${subject}"`, subject, latest.id);
      return latest.id;
    }
    if (selection === 'lookup') {
      const found = await registry.lookup(subject, format.schema);
      if (found === undefined) {
        throw new CodecError(`The schema is not registered under "${subject}" (lookup mode never registers)`, {
          code: 'SCHEMA_NOT_REGISTERED',
          subject,
        });
      }
      return found.id;
    }
    return registry.register(subject, format.schema);
  }

  function resolve(topic: string | undefined, role: 'key' | 'value', ctx: CodecContext): Promise<Resolved> {
    let subject: string;
    try {
      // A pinned id needs no subject, so it works without a topic too.
      subject = typeof selection === 'object' && 'id' in selection ? `id:${selection.id}` : subjectFor(topic, role);
    } catch (error) {
      return Promise.reject(error);
    }
    let pending = resolving.get(subject);
    if (pending === undefined) {
      pending = resolveId(subject).then((id) => {
        // Our own schema decodes our own messages without a fetch.
        if (!decoders.has(id)) decoders.set(id, format.decoderFor(format.schema, ctx));
        return { id, prefix: encodeHeader(id, format.messageIndexes) };
      });
      resolving.set(subject, pending);
      // A failure is not cached: the next message retries (the registry may be back).
      pending.catch(() => resolving.delete(subject));
    }
    return pending.then((resolved) => {
      prefixes[role].set(topic, resolved.prefix);
      return resolved;
    });
  }

  function withLocation(error: unknown, ctx: CodecContext): never {
    if (CodecError.isInstance(error) && error.topic === undefined && ctx.topic !== undefined) {
      throw new CodecError(error.message, {
        code: error.code,
        cause: error,
        issues: error.issues,
        schemaId: error.schemaId,
        subject: error.subject,
        status: error.status,
        isRetryable: error.isRetryable,
        ...location(ctx),
      });
    }
    throw error;
  }

  function loadDecoder(schemaId: number, ctx: CodecContext): Promise<BodyDecoder<T>> {
    let pending = loading.get(schemaId);
    if (pending === undefined) {
      pending = registry.getSchema(schemaId).then((writer) => {
        let decoder: BodyDecoder<T>;
        try {
          decoder = format.decoderFor(writer, ctx);
        } catch (error) {
          // A schema id never changes, so an unreadable writer stays unreadable: remember that.
          const failure = error;
          decoder = (_bytes, _offset, _indexes, decodeCtx) => withLocation(failure, decodeCtx);
        }
        decoders.set(schemaId, decoder);
        return decoder;
      });
      loading.set(schemaId, pending);
      pending.then(
        () => loading.delete(schemaId),
        () => loading.delete(schemaId),
      );
    }
    return pending;
  }

  return {
    contentType: options.contentType ?? CONTENT_TYPES[format.schemaType],
    subjectFor,
    async prepare(topic, role = 'value') {
      const ctx: CodecContext = { topic, role };
      const resolved = await resolve(topic, role, ctx).catch((error: unknown) => withLocation(error, ctx));
      return resolved.id;
    },
    encode(value, ctx) {
      const prefix = prefixes[ctx.role].get(ctx.topic);
      if (prefix !== undefined) return format.encodeFramed(value, prefix, ctx);
      return resolve(ctx.topic, ctx.role, ctx).then(
        (resolved) => format.encodeFramed(value, resolved.prefix, ctx),
        (error: unknown) => withLocation(error, ctx),
      );
    },
    decode(bytes, ctx) {
      const header = decodeHeader(bytes, withIndexes, ctx);
      const decoder = decoders.get(header.schemaId);
      if (decoder !== undefined) return decoder(bytes, header.bodyOffset, header.messageIndexes, ctx);
      return loadDecoder(header.schemaId, ctx).then(
        (loaded) => loaded(bytes, header.bodyOffset, header.messageIndexes, ctx),
        (error: unknown) => withLocation(error, ctx),
      );
    },
  };
}
