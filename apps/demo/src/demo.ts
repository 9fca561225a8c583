import type { RouterInstrumentation } from '@bus/otel';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLineFile, startAudit } from '@example/audit';
import {
  defineOrderMessages,
  LatencyRecorder,
  type NewOrder,
  postOrder,
  sampleOrder,
  startOrderService,
  type Transport,
  waitUntil,
} from '@example/orders';
import { PricingClient, startPricingService } from '@example/pricing';
import { RemoteError } from '@bus/rpc';
import { type DemoSummary, formatSummary } from './summary.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  transport: Transport;
  /** Prefix of every topic and group. Default `demo`. */
  prefix?: string;
  /** Orders to place. Default 300. */
  orders?: number;
  /** Every n-th order pays by gift card, whose provider is down until the replay. Default 10. */
  giftcardEvery?: number;
  /** Every n-th order asks for a SKU the pricing service does not know, and is not placed. Default 100. */
  unknownSkuEvery?: number;
  /** The audit log. Default a file in the temp folder. */
  auditLogPath?: string;
  /** Delete the topics when the transport closes (Kafka), for throw-away prefixes. Default false. */
  deleteTopics?: boolean;
  /** `@bus/otel` instrumentation of the order service (`tracingFromEnv` of `@example/orders`). */
  tracing?: RouterInstrumentation;
  /** How often the live line is printed. Default 1 s. */
  liveIntervalMs?: number;
  /** Deadline of each wait. Default 120 s. */
  timeoutMs?: number;
  out: (line: string) => void;
}

/**
 * Runs the three example apps together: pricing quotes each order over RPC, the order service takes it
 * over HTTP while the gift-card provider is down (retries, then the dead-letter topic), the provider comes
 * back and the dead letters are replayed, and the audit writes every event to its log. Prints a live
 * line while it runs and the summary at the end; resolves with the summary's figures.
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { transport, out } = options;
  const prefix = options.prefix ?? 'demo';
  const count = options.orders ?? 300;
  const giftcardEvery = options.giftcardEvery ?? 10;
  const unknownSkuEvery = options.unknownSkuEvery ?? 100;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const logPath = options.auditLogPath ?? join(tmpdir(), `bus-demo-audit-${process.pid}.jsonl`);
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;

  out(`bus demo: orders, pricing and audit on the ${transport.description}, topics ${prefix}.*`);
  const pricingTopic = `${prefix}.pricing.quote`;
  await transport.ensureTopics([pricingTopic]);
  // Request/reply waits on every message: its publishers do not batch (lingerMs 0).
  const pricing = startPricingService({
    publisher: transport.publisher({ lingerMs: 0 }),
    subscriber: transport.subscriber(),
    prefix,
  });
  const client = new PricingClient({
    publisher: transport.publisher({ lingerMs: 0 }),
    subscriber: transport.subscriber(),
    prefix,
    createReplyTopic: (topic) => transport.ensureTopics([topic], 1),
  });
  const service = await startOrderService({
    transport,
    prefix,
    ...(options.tracing ? { tracing: options.tracing } : {}),
  });
  const log = openLineFile(logPath);
  const audit = startAudit({ transport, prefix, messages: defineOrderMessages(transport.registry), write: log.write });
  const rpc = { latency: new LatencyRecorder(), refused: 0 };
  let placed = 0;
  let phase = 'placing orders';

  let replayed = 0;
  // Two lines a tick: progress and failures, then what flowed (events per type, as the audit reads the
  // stream topic) and how fast.
  const live = () => {
    const { processors, handlingLatency } = service.metrics();
    const events = Object.entries(audit.stats().byType)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([type, n]) => `${type.slice(type.lastIndexOf('.') + 1)} ${n}`)
      .join(', ');
    out(
      `  [${elapsed()}] ${phase}: placed ${placed}/${count}, shipped ${service.projection.countByStatus().shipped};` +
        ` retries ${processors.retried}, dead-lettered ${processors.deadLettered}, replayed ${replayed}`,
    );
    out(
      `         events ${events || 'none yet'}; handling ${handlingLatency.describe()}; rpc ${rpc.latency.describe()}`,
    );
  };
  const timer = setInterval(live, options.liveIntervalMs ?? 1_000);
  try {
    await client.start();
    service.payments.setOutage('giftcard', true);
    out(`  the gift-card payment provider is down: every ${ordinal(giftcardEvery)} order will fail its payment`);

    // Price each order over RPC, then place it over HTTP; 16 customers at a time.
    const orders: NewOrder[] = Array.from({ length: count }, (_, i) => {
      const order = sampleOrder(i, giftcardEvery);
      return (i + 1) % unknownSkuEvery === 0 ? { ...order, sku: 'tea-white' } : order;
    });
    let next = 0;
    const customer = async () => {
      while (next < orders.length) {
        const order = orders[next++] as NewOrder;
        const asked = performance.now();
        try {
          const quote = await client.quote({ sku: order.sku, quantity: order.quantity, customerId: order.customerId });
          rpc.latency.record(performance.now() - asked);
          await postOrder(service.url, { ...order, totalCents: quote.totalCents });
          placed++;
        } catch (error) {
          if (!RemoteError.isInstance(error) || error.code !== 'UNKNOWN_SKU') throw error;
          rpc.refused++;
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, customer));
    const failing = orders.filter((o, i) => o.payment === 'giftcard' && (i + 1) % unknownSkuEvery !== 0).length;

    phase = 'handling';
    await waitUntil(
      'the orders to ship or be dead-lettered',
      () =>
        service.projection.countByStatus().shipped === placed - failing &&
        service.metrics().processors.deadLettered === failing,
      { timeoutMs },
    );
    live();
    service.payments.setOutage('giftcard', false);
    phase = 'replaying';
    replayed = await service.replayDeadLetters();
    out(`  the provider is back: replayed ${replayed} dead letters`);
    await waitUntil('the replayed orders to ship', () => service.projection.countByStatus().shipped === placed, {
      timeoutMs,
    });
    await waitUntil('the audit to log every event', () => audit.stats().total === placed * 3 + replayed, { timeoutMs });
    phase = 'done';
    live();

    const metrics = service.metrics();
    const summary: DemoSummary = {
      seconds: (performance.now() - started) / 1000,
      placed,
      shipped: service.projection.countByStatus().shipped,
      eventsByType: audit.stats().byType,
      audited: audit.stats().total,
      auditLogPath: logPath,
      handlingLatency: metrics.handlingLatency,
      retried: metrics.processors.retried,
      deadLettered: metrics.processors.deadLettered,
      replayed,
      outOfOrder: service.projection.stats().outOfOrder,
      duplicatesIgnored: service.projection.stats().duplicates,
      rpcLatency: rpc.latency,
      rpcRefused: rpc.refused,
    };
    for (const line of formatSummary(summary)) out(line);
    return summary;
  } finally {
    clearInterval(timer);
    await client.close();
    await pricing.close();
    await audit.close();
    await service.close();
    await log.close();
    if (options.deleteTopics) transport.deleteOnClose([pricingTopic, client.replyTopic, ...allTopics(service.topics)]);
  }
}

function allTopics(topics: { events: string; commands: string; deadLetters: readonly string[] }): string[] {
  return [topics.events, topics.commands, ...topics.deadLetters];
}

function ordinal(n: number): string {
  const suffix =
    n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th';
  return `${n}${suffix}`;
}
