import type { RouterInstrumentation } from '@bus/otel';
import { getOrder, postOrder } from './http-client.js';
import type { NewOrder } from './http.js';
import { startOrderService } from './service.js';
import type { Transport } from './transport.js';
import { waitUntil } from './wait.js';

/** Options of {@link runOrdersApp}. */
export interface OrdersAppOptions {
  transport: Transport;
  /** Prefix of topics and groups. Default `shop`. */
  prefix?: string;
  /** Orders to place. Default 40. */
  orders?: number;
  /** Every n-th order pays by gift card, whose provider is down until the replay. Default 10. */
  giftcardEvery?: number;
  /** Delete the service's topics when the transport closes (Kafka): for throw-away prefixes. Default false. */
  deleteTopics?: boolean;
  /** `@bus/otel` instrumentation for the service (see `tracing.ts`). */
  tracing?: RouterInstrumentation;
  /** Deadline of each wait. Default 60 s. */
  timeoutMs?: number;
  out: (line: string) => void;
}

/** What {@link runOrdersApp} saw. */
export interface OrdersAppReport {
  placed: number;
  shipped: number;
  deadLettered: number;
  replayed: number;
  retried: number;
  outOfOrder: number;
}

/** The `i`-th sample order: a few SKUs and customers, and every `giftcardEvery`-th paid by gift card. */
export function sampleOrder(i: number, giftcardEvery: number): NewOrder {
  const skus = ['tea-green', 'tea-black', 'coffee-beans', 'mug-blue', 'kettle-steel'];
  return {
    customerId: `c-${i % 17}`,
    sku: skus[i % skus.length] ?? 'tea-green',
    quantity: 1 + (i % 4),
    totalCents: 450 * (1 + (i % 4)),
    payment: (i + 1) % giftcardEvery === 0 ? 'giftcard' : 'card',
  };
}

/**
 * Runs the order service and drives it through its HTTP endpoint: places orders while the gift-card
 * provider is down (those are retried, then dead-lettered), brings the provider back, replays the
 * dead letters, and prints what happened at each step.
 */
export async function runOrdersApp(options: OrdersAppOptions): Promise<OrdersAppReport> {
  const { transport, out } = options;
  const count = options.orders ?? 40;
  const giftcardEvery = options.giftcardEvery ?? 10;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const service = await startOrderService({
    transport,
    ...(options.prefix ? { prefix: options.prefix } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
  });
  try {
    out(`orders: HTTP on ${service.url}, events on ${service.topics.events} (${transport.description})`);
    service.payments.setOutage('giftcard', true);
    const orders = Array.from({ length: count }, (_, i) => sampleOrder(i, giftcardEvery));
    const failing = orders.filter((order) => order.payment === 'giftcard').length;
    out(`orders: the gift-card provider is down; placing ${count} orders (${failing} by gift card)`);
    const ids = await placeAll(service.url, orders);

    await waitUntil(
      'orders to ship or be dead-lettered',
      () =>
        service.projection.countByStatus().shipped === count - failing &&
        service.metrics().processors.deadLettered === failing,
      { timeoutMs },
    );
    const before = service.metrics().processors;
    out(
      `orders: ${count - failing} shipped, ${before.deadLettered} dead-lettered after ${before.retried} retries` +
        ` (last error: ${before.lastError?.code ?? 'none'})`,
    );

    service.payments.setOutage('giftcard', false);
    const replayed = await service.replayDeadLetters();
    out(`orders: the gift-card provider is back; replayed ${replayed} dead letters`);
    await waitUntil('replayed orders to ship', () => service.projection.countByStatus().shipped === count, {
      timeoutMs,
    });

    const metrics = service.metrics();
    const projection = service.projection.stats();
    const sample = await getOrder(service.url, ids.at(-1) ?? '');
    out(
      `orders: ${count} shipped; projection applied ${projection.applied} events, ignored ${projection.duplicates}` +
        ` duplicates, ${projection.outOfOrder} out of order`,
    );
    const perType = Object.entries(metrics.eventsByType)
      .map(([type, n]) => `${type} ${n}`)
      .join(', ');
    out(`orders: events: ${perType}; handling latency ${metrics.handlingLatency.describe()}`);
    out(`orders: GET /orders/${sample?.orderId} -> ${sample?.status} (${sample?.trackingNumber})`);
    return {
      placed: ids.length,
      shipped: service.projection.countByStatus().shipped,
      deadLettered: metrics.processors.deadLettered,
      replayed: metrics.replayed,
      retried: metrics.processors.retried,
      outOfOrder: projection.outOfOrder,
    };
  } finally {
    await service.close();
    if (options.deleteTopics) {
      transport.deleteOnClose([service.topics.events, service.topics.commands, ...service.topics.deadLetters]);
    }
  }
}

/** Places orders over HTTP, 16 at a time; resolves with their ids in order. */
export async function placeAll(baseUrl: string, orders: readonly NewOrder[], concurrency = 16): Promise<string[]> {
  const ids: string[] = new Array(orders.length);
  let next = 0;
  const worker = async () => {
    while (next < orders.length) {
      const i = next++;
      ids[i] = await postOrder(baseUrl, orders[i] as NewOrder);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, orders.length) }, worker));
  return ids;
}
