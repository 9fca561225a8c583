import type { Command } from 'commander';
import { CliError, CliErrorCode } from '../errors.js';
import { readSchemaFile } from '../internal/schema-file.js';
import { printJson } from '../io.js';
import type { CommandRunner } from '../program.js';

interface SchemaOptions {
  subject: string;
  schemaType?: string;
  version?: string;
}

/** `bus schema check | register <file> --subject <s>`. */
export function registerSchemaCommands(program: Command, run: CommandRunner): void {
  const schema = program.command('schema').description('schema registry: compatibility checks and registration');

  schema
    .command('check <file>')
    .description("check a schema against the subject's compatibility rule; exits 1 when incompatible (for CI)")
    .requiredOption('-s, --subject <subject>', 'the subject, e.g. orders-value')
    .option('--schema-type <type>', 'avro | protobuf | json, when the file extension does not tell')
    .option('--version <version>', 'check against this version instead of the latest')
    .action(
      run(async (ctx, file: string, options: SchemaOptions) => {
        const registrySchema = await readSchemaFile(file, options.schemaType);
        const version = options.version === undefined ? 'latest' : Number(options.version);
        if (version !== 'latest' && !(Number.isInteger(version) && version > 0)) {
          throw new CliError('--version must be a positive whole number', CliErrorCode.USAGE);
        }
        const result = await ctx.registry().checkCompatibility(options.subject, registrySchema, { version });
        if (ctx.json) printJson(ctx.io, { subject: options.subject, file, ...result });
        else if (result.compatible) ctx.io.stdout(`compatible: ${file} with ${options.subject}\n`);
        if (!result.compatible) {
          const why = result.messages.length === 0 ? '' : `: ${result.messages.join('; ')}`;
          throw new CliError(`${file} is not compatible with ${options.subject}${why}`, CliErrorCode.INCOMPATIBLE);
        }
      }),
    );

  schema
    .command('register <file>')
    .description('register a schema under a subject (idempotent) and print its id')
    .requiredOption('-s, --subject <subject>', 'the subject, e.g. orders-value')
    .option('--schema-type <type>', 'avro | protobuf | json, when the file extension does not tell')
    .action(
      run(async (ctx, file: string, options: SchemaOptions) => {
        const registrySchema = await readSchemaFile(file, options.schemaType);
        const registry = ctx.registry();
        const id = await registry.register(options.subject, registrySchema);
        const versions = await registry.versions(options.subject);
        const version = versions[versions.length - 1];
        if (ctx.json)
          printJson(ctx.io, { subject: options.subject, id, version, schemaType: registrySchema.schemaType });
        else ctx.io.stdout(`registered: ${options.subject} id ${id} (version ${version})\n`);
      }),
    );
}
