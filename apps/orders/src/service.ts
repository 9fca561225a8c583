import { DEAD_LETTER_REPLAY_HEADERS, type DeadLetterPosition, type Logger, type RetryOptions, Router } from '@bus/core';
import {
  CommandBus,
  CommandProcessor,
  type CqrsContext,
  EventBus,
  EventProcessor,
  type ProcessorStats,
} from '@bus/cqrs';
import type { RouterInstrumentation } from '@bus/otel';
import { type HttpApi, startHttpApi } from './http.js';
import { LatencyRecorder } from './latency.js';
import { defineOrderMessages, type OrderMessages, orderTopics } from './messages.js';
import { PaymentGateway } from './payments.js';
import { OrderProjection } from './projection.js';
import type { Transport } from './transport.js';

/** Options of {@link startOrderService}. */
export interface OrderServiceOptions {
  transport: Transport;
  /** Prefix of topics and consumer groups. Default `shop`. */
  prefix?: string;
  /** The payment providers. Default: a new {@link PaymentGateway} with every provider up. */
  payments?: PaymentGateway;
  /** In-process retries before a message is dead-lettered. Default 3 retries, 10 ms doubling to 100 ms. */
  retry?: RetryOptions;
  /** HTTP port. Default 0: any free port (see `url`). */
  port?: number;
  /** HTTP host. Default `127.0.0.1`. */
  host?: string;
  /** pino-compatible logger for the processors. */
  logger?: Logger;
  /**
   * `@bus/otel` instrumentation (see `tracing.ts`): every publish gets a `send` span, every handling a
   * `process` span, and the context travels in the headers, so one order is one trace from
   * `POST /orders` to `OrderShipped`.
   */
  tracing?: RouterInstrumentation;
}

/** What the service measured so far. */
export interface OrderServiceMetrics {
  /** Events handled by the projection, per type (replays included). */
  eventsByType: Record<string, number>;
  /** Time from an event's publication to the end of its handling, over every handler (replays left out). */
  handlingLatency: LatencyRecorder;
  /** Processor counters, commands and events together. */
  processors: ProcessorStats;
  /** Dead letters replayed by {@link OrderService.replayDeadLetters}. */
  replayed: number;
}

/** A running order service. */
export interface OrderService extends AsyncDisposable {
  /** Base URL of the HTTP endpoint, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The read model. */
  readonly projection: OrderProjection;
  /** The payment providers (switch outages on and off). */
  readonly payments: PaymentGateway;
  /** The message types. */
  readonly messages: OrderMessages;
  /** Topics the service uses. */
  readonly topics: { events: string; commands: string; deadLetters: readonly string[] };
  metrics(): OrderServiceMetrics;
  /** Letters in the events' dead-letter topic. */
  deadLetterCount(): Promise<number>;
  /**
   * Replays to the stream topic every dead-lettered event this service has not replayed yet; resolves with
   * the count. The letters stay in the dead-letter topic (a log: replay is a copy); purging it after a
   * replay would also drop letters written in between.
   */
  replayDeadLetters(): Promise<number>;
  /** Stops HTTP, drains the processors and closes them. */
  close(): Promise<void>;
}

const DEFAULT_RETRY: RetryOptions = { maxRetries: 3, initialIntervalMs: 10, maxIntervalMs: 100 };

/**
 * Starts the order service: an HTTP endpoint that turns `POST /orders` into a `PlaceOrder` command;
 * a command handler that accepts it (`OrderPlaced`); payments (`OrderPaid`, retried then dead-lettered
 * while a provider is down); shipping (`OrderShipped`); and the projection that answers `GET /orders`.
 */
export async function startOrderService(options: OrderServiceOptions): Promise<OrderService> {
  const { transport } = options;
  const prefix = options.prefix ?? 'shop';
  const payments = options.payments ?? new PaymentGateway();
  const messages = defineOrderMessages(transport.registry);
  const { PlaceOrder, OrderPlaced, OrderPaid, OrderShipped } = messages;
  const strategy = orderTopics(prefix);
  const eventsTopic = strategy({ kind: 'event', name: OrderPlaced.name, aggregateType: 'order' });
  const commandsTopic = strategy({ kind: 'command', name: PlaceOrder.name, aggregateType: undefined });
  const deadLetters = [`${eventsTopic}.dlq`, `${commandsTopic}.dlq`];
  await transport.ensureTopics([eventsTopic, commandsTopic, ...deadLetters]);

  const tracing = options.tracing;
  const publisher = tracing ? tracing.instrumentPublisher(transport.publisher()) : transport.publisher();
  // With tracing, each processor runs on a router of ours whose middleware (outermost) and decorators trace it.
  const router = () =>
    tracing === undefined
      ? {}
      : {
          router: new Router({
            middleware: tracing.middleware,
            publisherDecorators: tracing.publisherDecorators,
            subscriberDecorators: tracing.subscriberDecorators,
            ...(options.logger ? { logger: options.logger } : {}),
          }),
        };
  const events = new EventBus({ publisher, topics: strategy, source: 'urn:shop:orders' });
  const commands = new CommandBus({ publisher, topics: strategy, source: 'urn:shop:orders-http' });
  const processorOptions = {
    topics: strategy,
    events,
    groupPrefix: `${prefix}.orders`,
    retry: options.retry ?? DEFAULT_RETRY,
    deadLetter: { publisher, queue: (topic: string) => transport.deadLetterQueue(topic, publisher) },
    ...(options.logger ? { logger: options.logger } : {}),
  };

  // From the event's publication (its CloudEvents time, whole milliseconds) to the end of its handling.
  // A replayed event's time is its first publication: time spent in the dead-letter topic is not latency.
  const latency = new LatencyRecorder();
  const handled = (ctx: CqrsContext) => {
    if (ctx.message.headers[DEAD_LETTER_REPLAY_HEADERS.replayedFrom] === undefined) {
      latency.record(Math.max(0, Date.now() - ctx.envelope.time.getTime()));
    }
  };
  const eventsByType: Record<string, number> = {};

  const orders = new CommandProcessor({
    ...processorOptions,
    ...router(),
    subscriber: transport.subscriber(),
    expects: [PlaceOrder],
  });
  orders.on(PlaceOrder, async (command, ctx) => {
    await ctx.publish(OrderPlaced.create(command.data, { aggregateId: command.data.orderId, aggregateVersion: 1 }));
    handled(ctx);
  });

  const projection = new OrderProjection();
  const processor = new EventProcessor({ ...processorOptions, ...router(), subscriber: transport.subscriber() });
  processor.on(
    OrderPlaced,
    async (event, ctx) => {
      const { orderId, payment, totalCents } = event.data;
      const paymentReference = await payments.charge(orderId, payment, totalCents);
      await ctx.publish(
        OrderPaid.create(
          { orderId, amountCents: totalCents, paymentReference },
          { aggregateId: orderId, aggregateVersion: 2 },
        ),
      );
      handled(ctx);
    },
    { name: 'payments' },
  );
  processor.on(
    OrderPaid,
    async (event, ctx) => {
      const { orderId } = event.data;
      const trackingNumber = `TRK-${orderId.slice(0, 8).toUpperCase()}`;
      await ctx.publish(
        OrderShipped.create(
          { orderId, carrier: 'parcel-co', trackingNumber },
          { aggregateId: orderId, aggregateVersion: 3 },
        ),
      );
      handled(ctx);
    },
    { name: 'shipping' },
  );
  const count = (type: string) => {
    eventsByType[type] = (eventsByType[type] ?? 0) + 1;
  };
  processor
    .group('projection')
    .on(OrderPlaced, (event, ctx) => {
      count(event.type);
      projection.placed(event.envelope, event.data);
      handled(ctx);
    })
    .on(OrderPaid, (event, ctx) => {
      count(event.type);
      projection.paid(event.envelope, event.data.orderId, event.data.paymentReference);
      handled(ctx);
    })
    .on(OrderShipped, (event, ctx) => {
      count(event.type);
      projection.shipped(event.envelope, event.data.orderId, event.data.trackingNumber);
      handled(ctx);
    });

  const running = [orders.run(), processor.run()];
  let http: HttpApi;
  try {
    http = await startHttpApi({
      projection,
      placeOrder: async (order) => {
        await commands.send(PlaceOrder.create(order, { aggregateId: order.orderId }));
      },
      setOutage: (method, down) => payments.setOutage(method, down),
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
    });
  } catch (error) {
    await Promise.allSettled([orders.close(), processor.close()]);
    throw error;
  }

  let replayed = 0;
  // Letters this process replayed (by position), so that a second replay does not send them again.
  const replayedPositions = new Set<string>();
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await http.close();
      await Promise.allSettled([orders.close(), processor.close()]);
      await Promise.allSettled(running);
    })();
    return closed;
  };
  const eventsDeadLetters = processor.deadLetterQueue(OrderPlaced);
  return {
    url: http.url,
    projection,
    payments,
    messages,
    topics: { events: eventsTopic, commands: commandsTopic, deadLetters },
    metrics: () => ({
      eventsByType: { ...eventsByType },
      handlingLatency: latency,
      processors: sumStats(orders.stats(), processor.stats()),
      replayed,
    }),
    deadLetterCount: () => eventsDeadLetters.count(),
    replayDeadLetters: async () => {
      const report = await eventsDeadLetters.replay((letter) => !replayedPositions.has(positionKey(letter)));
      for (const position of report.replayed) replayedPositions.add(positionKey(position));
      replayed += report.replayed.length;
      return report.replayed.length;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function sumStats(a: ProcessorStats, b: ProcessorStats): ProcessorStats {
  const lastError =
    a.lastError === undefined
      ? b.lastError
      : b.lastError === undefined || a.lastError.at > b.lastError.at
        ? a.lastError
        : b.lastError;
  return {
    handled: a.handled + b.handled,
    failed: a.failed + b.failed,
    retried: a.retried + b.retried,
    deadLettered: a.deadLettered + b.deadLettered,
    skipped: a.skipped + b.skipped,
    inFlight: a.inFlight + b.inFlight,
    lastError,
  };
}

function positionKey(position: DeadLetterPosition): string {
  return `${position.partition}/${position.offset}`;
}
