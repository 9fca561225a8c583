import { parseArgs } from 'node:util';
import { defineOrderMessages, openTransport, transportSettings } from '@example/orders';
import { runAuditApp } from './app.js';
import { startAudit } from './audit.js';
import { openLineFile } from './log-file.js';

const USAGE = 'usage: audit [--kafka] [--log FILE] [--orders N] [--prefix P] [--follow]';

/** Runs the app with command-line arguments; resolves with the exit code. */
export async function main(args: readonly string[], out: (line: string) => void = console.log): Promise<number> {
  let values: { kafka: boolean; log: string; orders: string; prefix?: string; follow: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        kafka: { type: 'boolean', default: false },
        log: { type: 'string', default: 'audit.jsonl' },
        orders: { type: 'string', default: '20' },
        prefix: { type: 'string' },
        follow: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    out(`audit: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const orders = Number(values.orders);
  if (!Number.isInteger(orders) || orders < 1) {
    out(`audit: --orders must be a positive integer (got "${values.orders}")\n${USAGE}`);
    return 2;
  }
  const settings = transportSettings({ kafka: values.kafka });
  await using transport = openTransport(settings);
  if (values.follow) {
    // Audits a running order service (`orders --serve` with the same prefix) until Ctrl-C.
    const log = openLineFile(values.log);
    const prefix = values.prefix ?? 'shop';
    const audit = startAudit({
      transport,
      prefix,
      messages: defineOrderMessages(transport.registry),
      write: log.write,
    });
    out(`audit: following ${audit.topic} (${transport.description}), writing ${values.log}; Ctrl-C stops`);
    await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
    await audit.close();
    await log.close();
    out(`audit: ${audit.stats().total} records written`);
    return 0;
  }
  // A one-shot run on Kafka gets topics of its own and removes them (see @example/orders).
  const throwAway = settings.kind === 'kafka' && values.prefix === undefined;
  const prefix = values.prefix ?? (throwAway ? `audit-${Date.now().toString(36)}` : 'shop');
  await runAuditApp({ transport, prefix, logPath: values.log, orders, out, deleteTopics: throwAway });
  return 0;
}
