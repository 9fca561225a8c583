import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@bus/core';
import type { RegistrySchema, SchemaReference, SchemaType } from '../schema-format.js';

const SCHEMA_TYPES: readonly SchemaType[] = ['AVRO', 'PROTOBUF', 'JSON'];
const FILE_NAME = /^(\d+)\.json$/;

interface CachedSchemaFile {
  id: number;
  schemaType: SchemaType;
  schema: string;
  references?: readonly SchemaReference[];
}

function parseCachedSchema(text: string, id: number): RegistrySchema | undefined {
  let value: Partial<CachedSchemaFile>;
  try {
    value = JSON.parse(text) as Partial<CachedSchemaFile>;
  } catch {
    return undefined;
  }
  if (value.id !== id || typeof value.schema !== 'string' || !SCHEMA_TYPES.includes(value.schemaType as SchemaType)) {
    return undefined;
  }
  const references = Array.isArray(value.references) ? value.references : undefined;
  return {
    schemaType: value.schemaType as SchemaType,
    schema: value.schema,
    ...(references !== undefined && references.length > 0 ? { references } : {}),
  };
}

/**
 * Schemas by id on disk, one JSON file per id. A schema id never changes meaning within one
 * registry, so what was fetched once stays valid: a client restarted while the registry is down
 * still decodes what it knew. Each registry URL gets its own folder, as ids are per registry.
 * Writes happen behind the caller's back (write to a temporary file, then rename, so a reader
 * never sees half a file); a failed write is logged and otherwise ignored.
 */
export class SchemaDiskCache {
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #writes = new Set<Promise<void>>();
  readonly #written = new Set<number>();

  constructor(cacheDir: string, registryUrl: string, logger: Logger) {
    const key = createHash('sha256').update(registryUrl).digest('hex').slice(0, 16);
    this.#dir = join(cacheDir, `registry-${key}`);
    this.#logger = logger;
  }

  /** The folder holding this registry's schemas. */
  get dir(): string {
    return this.#dir;
  }

  /** Every schema on disk. Unreadable or damaged files are skipped (and logged). */
  async readAll(): Promise<Map<number, RegistrySchema>> {
    const schemas = new Map<number, RegistrySchema>();
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') this.#warn(error, 'cannot list the schema cache');
      return schemas;
    }
    await Promise.all(
      names.map(async (name) => {
        const match = FILE_NAME.exec(name);
        if (!match) return;
        const id = Number(match[1]);
        const schema = await this.read(id);
        if (schema !== undefined) schemas.set(id, schema);
      }),
    );
    return schemas;
  }

  /** The schema with `id` on disk, or `undefined`. */
  async read(id: number): Promise<RegistrySchema | undefined> {
    let text: string;
    try {
      text = await readFile(this.#file(id), 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ENOENT') this.#warn(error, 'cannot read a cached schema', id);
      return undefined;
    }
    const schema = parseCachedSchema(text, id);
    if (schema === undefined) this.#logger.warn({ schemaId: id, dir: this.#dir }, 'ignoring a damaged cached schema');
    else this.#written.add(id);
    return schema;
  }

  /** Stores `schema` under `id` in the background, once per id and process. */
  write(id: number, schema: RegistrySchema): void {
    if (this.#written.has(id)) return;
    this.#written.add(id);
    const file: CachedSchemaFile = { id, schemaType: schema.schemaType, schema: schema.schema };
    if (schema.references !== undefined && schema.references.length > 0) file.references = schema.references;
    const pending = this.#writeFile(id, JSON.stringify(file)).catch((error: unknown) => {
      this.#written.delete(id);
      this.#warn(error, 'cannot write the schema cache', id);
    });
    this.#writes.add(pending);
    void pending.finally(() => this.#writes.delete(pending));
  }

  /** Resolves once every write started so far has finished (or failed). */
  async flush(): Promise<void> {
    while (this.#writes.size > 0) await Promise.all(this.#writes);
  }

  async #writeFile(id: number, text: string): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const temporary = join(this.#dir, `.${id}.${randomUUID()}.tmp`);
    try {
      await writeFile(temporary, text);
      await rename(temporary, this.#file(id));
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  #file(id: number): string {
    return join(this.#dir, `${id}.json`);
  }

  #warn(error: unknown, message: string, id?: number): void {
    const code = (error as { code?: unknown }).code;
    this.#logger.warn({ dir: this.#dir, ...(id === undefined ? {} : { schemaId: id }), code }, message);
  }
}
