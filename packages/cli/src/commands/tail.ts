import { TYPE_HEADER } from '@bus/codecs';
import type { KafkaAdmin, PartitionWatermarks, PeekedRecord } from '@bus/kafka';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { CliError, CliErrorCode } from '../errors.js';
import { PayloadDecoder } from '../internal/payload-decoder.js';
import { parseCount, parseHeaders, parseStart, type StartPosition } from '../internal/positions.js';
import { printJson } from '../io.js';
import type { CommandRunner } from '../program.js';

interface TailOptions {
  from?: string;
  follow?: boolean;
  key?: string;
  header: string[];
  partition?: string;
  limit?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];
const PAGE = 10_000;
const FOLLOW_WAIT_MS = 1_000;

/** `bus tail <topic>`: reads records without a consumer group, decoding registry payloads. */
export function registerTailCommand(program: Command, run: CommandRunner): void {
  program
    .command('tail <topic>')
    .description(
      'print records of a topic, decoded (registry Avro/Protobuf/JSON Schema, JSON, text); no consumer group',
    )
    .option('--from <position>', 'earliest | latest | <offset> | <ISO time> (default: earliest, latest with --follow)')
    .option('-f, --follow', 'keep waiting for new records until interrupted')
    .option('-k, --key <key>', 'only records with this key')
    .option('-H, --header <name=value>', 'only records with this header value, repeatable', collect, [])
    .option('-p, --partition <n>', 'only this partition')
    .option('-n, --limit <n>', 'stop after this many records')
    .action(run(async (ctx, topic: string, options: TailOptions) => tail(ctx, topic, options)));
}

async function tail(ctx: CommandContext, topic: string, options: TailOptions): Promise<void> {
  const follow = options.follow === true;
  const start = parseStart(options.from ?? (follow ? 'latest' : 'earliest'));
  const limit = parseCount('--limit', options.limit) ?? Number.POSITIVE_INFINITY;
  const partitionFilter = parseCount('--partition', options.partition);
  const headers = Object.entries(parseHeaders(options.header));
  const admin = await ctx.admin();
  const decoder = new PayloadDecoder(ctx.optionalRegistry());
  let watermarks = await admin.watermarks(topic);
  if (partitionFilter !== undefined) {
    watermarks = watermarks.filter((w) => w.partition === partitionFilter);
    if (watermarks.length === 0)
      throw new CliError(`Topic "${topic}" has no partition ${partitionFilter}`, CliErrorCode.USAGE);
  }
  const starts = await startOffsets(admin, topic, watermarks, start);
  let printed = 0;
  const accept = (record: PeekedRecord) =>
    (options.key === undefined || (record.key !== null && Buffer.from(record.key).toString() === options.key)) &&
    headers.every(([name, value]) => record.headers[name] === value);
  // Resolves false once the limit is reached.
  const emit = async (record: PeekedRecord): Promise<boolean> => {
    if (printed >= limit) return false;
    if (!accept(record)) return true;
    printed++;
    await printRecord(ctx, decoder, record);
    // A slow reader (`bus tail … | less`) holds the reading back instead of filling memory.
    await ctx.io.drained?.();
    return printed < limit;
  };

  if (!follow) {
    for (const w of watermarks) {
      let next = starts.get(w.partition)!;
      while (next < w.high && printed < limit) {
        const page = await admin.peek(topic, { partition: w.partition, from: next, to: w.high, limit: PAGE });
        for (const record of page.records) if (!(await emit(record))) return;
        if (page.nextOffset <= next) break;
        next = page.nextOffset;
      }
    }
    return;
  }
  // Following: one loop per partition, each waiting at its end for new records.
  const stop = new AbortController();
  const signal = ctx.io.signal === undefined ? stop.signal : AbortSignal.any([stop.signal, ctx.io.signal]);
  await Promise.all(
    watermarks.map(async (w) => {
      let next = starts.get(w.partition)!;
      while (!signal.aborted) {
        const page = await admin
          .peek(topic, { partition: w.partition, from: next, waitMs: FOLLOW_WAIT_MS, limit: PAGE, signal })
          .catch((error: unknown) => {
            if (signal.aborted) return undefined;
            throw error;
          });
        if (page === undefined) return;
        for (const record of page.records) {
          if (!(await emit(record))) {
            stop.abort();
            return;
          }
        }
        next = page.nextOffset;
      }
    }),
  );
}

async function startOffsets(
  admin: KafkaAdmin,
  topic: string,
  watermarks: readonly PartitionWatermarks[],
  start: StartPosition,
): Promise<Map<number, number>> {
  const starts = new Map<number, number>();
  const atTime =
    typeof start === 'object' && 'timestamp' in start ? await admin.offsetsAtTime(topic, start.timestamp) : [];
  for (const w of watermarks) {
    let offset: number;
    if (start === 'earliest') offset = w.low;
    else if (start === 'latest') offset = w.high;
    else if ('offset' in start) offset = Math.min(Math.max(start.offset, w.low), w.high);
    else offset = atTime.find((p) => p.partition === w.partition)?.offset ?? w.high;
    starts.set(w.partition, offset);
  }
  return starts;
}

async function printRecord(ctx: CommandContext, decoder: PayloadDecoder, record: PeekedRecord): Promise<void> {
  const base = { topic: record.topic, partition: record.partition, offset: record.offset };
  const [key, value] = await Promise.all([
    decoder.decode(record.key, { ...base, role: 'key', headers: record.headers }),
    decoder.decode(record.value, { ...base, role: 'value', headers: record.headers }),
  ]);
  if (ctx.json) {
    printJson(ctx.io, {
      ...base,
      timestamp: new Date(record.timestamp).toISOString(),
      key: key.value,
      headers: record.headers,
      format: value.format,
      ...(value.schemaId === undefined ? {} : { schemaId: value.schemaId }),
      value: value.value,
      ...(value.error === undefined ? {} : { error: value.error }),
    });
    return;
  }
  const keyText = key.value === null ? '-' : typeof key.value === 'string' ? key.value : JSON.stringify(key.value);
  const valueText =
    typeof value.value === 'string' && value.format === 'text' ? value.value : JSON.stringify(value.value);
  const tag = value.schemaId === undefined ? value.format : `${value.format}#${value.schemaId}`;
  // The message type, as CloudEvents (cqrs) or a marshaler names it, helps read a mixed stream.
  const type = record.headers.ce_type ?? record.headers[TYPE_HEADER];
  ctx.io.stdout(
    `${record.partition}@${record.offset} ${new Date(record.timestamp).toISOString()} key=${keyText}${type === undefined ? '' : ` type=${type}`} [${tag}] ${valueText}\n`,
  );
}
