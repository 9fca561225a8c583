import type { DeadLetter, DeadLetterQueue, DeadLetterSelector } from '@bus/core';
import { KafkaDeadLetterQueue } from '@bus/kafka';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { CliError, CliErrorCode } from '../errors.js';
import { PayloadDecoder } from '../internal/payload-decoder.js';
import { parseCount } from '../internal/positions.js';
import { printJson, printTable } from '../io.js';
import type { CommandRunner } from '../program.js';

interface ReplayOptions {
  at?: string;
  errorCode?: string;
  errorClass?: string;
  originalTopic?: string;
  progress?: boolean;
}

/** Replays of at least this many letters draw a progress bar (on a terminal, or with --progress). */
const PROGRESS_FROM = 100;

/** `bus dlq list | count | replay <topic>`, through core's `DeadLetterQueue` contract. */
export function registerDlqCommands(program: Command, run: CommandRunner): void {
  const dlq = program.command('dlq').description('dead-letter topics: list, count, replay');

  dlq
    .command('list <topic>')
    .description('dead letters with why they failed, oldest first per partition')
    .option('-n, --limit <n>', 'most letters shown (1 to 10000)', '100')
    .option('--from <partition:offset>', 'first position shown')
    .action(
      run(async (ctx, topic: string, options: { limit: string; from?: string }) => {
        const queue = await openQueue(ctx, topic);
        const from = options.from === undefined ? undefined : parsePosition('--from', options.from);
        const letters = await queue.list({
          limit: parseCount('--limit', options.limit)!,
          ...(from === undefined ? {} : { from }),
        });
        if (ctx.json) {
          const decoder = new PayloadDecoder(ctx.optionalRegistry());
          for (const letter of letters) printJson(ctx.io, await letterJson(letter, decoder));
          return;
        }
        printTable(
          ctx.io,
          ['partition', 'offset', 'original', 'handler', 'error', 'attempts', 'failed at'],
          letters.map((l) => [
            l.partition,
            l.offset,
            l.failure === undefined
              ? '-'
              : `${l.failure.originalTopic}/${l.failure.originalPartition}/${l.failure.originalOffset}`,
            l.failure?.handler,
            l.failure === undefined ? '(no bus-dlq headers)' : errorSummary(l),
            l.failure?.attempts,
            isoOrDash(l.failure?.lastFailedAt),
          ]),
        );
      }),
    );

  dlq
    .command('count <topic>')
    .description('how many letters the topic holds')
    .action(
      run(async (ctx, topic: string) => {
        const count = await (await openQueue(ctx, topic)).count();
        if (ctx.json) printJson(ctx.io, { topic, count });
        else ctx.io.stdout(`${count}\n`);
      }),
    );

  dlq
    .command('replay <topic>')
    .description('republish dead letters to their original topics (all, or those the options select)')
    .option('--at <partition:offset>', 'only the letter at this position')
    .option('--error-code <code>', 'only letters whose error had this code')
    .option('--error-class <name>', 'only letters whose error had this class name')
    .option('--original-topic <topic>', 'only letters that failed on this topic')
    .option('--progress', 'draw a progress bar even when stderr is not a terminal')
    .action(run(async (ctx, topic: string, options: ReplayOptions) => replay(ctx, topic, options)));
}

async function openQueue(ctx: CommandContext, topic: string): Promise<DeadLetterQueue> {
  const admin = await ctx.admin();
  await admin.watermarks(topic); // an unknown topic is an error here, not an empty queue
  const queue = new KafkaDeadLetterQueue({ ...(await ctx.connection()), topic });
  ctx.onClose(() => queue.close());
  return queue;
}

async function replay(ctx: CommandContext, topic: string, options: ReplayOptions): Promise<void> {
  const filtered =
    options.errorCode !== undefined || options.errorClass !== undefined || options.originalTopic !== undefined;
  if (options.at !== undefined && filtered) {
    throw new CliError('--at selects one letter: it cannot be combined with filters', CliErrorCode.USAGE);
  }
  const position = options.at === undefined ? undefined : parsePosition('--at', options.at);
  const queue = await openQueue(ctx, topic);
  let selector: DeadLetterSelector;
  let bar: SingleBar | undefined;
  if (position !== undefined) {
    selector = position;
  } else {
    const total = await queue.count();
    const stream = ctx.io.progressStream;
    if (stream !== undefined && total >= PROGRESS_FROM && (ctx.io.stderrIsTTY || options.progress === true)) {
      bar = new SingleBar({
        stream: stream as NodeJS.WritableStream,
        noTTYOutput: !ctx.io.stderrIsTTY,
        notTTYSchedule: 1_000,
        format: 'replaying {bar} {value}/{total} letters read | {eta_formatted} left',
      });
      bar.start(total, 0);
    }
    selector = (letter) => {
      bar?.increment();
      const failure = letter.failure;
      return (
        (options.errorCode === undefined || failure?.errorCode === options.errorCode) &&
        (options.errorClass === undefined || failure?.errorClass === options.errorClass) &&
        (options.originalTopic === undefined || failure?.originalTopic === options.originalTopic)
      );
    };
  }
  try {
    const report = await queue.replay(selector, ctx.io.signal === undefined ? {} : { signal: ctx.io.signal });
    bar?.stop();
    if (ctx.json)
      printJson(ctx.io, {
        topic,
        replayed: report.replayed.length,
        skipped: report.skipped.length,
        replayedPositions: report.replayed,
        skippedPositions: report.skipped,
      });
    else ctx.io.stdout(`replayed ${report.replayed.length}, skipped ${report.skipped.length} (no bus-dlq headers)\n`);
  } finally {
    bar?.stop();
  }
}

function isoOrDash(date: Date | undefined): string {
  return date === undefined || Number.isNaN(date.getTime()) ? '-' : date.toISOString();
}

function parsePosition(name: string, text: string): { partition: number; offset: number } {
  const match = /^(\d+):(\d+)$/.exec(text.trim());
  if (match === null) throw new CliError(`${name} must be partition:offset, not "${text}"`, CliErrorCode.USAGE);
  return { partition: Number(match[1]), offset: Number(match[2]) };
}

function errorSummary(letter: DeadLetter): string {
  const failure = letter.failure!;
  const code = failure.errorCode === undefined ? '' : ` [${failure.errorCode}]`;
  const message = failure.errorMessage.length > 80 ? `${failure.errorMessage.slice(0, 77)}...` : failure.errorMessage;
  return `${failure.errorClass}${code}: ${message}`;
}

async function letterJson(letter: DeadLetter, decoder: PayloadDecoder): Promise<Record<string, unknown>> {
  const { message, failure } = letter;
  const payload = await decoder.decode(message.payload, {
    topic: failure?.originalTopic,
    role: 'value',
    headers: message.headers,
  });
  return {
    partition: letter.partition,
    offset: letter.offset,
    id: message.id,
    key: message.key ?? null,
    failure: failure ?? null,
    format: payload.format,
    value: payload.value,
  };
}
