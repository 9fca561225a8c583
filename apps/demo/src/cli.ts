import { parseArgs } from 'node:util';
import {
  openTransport,
  type Tracing,
  type TransportSettings,
  tracingFromEnv,
  transportSettings,
} from '@example/orders';
import { runDemo } from './demo.js';

const USAGE = 'usage: demo [--kafka] [--orders N] [--audit-log FILE]';

/** Runs the demo with command-line arguments; resolves with the exit code. */
export async function main(args: readonly string[], out: (line: string) => void = console.log): Promise<number> {
  let values: { kafka: boolean; orders: string; 'audit-log'?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        kafka: { type: 'boolean', default: false },
        orders: { type: 'string', default: '300' },
        'audit-log': { type: 'string' },
      },
    }));
  } catch (error) {
    out(`demo: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const orders = Number(values.orders);
  if (!Number.isInteger(orders) || orders < 1) {
    out(`demo: --orders must be a positive integer (got "${values.orders}")\n${USAGE}`);
    return 2;
  }
  const settings = transportSettings({ kafka: values.kafka });
  const tracing = tracingFromEnv('shop-demo');
  try {
    await run(values, settings, orders, out, tracing);
  } finally {
    // Undelivered spans are worth a line, not a failed run.
    await tracing?.shutdown().catch((error: unknown) => {
      out(
        `demo: traces not delivered to ${tracing.description}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  }
  return 0;
}

async function run(
  values: { 'audit-log'?: string },
  settings: TransportSettings,
  orders: number,
  out: (line: string) => void,
  tracing: Tracing | undefined,
): Promise<void> {
  await using transport = openTransport(settings);
  // On Kafka every run gets topics and groups of its own and deletes the topics at the end, so runs
  // never see each other's messages (registry subjects stay: they are cheap and compatible).
  const kafka = settings.kind === 'kafka';
  await runDemo({
    transport,
    prefix: kafka ? `demo-${Date.now().toString(36)}` : 'demo',
    orders,
    deleteTopics: kafka,
    ...(values['audit-log'] ? { auditLogPath: values['audit-log'] } : {}),
    ...(tracing ? { tracing: tracing.instrumentation } : {}),
    out,
  });
  if (tracing) out(`traces of every order went to ${tracing.description} (service shop-demo)`);
}
