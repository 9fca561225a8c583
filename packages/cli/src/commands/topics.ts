import type { Command } from 'commander';
import { CliError, CliErrorCode } from '../errors.js';
import { parseCount, parseHeaders } from '../internal/positions.js';
import { printJson, printTable } from '../io.js';
import type { CommandRunner } from '../program.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `bus topics list | describe <topic> | create <topic>`. */
export function registerTopicCommands(program: Command, run: CommandRunner): void {
  const topics = program.command('topics').description('list, describe and create topics');

  topics
    .command('list')
    .description('every topic with its partition count')
    .option('--all', 'include internal topics (__consumer_offsets, …)')
    .action(
      run(async (ctx, options: { all?: boolean }) => {
        const admin = await ctx.admin();
        const list = await admin.listTopics({ includeInternal: options.all === true });
        if (ctx.json) for (const topic of list) printJson(ctx.io, topic);
        else
          printTable(
            ctx.io,
            ['topic', 'partitions'],
            list.map((t) => [t.name, t.partitions]),
          );
      }),
    );

  topics
    .command('describe <topic>')
    .description('partitions (leader, replicas, in-sync replicas, offsets) and configs')
    .action(
      run(async (ctx, topic: string) => {
        const admin = await ctx.admin();
        const [description, watermarks] = await Promise.all([admin.describeTopic(topic), admin.watermarks(topic)]);
        const partitions = description.partitions.map((p) => {
          const w = watermarks.find((x) => x.partition === p.partition);
          return { ...p, low: w?.low ?? 0, high: w?.high ?? 0, messages: (w?.high ?? 0) - (w?.low ?? 0) };
        });
        if (ctx.json) {
          printJson(ctx.io, { name: topic, partitions, configs: description.configs });
          return;
        }
        printTable(
          ctx.io,
          ['partition', 'leader', 'replicas', 'isr', 'low', 'high', 'messages'],
          partitions.map((p) => [
            p.partition,
            p.leader,
            p.replicas.join(','),
            p.isr.join(','),
            p.low,
            p.high,
            p.messages,
          ]),
        );
        printTable(ctx.io, ['config', 'value'], Object.entries(description.configs));
      }),
    );

  topics
    .command('create <topic>')
    .description('create a topic (an existing one with the same partition count is left alone)')
    .requiredOption('-p, --partitions <n>', 'number of partitions')
    .option('-r, --replication-factor <n>', "replication factor (default: the broker's)")
    .option('-c, --config <name=value>', 'topic config, repeatable (e.g. retention.ms=86400000)', collect, [])
    .action(
      run(async (ctx, topic: string, options: { partitions: string; replicationFactor?: string; config: string[] }) => {
        const partitions = parseCount('--partitions', options.partitions)!;
        if (partitions < 1) throw new CliError('--partitions must be at least 1', CliErrorCode.USAGE);
        const replicationFactor = parseCount('--replication-factor', options.replicationFactor);
        const admin = await ctx.admin();
        const result = await admin.ensureTopics([
          {
            name: topic,
            partitions,
            ...(replicationFactor === undefined ? {} : { replicationFactor }),
            configs: parseHeaders(options.config),
          },
        ]);
        const created = result.created.includes(topic);
        if (ctx.json) printJson(ctx.io, { topic, partitions, created });
        else ctx.io.stdout(`${created ? 'created' : 'exists'}: ${topic} (${partitions} partitions)\n`);
      }),
    );
}
