import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { RegistrySchema, SchemaType } from '@bus/codecs';
import { CliError, CliErrorCode } from '../errors.js';

const TYPES: Record<string, SchemaType> = { avro: 'AVRO', protobuf: 'PROTOBUF', proto: 'PROTOBUF', json: 'JSON' };

/**
 * Reads a schema file. The format comes from `--schema-type` (avro | protobuf | json), else the
 * extension: `.avsc` Avro, `.proto` Protobuf, `.json` JSON Schema (or Avro when it declares a
 * record, enum or fixed `type`).
 */
export async function readSchemaFile(path: string, type: string | undefined): Promise<RegistrySchema> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(
      `Cannot read schema file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`,
      CliErrorCode.USAGE,
    );
  }
  let schemaType: SchemaType | undefined;
  if (type !== undefined) {
    schemaType = TYPES[type.toLowerCase()];
    if (schemaType === undefined)
      throw new CliError('--schema-type must be avro, protobuf or json', CliErrorCode.USAGE);
  } else {
    const extension = extname(path).toLowerCase();
    if (extension === '.avsc') schemaType = 'AVRO';
    else if (extension === '.proto') schemaType = 'PROTOBUF';
    else if (extension === '.json') schemaType = looksLikeAvro(text) ? 'AVRO' : 'JSON';
    else
      throw new CliError(
        `Cannot tell the format of ${path}: pass --schema-type avro|protobuf|json`,
        CliErrorCode.USAGE,
      );
  }
  if (schemaType !== 'PROTOBUF') {
    try {
      JSON.parse(text);
    } catch {
      throw new CliError(`Schema file ${path} is not valid JSON`, CliErrorCode.USAGE);
    }
  }
  return { schemaType, schema: text };
}

function looksLikeAvro(text: string): boolean {
  try {
    const parsed = JSON.parse(text) as { type?: unknown; $schema?: unknown };
    return parsed.$schema === undefined && ['record', 'enum', 'fixed'].includes(String(parsed.type));
  } catch {
    return false;
  }
}
