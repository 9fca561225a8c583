import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Codec, RegistrySchema, SchemaFormat } from '@bus/codecs';
import { avroSchemaFormat } from '@bus/codecs/avro';
import { jsonSchemaFormat } from '@bus/codecs/json';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { registryCodec } from '@bus/codecs/registry';
import { createMessage, type Message } from '@bus/core';
import { KafkaPublisher } from '@bus/kafka';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { CliError, CliErrorCode } from '../errors.js';
import { messageTypeNames } from '../internal/protobufjs.js';
import { parseHeaders } from '../internal/positions.js';
import { readSchemaFile } from '../internal/schema-file.js';
import { printJson } from '../io.js';
import type { CommandRunner } from '../program.js';

interface ProduceOptions {
  subject?: string;
  schema?: string;
  schemaType?: string;
  messageType?: string;
  keyField?: string;
  header: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];
const BATCH = 500;

/** `bus produce <topic>`: JSON lines from stdin, optionally encoded through the registry. */
export function registerProduceCommand(program: Command, run: CommandRunner): void {
  program
    .command('produce <topic>')
    .description('publish JSON lines read from stdin, as JSON or encoded through the schema registry')
    .option('--subject <subject>', 'encode with the latest schema of this subject (with --schema: register under it)')
    .option(
      '--schema <file>',
      'encode with this schema (.avsc, .proto, .json), registered under --subject or <topic>-value',
    )
    .option('--schema-type <type>', 'avro | protobuf | json, when the file extension does not tell')
    .option('--message-type <name>', 'protobuf message to write (default: the first in the file)')
    .option('--key-field <field>', 'use this field of each value (dotted path) as the key')
    .option('-H, --header <name=value>', 'header on every record, repeatable', collect, [])
    .action(run(async (ctx, topic: string, options: ProduceOptions) => produce(ctx, topic, options)));
}

async function produce(ctx: CommandContext, topic: string, options: ProduceOptions): Promise<void> {
  const headers = parseHeaders(options.header);
  const admin = await ctx.admin();
  await admin.watermarks(topic); // KAFKA_UNKNOWN_TOPIC before reading any input
  const codec = await codecFor(ctx, topic, options);
  const publisher = new KafkaPublisher(await ctx.connection());
  ctx.onClose(() => publisher.close());
  let produced = 0;
  let lineNumber = 0;
  let batch: Message[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await publisher.publish(topic, ...batch);
    produced += batch.length;
    batch = [];
  };
  const lines = createInterface({ input: Readable.from(ctx.io.stdin), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CliError(
        `Line ${lineNumber} is not JSON (${produced} records published before it)`,
        CliErrorCode.BAD_INPUT,
      );
    }
    const key = options.keyField === undefined ? undefined : keyOf(value, options.keyField, lineNumber);
    const payload =
      codec === undefined
        ? Buffer.from(JSON.stringify(value))
        : await encodeLine(codec, value, { topic, headers }, lineNumber, produced);
    batch.push(
      createMessage({
        payload,
        headers: { 'content-type': codec?.contentType ?? 'application/json', ...headers },
        ...(key === undefined ? {} : { key }),
      }),
    );
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  if (ctx.json) printJson(ctx.io, { topic, produced });
  else ctx.io.stdout(`produced ${produced} record${produced === 1 ? '' : 's'} to ${topic}\n`);
}

async function encodeLine(
  codec: Codec<unknown>,
  value: unknown,
  context: { topic: string; headers: Record<string, string> },
  lineNumber: number,
  produced: number,
): Promise<Uint8Array> {
  try {
    return await codec.encode(value, { topic: context.topic, role: 'value', headers: context.headers });
  } catch (error) {
    throw new CliError(
      `Line ${lineNumber} does not fit the schema: ${(error as Error).message} (${produced} records published before it)`,
      CliErrorCode.BAD_INPUT,
      { cause: error },
    );
  }
}

function keyOf(value: unknown, path: string, lineNumber: number): string {
  let current: unknown = value;
  for (const part of path.split('.')) {
    current = typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[part] : undefined;
  }
  if (current === undefined || current === null) {
    throw new CliError(`Line ${lineNumber} has no "${path}" for the key`, CliErrorCode.BAD_INPUT);
  }
  return typeof current === 'string' ? current : JSON.stringify(current);
}

/** The registry codec `--subject` / `--schema` ask for, or none for plain JSON. */
async function codecFor(
  ctx: CommandContext,
  topic: string,
  options: ProduceOptions,
): Promise<Codec<unknown> | undefined> {
  if (options.subject === undefined && options.schema === undefined) return undefined;
  const registry = ctx.registry();
  const subject = options.subject ?? `${topic}-value`;
  const schema =
    options.schema === undefined
      ? (await registry.getVersion(subject, 'latest')).schema
      : await readSchemaFile(options.schema, options.schemaType);
  const codec = registryCodec({
    registry,
    format: formatOf(schema, options.messageType),
    subjectNameStrategy: () => subject,
    schema: options.schema === undefined ? 'latest' : 'auto-register',
  });
  await codec.prepare(topic, 'value');
  return codec;
}

function formatOf(schema: RegistrySchema, messageType: string | undefined): SchemaFormat<unknown> {
  if (schema.schemaType === 'AVRO') return avroSchemaFormat<unknown>({ schema: JSON.parse(schema.schema) });
  if (schema.schemaType === 'JSON') return jsonSchemaFormat({ jsonSchema: schema.schema }) as SchemaFormat<unknown>;
  const typeName = messageType ?? messageTypeNames(schema.schema)[0];
  if (typeName === undefined) throw new CliError('The .proto schema declares no message', CliErrorCode.USAGE);
  return protobufSchemaFormat<unknown>({ proto: schema.schema, typeName, keepCase: true });
}
