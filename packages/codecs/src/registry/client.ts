import { ConfigIssues, type Logger, childLogger, noopLogger } from '@bus/core';
import { CodecError } from '../errors.js';
import type { RegistrySchema, SchemaReference, SchemaType } from '../schema-format.js';
import { type RegistryBasicAuth, RegistryHttp, type RegistryResponse, type RegistryTlsOptions } from './http.js';
import { SchemaDiskCache } from './schema-cache.js';

/** Compatibility levels of the Confluent-compatible API. */
export type CompatibilityLevel =
  | 'NONE'
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE';

const LEVELS: readonly CompatibilityLevel[] = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
];

/** Options of {@link SchemaRegistry}. */
export interface SchemaRegistryOptions {
  /**
   * Base URL of a Confluent-compatible API, e.g. `http://localhost:8081` or, for Apicurio,
   * `http://host:8080/apis/ccompat/v7`. Credentials in the URL are moved to basic auth.
   */
  url: string;
  /** HTTP basic credentials. */
  auth?: RegistryBasicAuth;
  /** TLS settings for `https:` URLs (private CA, mutual TLS). */
  tls?: RegistryTlsOptions;
  /**
   * Deadline of each HTTP request, from connecting to the last byte of the response (not an idle
   * timeout: a response that keeps trickling in still ends here). Default 10 000 ms.
   */
  timeoutMs?: number;
  /**
   * A folder where schemas fetched by id are kept, so that a process restarted while the registry is
   * down still decodes what it decoded before (ids never change meaning in one registry). Files are
   * written in the background after the first fetch and read by {@link SchemaRegistry.preload}, or
   * when an id is first asked for; decoding a known id never touches the disk. Off by default.
   */
  cacheDir?: string;
  /** pino-compatible logger; no-op by default. */
  logger?: Logger;
}

/** A schema registered under a subject. */
export interface SubjectVersion {
  /** The subject. */
  subject: string;
  /** Version within the subject. */
  version: number;
  /** Global schema id (the one in the wire format). */
  id: number;
  /** The schema. */
  schema: RegistrySchema;
}

/** Result of {@link SchemaRegistry.checkCompatibility}. */
export interface CompatibilityResult {
  /** Whether the schema may be registered under the subject. */
  compatible: boolean;
  /** Why not, when the registry says (verbose mode). */
  messages: string[];
}

/** Options of {@link SchemaRegistry.checkCompatibility}. */
export interface CheckCompatibilityOptions {
  /** Version to check against; default `latest`. The subject's compatibility level decides transitivity. */
  version?: number | 'latest';
  /** Cancels the request. */
  signal?: AbortSignal;
}

/** Per-call options of registry reads and writes. */
export interface RegistryCallOptions {
  /** Cancels the request. */
  signal?: AbortSignal;
}

interface ErrorBody {
  error_code?: unknown;
  message?: unknown;
}

function errorBody(response: RegistryResponse): { code: number | undefined; message: string } {
  const body = (response.body ?? {}) as ErrorBody;
  const code = typeof body.error_code === 'number' ? body.error_code : undefined;
  const message = typeof body.message === 'string' ? body.message.slice(0, 500) : `HTTP ${response.status}`;
  return { code, message };
}

function asSchemaType(value: unknown): SchemaType {
  return value === 'PROTOBUF' || value === 'JSON' ? value : 'AVRO';
}

function toRegistrySchema(body: Record<string, unknown>): RegistrySchema {
  const references = Array.isArray(body.references) ? (body.references as SchemaReference[]) : undefined;
  const schema: RegistrySchema = {
    // The API omits schemaType for Avro (its default); Apicurio omits it in some responses too.
    schemaType: asSchemaType(body.schemaType),
    schema: String(body.schema ?? ''),
    ...(references !== undefined && references.length > 0 ? { references } : {}),
  };
  return schema;
}

function requestBody(schema: RegistrySchema): Record<string, unknown> {
  const body: Record<string, unknown> = { schema: schema.schema };
  if (schema.schemaType !== 'AVRO') body.schemaType = schema.schemaType;
  if (schema.references !== undefined && schema.references.length > 0) body.references = schema.references;
  return body;
}

function cacheKey(subject: string, schema: RegistrySchema): string {
  return `${subject}\u0000${schema.schemaType}\u0000${schema.schema}`;
}

/**
 * A client of a Confluent-compatible schema registry (Confluent, Apicurio's `ccompat` API, Redpanda,
 * Karapace). Schemas by id and ids by subject+schema are cached forever (both are immutable), and
 * concurrent identical requests share one HTTP call. Every failure is a {@link CodecError}:
 * `REGISTRY_UNAVAILABLE` (retryable) for network trouble and 5xx, else a specific code.
 */
export class SchemaRegistry {
  readonly #http: RegistryHttp;
  readonly #logger: Logger;
  readonly #schemasById = new Map<number, Promise<RegistrySchema>>();
  readonly #idsBySchema = new Map<string, Promise<number>>();
  readonly #diskCache: SchemaDiskCache | undefined;

  constructor(options: SchemaRegistryOptions) {
    const issues = new ConfigIssues('SchemaRegistry');
    let baseUrl: URL | undefined;
    try {
      baseUrl = new URL(options.url);
      if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
        issues.add('url', 'must be an http: or https: URL');
      }
    } catch {
      issues.add('url', 'must be an absolute http: or https: URL');
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    issues.integer(timeoutMs, 'timeoutMs', { min: 1, max: 600_000 });
    let auth = options.auth;
    if (auth !== undefined) {
      issues.require(
        typeof auth.username === 'string' && auth.username.length > 0,
        'auth.username',
        'must be a non-empty string',
      );
      issues.require(typeof auth.password === 'string', 'auth.password', 'must be a string');
    }
    if (baseUrl !== undefined && (baseUrl.username !== '' || baseUrl.password !== '')) {
      if (auth === undefined) {
        auth = { username: decodeURIComponent(baseUrl.username), password: decodeURIComponent(baseUrl.password) };
      } else {
        issues.add('url', 'must not contain credentials when auth is set');
      }
      baseUrl.username = '';
      baseUrl.password = '';
    }
    if (options.tls !== undefined && baseUrl !== undefined && baseUrl.protocol !== 'https:') {
      issues.add('tls', 'needs an https: url');
    }
    if (options.cacheDir !== undefined && (typeof options.cacheDir !== 'string' || options.cacheDir === '')) {
      issues.add('cacheDir', 'must be a non-empty path');
    }
    issues.throwIfAny();
    const authorization =
      auth === undefined ? undefined : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    this.#http = new RegistryHttp({ baseUrl: baseUrl as URL, authorization, tls: options.tls, timeoutMs });
    this.#logger = childLogger(options.logger ?? noopLogger, { component: 'schema-registry' });
    this.#diskCache =
      options.cacheDir === undefined
        ? undefined
        : new SchemaDiskCache(options.cacheDir, this.#http.where, this.#logger);
  }

  /**
   * Loads every schema in {@link SchemaRegistryOptions.cacheDir} into memory, so that messages with
   * those ids decode without the registry. Call it at startup; resolves with the number of schemas
   * loaded (0 without a `cacheDir`). Never fails on a damaged cache: bad files are skipped and logged.
   */
  async preload(): Promise<number> {
    if (this.#diskCache === undefined) return 0;
    const schemas = await this.#diskCache.readAll();
    for (const [id, schema] of schemas) {
      if (!this.#schemasById.has(id)) this.#schemasById.set(id, Promise.resolve(schema));
    }
    this.#logger.info({ schemas: schemas.size, dir: this.#diskCache.dir }, 'schema cache preloaded');
    return schemas.size;
  }

  /** The registry base URL, without credentials. */
  get url(): string {
    return this.#http.where;
  }

  /**
   * Registers `schema` under `subject` (idempotent: an identical schema returns its existing id)
   * and returns the global schema id. Fails with `INCOMPATIBLE_SCHEMA` when the subject's
   * compatibility rule refuses it, `INVALID_SCHEMA` when the registry cannot parse it.
   */
  register(subject: string, schema: RegistrySchema, options: RegistryCallOptions = {}): Promise<number> {
    const key = cacheKey(subject, schema);
    const cached = this.#idsBySchema.get(key);
    if (cached !== undefined) return cached;
    const pending = this.#register(subject, schema, options.signal);
    this.#idsBySchema.set(key, pending);
    pending.catch(() => this.#idsBySchema.delete(key));
    return pending;
  }

  async #register(subject: string, schema: RegistrySchema, signal: AbortSignal | undefined): Promise<number> {
    const response = await this.#http.send(
      'POST',
      `/subjects/${encodeURIComponent(subject)}/versions`,
      requestBody(schema),
      signal,
    );
    if (response.status === 200) {
      const id = (response.body as { id?: unknown } | undefined)?.id;
      if (typeof id === 'number') {
        this.#logger.info({ subject, id }, 'schema registered');
        this.#rememberSchema(id, schema);
        return id;
      }
    }
    throw this.#failure(response, `register a ${schema.schemaType} schema under "${subject}"`, { subject });
  }

  /**
   * Finds the id and version of `schema` under `subject` without registering it; `undefined`
   * when it is not registered there.
   */
  async lookup(
    subject: string,
    schema: RegistrySchema,
    options: RegistryCallOptions = {},
  ): Promise<SubjectVersion | undefined> {
    const response = await this.#http.send(
      'POST',
      `/subjects/${encodeURIComponent(subject)}`,
      requestBody(schema),
      options.signal,
    );
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.#failure(response, `look up a schema under "${subject}"`, { subject });
    return this.#subjectVersion(subject, response.body, schema.schemaType);
  }

  /** The schema with global id `id`; cached forever. Fails with `UNKNOWN_SCHEMA_ID` when there is none. */
  getSchema(id: number, options: RegistryCallOptions = {}): Promise<RegistrySchema> {
    const cached = this.#schemasById.get(id);
    if (cached !== undefined) return cached;
    const pending = this.#fetchSchema(id, options.signal);
    this.#schemasById.set(id, pending);
    pending.catch(() => this.#schemasById.delete(id));
    return pending;
  }

  async #fetchSchema(id: number, signal: AbortSignal | undefined): Promise<RegistrySchema> {
    const cached = await this.#diskCache?.read(id);
    if (cached !== undefined) return cached;
    const response = await this.#http.send('GET', `/schemas/ids/${id}`, undefined, signal);
    if (response.status === 200 && typeof response.body === 'object' && response.body !== null) {
      const schema = toRegistrySchema(response.body as Record<string, unknown>);
      this.#diskCache?.write(id, schema);
      return schema;
    }
    if (response.status === 404) {
      throw new CodecError(`Schema id ${id} is not known to the registry at ${this.#http.where}`, {
        code: 'UNKNOWN_SCHEMA_ID',
        schemaId: id,
        status: 404,
      });
    }
    throw this.#failure(response, `fetch schema id ${id}`, { schemaId: id });
  }

  /** Version `version` (or the latest) of `subject`. Fails with `SUBJECT_NOT_FOUND` when missing. */
  async getVersion(
    subject: string,
    version: number | 'latest',
    options: RegistryCallOptions = {},
  ): Promise<SubjectVersion> {
    const response = await this.#http.send(
      'GET',
      `/subjects/${encodeURIComponent(subject)}/versions/${version}`,
      undefined,
      options.signal,
    );
    if (response.status !== 200) throw this.#failure(response, `get version ${version} of "${subject}"`, { subject });
    return this.#subjectVersion(subject, response.body, undefined);
  }

  /** The versions registered under `subject`; empty when the subject does not exist. */
  async versions(subject: string, options: RegistryCallOptions = {}): Promise<number[]> {
    const response = await this.#http.send(
      'GET',
      `/subjects/${encodeURIComponent(subject)}/versions`,
      undefined,
      options.signal,
    );
    if (response.status === 404) return [];
    if (response.status !== 200 || !Array.isArray(response.body)) {
      throw this.#failure(response, `list versions of "${subject}"`, { subject });
    }
    return (response.body as unknown[]).filter((v): v is number => typeof v === 'number');
  }

  /** All subjects. */
  async subjects(options: RegistryCallOptions = {}): Promise<string[]> {
    const response = await this.#http.send('GET', '/subjects', undefined, options.signal);
    if (response.status !== 200 || !Array.isArray(response.body)) throw this.#failure(response, 'list subjects', {});
    return (response.body as unknown[]).filter((s): s is string => typeof s === 'string');
  }

  /**
   * Whether `schema` could be registered under `subject` without breaking its compatibility rule,
   * without registering it: run it in CI to fail the build on an incompatible change. A subject
   * without versions accepts anything.
   */
  async checkCompatibility(
    subject: string,
    schema: RegistrySchema,
    options: CheckCompatibilityOptions = {},
  ): Promise<CompatibilityResult> {
    const version = options.version ?? 'latest';
    const response = await this.#http.send(
      'POST',
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/${version}?verbose=true`,
      requestBody(schema),
      options.signal,
    );
    if (response.status === 404) return { compatible: true, messages: [] };
    if (response.status !== 200) throw this.#failure(response, `check compatibility with "${subject}"`, { subject });
    const body = (response.body ?? {}) as { is_compatible?: unknown; messages?: unknown };
    const messages = Array.isArray(body.messages) ? body.messages.map(String) : [];
    return { compatible: body.is_compatible === true, messages };
  }

  /** Sets the compatibility level of `subject`. */
  async setCompatibility(subject: string, level: CompatibilityLevel, options: RegistryCallOptions = {}): Promise<void> {
    if (!LEVELS.includes(level)) {
      throw new CodecError(`Unknown compatibility level; expected one of ${LEVELS.join(', ')}`, {
        code: 'REGISTRY_ERROR',
        subject,
      });
    }
    const response = await this.#http.send(
      'PUT',
      `/config/${encodeURIComponent(subject)}`,
      { compatibility: level },
      options.signal,
    );
    if (response.status !== 200) throw this.#failure(response, `set the compatibility of "${subject}"`, { subject });
  }

  /**
   * The compatibility level of `subject`, falling back to the global level when the subject has
   * none. (Apicurio answers `NONE` for a subject without its own rule even though the global rule
   * applies, so this asks for the fallback explicitly and reads the global level if needed.)
   */
  async getCompatibility(subject: string, options: RegistryCallOptions = {}): Promise<CompatibilityLevel> {
    const response = await this.#http.send(
      'GET',
      `/config/${encodeURIComponent(subject)}?defaultToGlobal=true`,
      undefined,
      options.signal,
    );
    const level = (response.body as { compatibilityLevel?: unknown } | undefined)?.compatibilityLevel;
    if (response.status === 200 && LEVELS.includes(level as CompatibilityLevel) && level !== 'NONE') {
      return level as CompatibilityLevel;
    }
    if (response.status !== 200 && response.status !== 404) {
      throw this.#failure(response, `get the compatibility of "${subject}"`, { subject });
    }
    const global = await this.#http.send('GET', '/config', undefined, options.signal);
    const globalLevel = (global.body as { compatibilityLevel?: unknown } | undefined)?.compatibilityLevel;
    if (global.status !== 200 || !LEVELS.includes(globalLevel as CompatibilityLevel)) {
      throw this.#failure(global, 'get the global compatibility', {});
    }
    return response.status === 200 && level === 'NONE' && globalLevel === 'NONE'
      ? 'NONE'
      : (globalLevel as CompatibilityLevel);
  }

  /** Deletes `subject` (soft, or permanently after a soft delete); returns the deleted versions. */
  async deleteSubject(subject: string, options: RegistryCallOptions & { permanent?: boolean } = {}): Promise<number[]> {
    const query = options.permanent === true ? '?permanent=true' : '';
    const response = await this.#http.send(
      'DELETE',
      `/subjects/${encodeURIComponent(subject)}${query}`,
      undefined,
      options.signal,
    );
    if (response.status === 404) return [];
    if (response.status !== 200) throw this.#failure(response, `delete "${subject}"`, { subject });
    return Array.isArray(response.body)
      ? (response.body as unknown[]).filter((v): v is number => typeof v === 'number')
      : [];
  }

  /** Closes idle connections. The client stays usable (new requests reconnect). */
  close(): void {
    this.#http.close();
  }

  /** Closes idle connections and waits for the schema cache's pending writes, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#diskCache?.flush();
  }

  #rememberSchema(id: number, schema: RegistrySchema): void {
    if (this.#schemasById.has(id)) return;
    this.#schemasById.set(id, Promise.resolve(schema));
    this.#diskCache?.write(id, schema);
  }

  #subjectVersion(subject: string, body: unknown, schemaType: SchemaType | undefined): SubjectVersion {
    const record = (body ?? {}) as Record<string, unknown>;
    const id = record.id;
    const version = record.version;
    if (typeof id !== 'number' || typeof version !== 'number') {
      throw new CodecError(`Registry answered without id/version for "${subject}"`, {
        code: 'REGISTRY_ERROR',
        subject,
      });
    }
    // Apicurio's lookup response omits schemaType: keep the type that was asked about.
    const schema = toRegistrySchema(
      record.schemaType === undefined && schemaType !== undefined ? { ...record, schemaType } : record,
    );
    this.#rememberSchema(id, schema);
    return { subject, version, id, schema };
  }

  #failure(response: RegistryResponse, what: string, context: { subject?: string; schemaId?: number }): CodecError {
    const { code, message } = errorBody(response);
    const status = response.status;
    const base = { status, subject: context.subject, schemaId: context.schemaId };
    const text = `Schema registry could not ${what}: ${message}`;
    if (status >= 500 || status === 0 || status === 408 || status === 429) {
      return new CodecError(text, { code: 'REGISTRY_UNAVAILABLE', ...base });
    }
    if (status === 409) return new CodecError(text, { code: 'INCOMPATIBLE_SCHEMA', ...base });
    if (status === 422) return new CodecError(text, { code: 'INVALID_SCHEMA', ...base });
    if (status === 404) {
      if (code === 40403) return new CodecError(text, { code: 'UNKNOWN_SCHEMA_ID', ...base });
      if (code === 40401 || code === 40402) return new CodecError(text, { code: 'SUBJECT_NOT_FOUND', ...base });
      return new CodecError(text, { code: 'SUBJECT_NOT_FOUND', ...base });
    }
    return new CodecError(text, { code: 'REGISTRY_ERROR', ...base });
  }
}
