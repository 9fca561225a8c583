import { parseArgs } from 'node:util';
import { runOrdersApp } from './app.js';
import { startOrderService } from './service.js';
import { type Tracing, tracingFromEnv } from './tracing.js';
import { openTransport, type TransportSettings, transportSettings } from './transport.js';

const USAGE = 'usage: orders [--kafka] [--orders N] [--prefix P] [--keep-topics] [--serve [--port N]]';

/** Runs the app with command-line arguments; resolves with the exit code. */
export async function main(args: readonly string[], out: (line: string) => void = console.log): Promise<number> {
  let values: { kafka: boolean; orders: string; prefix?: string; 'keep-topics': boolean; serve: boolean; port: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        kafka: { type: 'boolean', default: false },
        orders: { type: 'string', default: '40' },
        prefix: { type: 'string' },
        'keep-topics': { type: 'boolean', default: false },
        serve: { type: 'boolean', default: false },
        port: { type: 'string', default: '3000' },
      },
    }));
  } catch (error) {
    out(`orders: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const orders = Number(values.orders);
  const port = Number(values.port);
  const problems = [
    ...(Number.isInteger(orders) && orders >= 1
      ? []
      : [`--orders must be a positive integer (got "${values.orders}")`]),
    ...(Number.isInteger(port) && port >= 0 && port < 65536
      ? []
      : [`--port must be a port number (got "${values.port}")`]),
  ];
  if (problems.length > 0) {
    out(`orders: ${problems.join('; ')}\n${USAGE}`);
    return 2;
  }
  const settings = transportSettings({ kafka: values.kafka });
  const tracing = tracingFromEnv('orders');
  if (tracing) out(`orders: tracing to ${tracing.description}`);
  try {
    return await run(values, settings, orders, port, out, tracing);
  } finally {
    // Undelivered spans are worth a line, not a failed run.
    await tracing?.shutdown().catch((error: unknown) => {
      out(
        `orders: traces not delivered to ${tracing.description}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }
}

async function run(
  values: { prefix?: string; 'keep-topics': boolean; serve: boolean },
  settings: TransportSettings,
  orders: number,
  port: number,
  out: (line: string) => void,
  tracing: Tracing | undefined,
): Promise<number> {
  await using transport = openTransport(settings);
  const traced = tracing ? { tracing: tracing.instrumentation } : {};
  if (values.serve) {
    await using service = await startOrderService({ transport, prefix: values.prefix ?? 'shop', port, ...traced });
    out(`orders: serving on ${service.url} (${transport.description}); Ctrl-C stops`);
    out(
      `  curl -X POST ${service.url}/orders -d '{"customerId":"c-1","sku":"tea-green","quantity":2,"totalCents":900,"payment":"card"}'`,
    );
    await new Promise<void>((resolve) => process.once('SIGINT', resolve).once('SIGTERM', resolve));
    return 0;
  }
  // A one-shot run on Kafka gets topics of its own (and removes them), so an earlier run's dead
  // letters never show up in this one; --prefix names them instead and --keep-topics keeps them.
  const throwAway = settings.kind === 'kafka' && values.prefix === undefined;
  const prefix = values.prefix ?? (throwAway ? `shop-${Date.now().toString(36)}` : 'shop');
  await runOrdersApp({ transport, prefix, orders, out, deleteTopics: throwAway && !values['keep-topics'], ...traced });
  return 0;
}
