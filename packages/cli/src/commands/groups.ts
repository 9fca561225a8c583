import type { ConsumerGroupLag, KafkaAdmin } from '@bus/kafka';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { CliError, CliErrorCode } from '../errors.js';
import { parseCount, parseResetTarget } from '../internal/positions.js';
import { sleep } from '../internal/sleep.js';
import { printJson, printTable } from '../io.js';
import type { CommandRunner } from '../program.js';

/** `bus groups list | describe | lag | reset | delete`. */
export function registerGroupCommands(program: Command, run: CommandRunner): void {
  const groups = program.command('groups').description('consumer groups: list, members, lag, reset, delete');

  groups
    .command('list')
    .description('every consumer group with its state and member count')
    .action(
      run(async (ctx) => {
        const list = await (await ctx.admin()).listGroups();
        if (ctx.json) for (const group of list) printJson(ctx.io, group);
        else
          printTable(
            ctx.io,
            ['group', 'state', 'members', 'protocol'],
            list.map((g) => [g.groupId, g.state, g.members, g.protocolType]),
          );
      }),
    );

  groups
    .command('describe <group>')
    .description("a group's state and members: client id, host, assigned partitions")
    .action(
      run(async (ctx, group: string) => {
        const description = await (await ctx.admin()).describeGroup(group);
        if (ctx.json) {
          printJson(ctx.io, description);
          return;
        }
        ctx.io.stdout(`group ${description.groupId}: ${description.state}, assignor ${description.protocol || '-'}\n`);
        printTable(
          ctx.io,
          ['client id', 'host', 'assignment', 'member id'],
          description.members.map((m) => [
            m.clientId,
            m.host,
            m.assignment.map((a) => `${a.topic}[${a.partitions.join(',')}]`).join(' '),
            m.memberId,
          ]),
        );
      }),
    );

  groups
    .command('lag <group>')
    .description('lag per partition and in total')
    .option('-t, --topic <topic>', 'only this topic (default: every topic the group committed to)')
    .option('-w, --watch', 'refresh until interrupted')
    .option('--interval <ms>', 'refresh interval with --watch', '2000')
    .option('--count <n>', 'with --watch, stop after this many refreshes')
    .action(
      run(
        async (ctx, group: string, options: { topic?: string; watch?: boolean; interval: string; count?: string }) => {
          const admin = await ctx.admin();
          const intervalMs = parseCount('--interval', options.interval)!;
          const count = parseCount('--count', options.count);
          for (let round = 1; ; round++) {
            const lag = await admin.consumerLag(group, options.topic === undefined ? undefined : [options.topic]);
            printLag(ctx, lag, options.watch === true);
            if (options.watch !== true || (count !== undefined && round >= count)) return;
            if (!(await sleep(intervalMs, ctx.io.signal))) return;
          }
        },
      ),
    );

  groups
    .command('reset <group>')
    .description("move a group's committed offsets (the group must have no active members)")
    .requiredOption('--to <target>', 'earliest | latest | <ISO time> | <partition:offset,...>')
    .option('-t, --topic <topic>', 'the topic to reset (default: every topic the group committed to)')
    .action(
      run(async (ctx, group: string, options: { to: string; topic?: string }) => {
        const to = parseResetTarget(options.to);
        const admin = await ctx.admin();
        const topics = options.topic === undefined ? await committedTopics(admin, group) : [options.topic];
        if ('offsets' in (typeof to === 'object' ? to : {}) && topics.length !== 1) {
          throw new CliError('--to partition:offset needs exactly one topic: pass --topic', CliErrorCode.USAGE);
        }
        const rows: { topic: string; partition: number; offset: number }[] = [];
        for (const topic of topics) {
          const result = await admin.resetOffsets(group, topic, { to });
          rows.push(...result.partitions.map((p) => ({ topic, ...p })));
        }
        if (ctx.json) printJson(ctx.io, { groupId: group, partitions: rows });
        else
          printTable(
            ctx.io,
            ['topic', 'partition', 'offset'],
            rows.map((r) => [r.topic, r.partition, r.offset]),
          );
      }),
    );

  groups
    .command('delete <group>')
    .description('delete a group and its committed offsets (it must have no active members)')
    .action(
      run(async (ctx, group: string) => {
        await (await ctx.admin()).deleteGroup(group);
        if (ctx.json) printJson(ctx.io, { groupId: group, deleted: true });
        else ctx.io.stdout(`deleted: ${group}\n`);
      }),
    );
}

async function committedTopics(admin: KafkaAdmin, group: string): Promise<string[]> {
  const topics = Object.keys((await admin.consumerLag(group)).topics);
  if (topics.length === 0) {
    throw new CliError(`Group "${group}" has no committed offsets: name the topic with --topic`, CliErrorCode.USAGE);
  }
  return topics;
}

function printLag(ctx: CommandContext, lag: ConsumerGroupLag, watching: boolean): void {
  if (ctx.json) {
    printJson(ctx.io, { ...lag, ...(watching ? { at: new Date().toISOString() } : {}) });
    return;
  }
  if (watching) ctx.io.stdout(`${new Date().toISOString()}\n`);
  printTable(
    ctx.io,
    ['topic', 'partition', 'committed', 'end', 'lag'],
    [
      ...lag.partitions.map((p) => [p.topic, p.partition, p.committedOffset, p.endOffset, p.lag]),
      ...Object.entries(lag.topics).map(([topic, total]) => [topic, 'total', '', '', total]),
    ],
  );
  ctx.io.stdout(`total lag of ${lag.groupId}: ${lag.totalLag}\n`);
}
