import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { registerDlqCommands } from './commands/dlq.js';
import { registerGroupCommands } from './commands/groups.js';
import { registerProduceCommand } from './commands/produce.js';
import { registerSchemaCommands } from './commands/schema.js';
import { registerTailCommand } from './commands/tail.js';
import { registerTopicCommands } from './commands/topics.js';
import { CommandContext, type GlobalOptions } from './context.js';
import { CliError, CliErrorCode, errorLine, mask } from './errors.js';
import { type CliIo, processIo } from './io.js';

/** Runs a command with a fresh {@link CommandContext}, closed when it ends. */
export type CommandRunner = <A extends unknown[]>(
  handler: (ctx: CommandContext, ...args: A) => Promise<void>,
) => (...args: unknown[]) => Promise<void>;

/** Version printed by `bus --version`: the package's own (src/ and dist/ both sit next to package.json). */
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

function buildProgram(io: CliIo, contexts: CommandContext[]): Command {
  const program = new Command('bus')
    .description('Operate bus services on Kafka: topics, tail, produce, consumer groups, dead letters, schemas.')
    .version(VERSION)
    .option('--url <url>', 'Kafka URL kafka://[user:pass@]host:port[,host:port][?security=…] (default: KAFKA_* env)')
    .option('--registry <url>', 'schema registry URL (default: SCHEMA_REGISTRY_URL)')
    .option('--json', 'print JSON, one document per line')
    .option('--timeout <ms>', 'connection and request timeout in milliseconds')
    .option('--verbose', 'print stack traces on errors')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} });

  const run: CommandRunner =
    (handler) =>
    async (...args) => {
      const command = args[args.length - 1] as Command;
      const ctx = new CommandContext(io, command.optsWithGlobals<GlobalOptions>());
      contexts.push(ctx);
      try {
        await handler(ctx, ...(args.slice(0, -1) as never));
      } finally {
        await ctx.close();
      }
    };
  registerTopicCommands(program, run);
  registerTailCommand(program, run);
  registerProduceCommand(program, run);
  registerGroupCommands(program, run);
  registerDlqCommands(program, run);
  registerSchemaCommands(program, run);
  for (const command of program.commands) applyExitOverride(command, io);
  return program;
}

function applyExitOverride(command: Command, io: CliIo): void {
  command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: () => {} });
  for (const sub of command.commands) applyExitOverride(sub, io);
}

/**
 * Runs the `bus` command line with `argv` (without `node` and the script) and resolves with the
 * exit code: 0 on success, 1 on failure, 2 on bad usage. Failures print one line to stderr
 * (`error [CODE]: message`), with the stack only under `--verbose`; secrets are never printed.
 *
 * @example
 * const code = await runBus(['topics', 'list', '--json', '--url', 'kafka://localhost:9092']);
 */
export async function runBus(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const contexts: CommandContext[] = [];
  const program = buildProgram(io, contexts);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version requests end through here too, with exit code 0.
      if (error.exitCode === 0) return 0;
      io.stderr(`${errorLine(new CliError(error.message.replace(/^error: /, ''), CliErrorCode.USAGE), [])}\n`);
      return 2;
    }
    const secrets = contexts.flatMap((c) => c.secrets);
    io.stderr(`${errorLine(error, secrets)}\n`);
    if (argv.includes('--verbose') && error instanceof Error && error.stack !== undefined) {
      io.stderr(`${mask(error.stack, secrets)}\n`);
    }
    return CliError.isInstance(error) ? error.exitCode : 1;
  }
}
