import { defineOrderMessages, runOrdersApp, type Transport, waitUntil } from '@example/orders';
import { startAudit } from './audit.js';
import { openLineFile } from './log-file.js';

/** Options of {@link runAuditApp}. */
export interface AuditAppOptions {
  transport: Transport;
  /** Prefix of the order service's topics. Default `shop`. */
  prefix?: string;
  /** The audit log (JSON lines, appended). */
  logPath: string;
  /** Orders the built-in order service places, so there is something to audit. Default 20. */
  orders?: number;
  /** Delete the topics when the transport closes (Kafka), for throw-away prefixes. Default false. */
  deleteTopics?: boolean;
  out: (line: string) => void;
}

/**
 * The audit next to an order service that runs in the same process: it places orders (some dead-lettered
 * and replayed, see `@example/orders`), the audit writes every event it reads to the log, and the
 * summary says how many of each type it wrote.
 */
export async function runAuditApp(options: AuditAppOptions) {
  const { transport, out } = options;
  const prefix = options.prefix ?? 'shop';
  const log = openLineFile(options.logPath);
  const audit = startAudit({ transport, prefix, messages: defineOrderMessages(transport.registry), write: log.write });
  try {
    out(`audit: reading every event type of ${audit.topic}, writing ${options.logPath}`);
    const orders = await runOrdersApp({
      transport,
      prefix,
      orders: options.orders ?? 20,
      out: (line) => out(`  ${line}`),
    });
    // Three events per order, plus the replayed OrderPlaced events.
    const expected = orders.placed * 3 + orders.replayed;
    await waitUntil(`the audit to write ${expected} records`, () => audit.stats().total >= expected);
    const stats = audit.stats();
    const perType = Object.entries(stats.byType)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, n]) => `${type} ${n}`)
      .join(', ');
    out(`audit: ${stats.total} records (${perType}), ${stats.replayed} of them replayed from the dead-letter topic`);
    return stats;
  } finally {
    await audit.close();
    await log.close();
    if (options.deleteTopics) {
      transport.deleteOnClose([audit.topic, `${prefix}.commands`, `${audit.topic}.dlq`, `${prefix}.commands.dlq`]);
    }
  }
}
