import { ConfigIssues } from '../config.js';
import type { Logger } from '../logger.js';
import { noopLogger } from '../logger.js';

/** How much of each partition the in-memory broker keeps; the oldest messages go first. */
export interface MemoryRetention {
  /** Messages kept per partition. Default 1,000,000. `Infinity` keeps all. */
  messages?: number;
  /** Bytes (payload, key and headers) kept per partition. Default 256 MiB. `Infinity` keeps all. */
  bytes?: number;
  /** Age in milliseconds after which a message is dropped. Default `Infinity` (never). */
  ageMs?: number;
}

/** Options of {@link MemoryBroker}. */
export interface MemoryBrokerOptions {
  /** Partitions of topics created implicitly, by publishing or subscribing to them. Default 1, as in Kafka. */
  defaultPartitions?: number;
  /**
   * Retention per partition. The newest message of a partition is always kept. A group that falls
   * behind retention loses the dropped messages (logged as a warning), as with Kafka.
   */
  retention?: MemoryRetention;
  /** Most unsettled messages one subscription (group member) holds; it gets no more until it settles some. Default 1000. */
  maxInFlight?: number;
  /**
   * When a member joins, partitions it takes over wait for their old owner to settle what it
   * holds. After this many milliseconds they move anyway, and the old owner's unsettled messages
   * are delivered again to the new one (as when a Kafka consumer exceeds its poll interval).
   * Default 30,000.
   */
  rebalanceTimeoutMs?: number;
  /** Pino-compatible logger. Default: no-op. */
  logger?: Logger;
}

/** Options with defaults applied. */
export interface ResolvedMemoryOptions {
  readonly defaultPartitions: number;
  readonly retention: { readonly messages: number; readonly bytes: number; readonly ageMs: number };
  readonly maxInFlight: number;
  readonly rebalanceTimeoutMs: number;
  readonly logger: Logger;
}

/** Largest partition count accepted, as a guard against typos. */
export const MAX_PARTITIONS = 10_000;

/** Applies defaults, then reports every invalid option at once. */
export function resolveMemoryOptions(options: MemoryBrokerOptions): ResolvedMemoryOptions {
  const issues = new ConfigIssues('MemoryBroker');
  if (typeof options !== 'object' || options === null) {
    issues.add('options', 'must be an object').throwIfAny();
  }
  const retention = options.retention ?? {};
  const resolved: ResolvedMemoryOptions = {
    defaultPartitions: options.defaultPartitions ?? 1,
    retention: {
      messages: retention.messages ?? 1_000_000,
      bytes: retention.bytes ?? 256 * 1024 * 1024,
      ageMs: retention.ageMs ?? Number.POSITIVE_INFINITY,
    },
    maxInFlight: options.maxInFlight ?? 1000,
    rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 30_000,
    logger: options.logger ?? noopLogger,
  };
  issues.integer(resolved.defaultPartitions, 'defaultPartitions', { min: 1, max: MAX_PARTITIONS });
  issues.integer(resolved.maxInFlight, 'maxInFlight', { min: 1 });
  issues.number(resolved.rebalanceTimeoutMs, 'rebalanceTimeoutMs', { min: 0, max: 2_147_483_647 });
  if (typeof retention !== 'object' || retention === null) {
    issues.add('retention', 'must be an object');
  } else {
    limit(issues, resolved.retention.messages, 'retention.messages', true);
    limit(issues, resolved.retention.bytes, 'retention.bytes', true);
    limit(issues, resolved.retention.ageMs, 'retention.ageMs', false);
  }
  const logger = resolved.logger as unknown as Partial<Record<string, unknown>> | null;
  const isLogger =
    typeof logger === 'object' &&
    logger !== null &&
    ['debug', 'info', 'warn', 'error'].every((level) => typeof logger[level] === 'function');
  issues.require(isLogger, 'logger', 'must have debug, info, warn and error methods (pino-compatible)');
  issues.throwIfAny();
  return resolved;
}

/** Positive limit, or Infinity to disable it. */
function limit(issues: ConfigIssues, value: number, path: string, integer: boolean): void {
  if (value === Number.POSITIVE_INFINITY) return;
  if (integer) issues.integer(value, path, { min: 1 });
  else issues.number(value, path, { min: 1 });
}
