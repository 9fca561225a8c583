import { type ReceivedMessage, type SubscribeOptions, type Subscriber, takeReady } from '@bus/core';
import type { Attributes, BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import { MESSAGING_SYSTEM } from './attributes.js';
import { InstrumentedMessage } from './internal/instrumented-message.js';
import { withOverrides } from './internal/overrides.js';
import { errorType, type Telemetry, telemetryFor } from './internal/telemetry.js';
import type { OtelOptions } from './options.js';

/** What the Kafka subscriber's typed events and `stats()` look like, structurally: no import of @bus/kafka. */
interface EventfulSubscriber {
  on(event: string, listener: (payload: Record<string, unknown>) => void): () => void;
}
interface StatsSubscriber {
  stats(): { readonly rebalances?: number; readonly reconnections?: number; readonly buffered?: number };
}

/**
 * Wraps `subscriber` so that every message it hands out counts in `messaging.client.consumed.messages`
 * and `<prefix>.messages.in_flight`, carries the producer's context (extracted from its headers) for
 * the `tracing()` middleware, and gets a `settle` span (`ack <topic>` / `nack <topic>`) when settled.
 * Transports with typed events and `stats()` (`KafkaSubscriber`) also feed `<prefix>.consumer.rebalances`,
 * `<prefix>.consumer.reconnections` and `<prefix>.consumer.errors`.
 *
 * The result stands for the same subscriber: its own methods (`stats()`, `on()`, ...) stay available.
 * Closing it removes what it registered with the meter.
 * @throws {ConfigError} for invalid options.
 */
export function instrumentSubscriber<S extends Subscriber>(subscriber: S, options?: OtelOptions): S {
  return instrumentSubscriberWith(subscriber, telemetryFor(options, 'instrumentSubscriber'));
}

/** {@link instrumentSubscriber} with resolved telemetry. */
export function instrumentSubscriberWith<S extends Subscriber>(subscriber: S, telemetry: Telemetry): S {
  const cleanups = watchTransport(subscriber, telemetry);
  const subscribe = (topic: string, options?: SubscribeOptions): AsyncIterable<ReceivedMessage> =>
    instrumentedSubscription(subscriber.subscribe(topic, options), telemetry, topic, options?.group);
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0)) cleanup();
    await subscriber.close();
  };
  return withOverrides(subscriber, { subscribe, close, [Symbol.asyncDispose]: close } as unknown as Partial<S>);
}

function instrumentedSubscription(
  inner: AsyncIterable<ReceivedMessage>,
  telemetry: Telemetry,
  topic: string,
  group: string | undefined,
): AsyncIterable<ReceivedMessage> {
  // Metric attributes per partition, built once: a fresh object per message is measurable.
  const byPartition: Attributes[] = [];
  const wrap = (message: ReceivedMessage): ReceivedMessage => {
    // Nothing registered (no SDK): hand out the transport's message itself, at no cost.
    if (!telemetry.active) return message;
    let attributes = byPartition[message.partition];
    if (attributes === undefined) {
      attributes = {
        'messaging.system': MESSAGING_SYSTEM,
        'messaging.destination.name': topic,
        'messaging.destination.partition.id': String(message.partition),
        'messaging.operation.name': 'process',
        ...(group === undefined ? {} : { 'messaging.consumer.group.name': group }),
      };
      byPartition[message.partition] = attributes;
    }
    const instruments = telemetry.metrics;
    if (!instruments.noop) {
      instruments.countConsumed(attributes);
      instruments.countInFlight(attributes, 1);
    }
    return new InstrumentedMessage(message, telemetry, attributes);
  };
  return {
    [Symbol.asyncIterator]() {
      const iterator = inner[Symbol.asyncIterator]();
      const wrapResult = (result: IteratorResult<ReceivedMessage>): IteratorResult<ReceivedMessage> =>
        result.done ? result : { done: false, value: wrap(result.value) };
      const wrapped: AsyncIterator<ReceivedMessage> & { [takeReady]?: () => ReceivedMessage | undefined } = {
        // Nothing registered (no SDK): the transport's own promise, no continuation of ours.
        next: () => (telemetry.active ? iterator.next().then(wrapResult) : iterator.next()),
        return: (value?: unknown) =>
          iterator.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }),
      };
      if (iterator.throw !== undefined)
        wrapped.throw = (error?: unknown) =>
          (iterator.throw as (e?: unknown) => Promise<IteratorResult<ReceivedMessage>>)(error);
      // Keep the transport's synchronous fast path (see `takeReady` in @bus/core).
      const take = (iterator as { [takeReady]?: () => ReceivedMessage | undefined })[takeReady];
      if (typeof take === 'function') {
        wrapped[takeReady] = () => {
          const message = take.call(iterator);
          return message === undefined ? undefined : wrap(message);
        };
      }
      return wrapped;
    },
  };
}

/** Counts rebalances, reconnections and errors of transports with typed events and `stats()`. */
function watchTransport(subscriber: Subscriber, telemetry: Telemetry): (() => void)[] {
  const cleanups: (() => void)[] = [];
  const prefix = telemetry.options.metricPrefix;
  const meter = telemetry.metrics.meter;
  const candidate = subscriber as Partial<EventfulSubscriber & StatsSubscriber>;
  if (typeof candidate.on === 'function') {
    const on = candidate.on.bind(subscriber) as EventfulSubscriber['on'];
    const consumerErrors = telemetry.metrics.consumerErrors;
    const onError = (payload: Record<string, unknown>) => {
      consumerErrors.add(1, {
        'messaging.system': MESSAGING_SYSTEM,
        'messaging.destination.name': String(payload.topic),
        'messaging.consumer.group.name': String(payload.group),
        'error.type': errorType(payload.error),
      });
    };
    try {
      cleanups.push(on('crash', onError), on('error', onError));
    } catch {
      // Not the event source we expected (no such events): nothing to count.
    }
  }
  if (typeof candidate.stats === 'function') {
    const stats = candidate.stats.bind(subscriber) as StatsSubscriber['stats'];
    const totals = statsTotals(meter, prefix);
    totals.sources.add(stats);
    cleanups.push(() => {
      // Keep the counters monotonic: what a closed subscriber counted stays in the totals.
      const last = stats();
      totals.retiredRebalances += last.rebalances ?? 0;
      totals.retiredReconnections += last.reconnections ?? 0;
      totals.sources.delete(stats);
    });
  }
  return cleanups;
}

type StatsFn = StatsSubscriber['stats'];

interface StatsTotals {
  readonly sources: Set<StatsFn>;
  retiredRebalances: number;
  retiredReconnections: number;
}

/** One set of observable instruments per meter, summing every instrumented subscriber's `stats()`. */
const totalsByMeter = new WeakMap<Meter, StatsTotals>();

function statsTotals(meter: Meter, prefix: string): StatsTotals {
  let totals = totalsByMeter.get(meter);
  if (totals !== undefined) return totals;
  const created: StatsTotals = { sources: new Set(), retiredRebalances: 0, retiredReconnections: 0 };
  totals = created;
  totalsByMeter.set(meter, created);
  const rebalances = meter.createObservableCounter(`${prefix}.consumer.rebalances`, {
    description: 'Partition assignments received by consumers, the first one included.',
    unit: '{rebalance}',
  });
  const reconnections = meter.createObservableCounter(`${prefix}.consumer.reconnections`, {
    description: 'Consumer restarts after a crash (lost broker, ...).',
    unit: '{reconnection}',
  });
  const buffered = meter.createObservableUpDownCounter(`${prefix}.consumer.buffered`, {
    description: 'Messages fetched and waiting in memory to be handed out.',
    unit: '{message}',
  });
  const attributes = { 'messaging.system': MESSAGING_SYSTEM };
  const callback: BatchObservableCallback = (result) => {
    let rebalanceCount = created.retiredRebalances;
    let reconnectionCount = created.retiredReconnections;
    let bufferedCount = 0;
    for (const stats of created.sources) {
      const s = stats();
      rebalanceCount += s.rebalances ?? 0;
      reconnectionCount += s.reconnections ?? 0;
      bufferedCount += s.buffered ?? 0;
    }
    result.observe(rebalances, rebalanceCount, attributes);
    result.observe(reconnections, reconnectionCount, attributes);
    result.observe(buffered, bufferedCount, attributes);
  };
  const observables: Observable[] = [rebalances, reconnections, buffered];
  meter.addBatchObservableCallback(callback, observables);
  return created;
}
