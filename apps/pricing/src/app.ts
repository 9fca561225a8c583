import { RemoteError } from '@bus/rpc';
import { SKUS } from './catalog.js';
import { PricingClient } from './client.js';
import { formatMs, LatencyRecorder } from './latency.js';
import { quoteRoute } from './route.js';
import { startPricingService } from './service.js';
import type { Transport } from './transport.js';

/** Options of {@link runPricingApp}. */
export interface PricingAppOptions {
  transport: Transport;
  /** Topic prefix. Default `shop`. */
  prefix?: string;
  /** Quotes the built-in client asks for; the last one names an unknown SKU. Default 12. */
  requests?: number;
  /** Where the output lines go. */
  out: (line: string) => void;
}

/** What {@link runPricingApp} measured. */
export interface PricingAppReport {
  quoted: number;
  refused: number;
  latency: LatencyRecorder;
}

/**
 * Starts the pricing service and a client, asks for `requests` quotes (one of them for an unknown
 * SKU, to show the typed error reply), prints each answer and a summary, and stops both.
 */
export async function runPricingApp(options: PricingAppOptions): Promise<PricingAppReport> {
  const { transport, out } = options;
  const prefix = options.prefix ?? 'shop';
  const requests = options.requests ?? 12;
  const route = quoteRoute(prefix);
  await transport.ensureTopics([route.topic]);
  out(`pricing: serving ${route.topic} on the ${transport.description}`);

  const server = startPricingService({ publisher: transport.publisher(), subscriber: transport.subscriber(), prefix });
  const client = new PricingClient({
    publisher: transport.publisher(),
    subscriber: transport.subscriber(),
    prefix,
    createReplyTopic: (topic) => transport.ensureTopics([topic], 1),
  });
  // The reply topic is this client's alone: gone when the transport closes.
  transport.deleteOnClose([client.replyTopic]);
  const report: PricingAppReport = { quoted: 0, refused: 0, latency: new LatencyRecorder() };
  try {
    await client.start();
    for (let i = 0; i < requests; i++) {
      const sku = i === requests - 1 ? 'tea-white' : (SKUS[i % SKUS.length] ?? 'tea-green');
      const quantity = 1 + ((i * 3) % 12);
      const started = performance.now();
      try {
        const answer = await client.quote({ sku, quantity, customerId: `c-${i % 5}` });
        const ms = performance.now() - started;
        report.latency.record(ms);
        report.quoted++;
        const discount = answer.discountPercent > 0 ? ` (-${answer.discountPercent} %)` : '';
        out(`  quote ${sku} x${quantity} = ${(answer.totalCents / 100).toFixed(2)} EUR${discount} in ${formatMs(ms)}`);
      } catch (error) {
        if (!RemoteError.isInstance(error)) throw error;
        report.refused++;
        out(`  quote ${sku} x${quantity} refused: ${error.code} (${error.message})`);
      }
    }
  } finally {
    await client.close();
    await server.close();
  }
  out(`pricing: ${report.quoted} quoted, ${report.refused} refused, round trip ${report.latency.describe()}`);
  return report;
}
