import { ConfigIssues, type Logger, noopLogger, toError } from '@bus/core';
import type { ConsumerGroupLag, KafkaAdmin } from '@bus/kafka';
import { type BatchObservableCallback, type MeterProvider, metrics } from '@opentelemetry/api';
import { MESSAGING_SYSTEM } from '../attributes.js';
import { SCOPE_NAME } from '../internal/telemetry.js';

/** A consumer group whose lag is measured, on every topic it committed or on the ones listed. */
export interface LagTarget {
  /** The consumer group. */
  group: string;
  /** Only these topics; default every topic the group committed offsets on. */
  topics?: readonly string[];
}

/** Options of {@link consumerLagGauge}. */
export interface ConsumerLagOptions {
  /** The admin client that asks the brokers (`KafkaAdmin.consumerLag`). Not closed by the gauge. */
  admin: Pick<KafkaAdmin, 'consumerLag'>;
  /** The groups to measure: names, or `{ group, topics }`. */
  groups: readonly (string | LagTarget)[];
  /** How often to ask the brokers, in milliseconds (≥ 100). Default 15 000. */
  intervalMs?: number;
  /** Where the gauge is registered. Default: the global meter provider at the time of the call. */
  meterProvider?: MeterProvider;
  /** Prefix of the gauge's name (`<prefix>.consumer.lag`). Default `bus`. */
  metricPrefix?: string;
  /** Pino-compatible logger for failed measurements. Default: none. */
  logger?: Logger;
}

/** A running consumer-lag gauge; stop it with `close()` or `await using`. */
export interface ConsumerLagGauge extends AsyncDisposable {
  /** Asks the brokers now and resolves once the gauge holds the answer. Rejects if the admin call failed. */
  refresh(): Promise<void>;
  /** Stops polling and unregisters the gauge. Idempotent. */
  close(): Promise<void>;
}

const METRIC_PREFIX = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

/**
 * Registers the observable gauge `<prefix>.consumer.lag` (unit `{message}`): per consumer group, topic
 * and partition, the messages not consumed yet (end offset minus committed offset), as
 * `KafkaAdmin.consumerLag` reports it. The brokers are asked every `intervalMs` in the background (not
 * at each collection, which must not wait on the network); the gauge reports the last answer, and a
 * group whose measurement fails keeps its previous values (the failure is logged).
 * @throws {ConfigError} for invalid options, listing every problem.
 */
export function consumerLagGauge(options: ConsumerLagOptions): ConsumerLagGauge {
  const issues = new ConfigIssues('consumerLagGauge');
  if (typeof options?.admin?.consumerLag !== 'function') issues.add('admin', 'must be a KafkaAdmin');
  if (!Array.isArray(options?.groups) || options.groups.length === 0)
    issues.add('groups', 'must list at least one group');
  else {
    options.groups.forEach((target, i) => {
      const group = typeof target === 'string' ? target : target?.group;
      if (typeof group !== 'string' || group === '')
        issues.add(`groups[${i}]`, 'must be a group name or { group, topics }');
    });
  }
  issues.integer(options?.intervalMs, 'intervalMs', { min: 100 });
  if (
    options?.metricPrefix !== undefined &&
    (typeof options.metricPrefix !== 'string' || !METRIC_PREFIX.test(options.metricPrefix))
  ) {
    issues.add('metricPrefix', 'must be lowercase dot-separated words (letters, digits, _)');
  }
  issues.throwIfAny();

  const targets: LagTarget[] = options.groups.map((t) => (typeof t === 'string' ? { group: t } : t));
  const logger = options.logger ?? noopLogger;
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE_NAME);
  const gauge = meter.createObservableGauge(`${options.metricPrefix ?? 'bus'}.consumer.lag`, {
    description: 'Messages of a partition not consumed yet by a consumer group (end offset minus committed offset).',
    unit: '{message}',
  });
  const latest = new Map<string, ConsumerGroupLag>();
  const callback: BatchObservableCallback = (result) => {
    for (const lag of latest.values()) {
      for (const p of lag.partitions) {
        result.observe(gauge, p.lag, {
          'messaging.system': MESSAGING_SYSTEM,
          'messaging.consumer.group.name': lag.groupId,
          'messaging.destination.name': p.topic,
          'messaging.destination.partition.id': String(p.partition),
        });
      }
    }
  };
  meter.addBatchObservableCallback(callback, [gauge]);

  const measure = async (): Promise<void> => {
    const failures: Error[] = [];
    await Promise.all(
      targets.map(async ({ group, topics }) => {
        try {
          latest.set(group, await options.admin.consumerLag(group, topics));
        } catch (error) {
          const err = toError(error);
          failures.push(err);
          logger.warn({ err, group }, 'measuring consumer lag failed; the gauge keeps the last values');
        }
      }),
    );
    if (failures.length > 0) throw failures[0];
  };
  let closed = false;
  const timer = setInterval(() => {
    measure().catch(() => {});
  }, options.intervalMs ?? 15_000);
  // The gauge never keeps a process alive.
  timer.unref();
  measure().catch(() => {});

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    meter.removeBatchObservableCallback(callback, [gauge]);
  };
  return { refresh: measure, close, [Symbol.asyncDispose]: close };
}
