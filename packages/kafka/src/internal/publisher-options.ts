import { ConfigIssues, type Logger, noopLogger } from '@bus/core';
import type { KafkaConnectionOptions, KafkaDriverName } from '../connection.js';
import { validateConnectionOptions } from '../connection.js';
import { kafkajsCompression } from './driver/kafkajs-driver.js';

/** Acknowledgement level: `'all'` (every in-sync replica), `1` (leader only) or `0` (none). */
export type KafkaAcks = 'all' | 1 | 0;

/**
 * Compression of record batches. On kafkajs only `gzip` is built in (the others need a codec
 * package registered); `@platformatic/kafka` has all of them built in.
 */
export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Options of `KafkaPublisher`. */
export interface KafkaPublisherOptions extends KafkaConnectionOptions {
  /** Acknowledgement level. Default `'all'`. */
  acks?: KafkaAcks;
  /**
   * kafkajs's idempotent producer (sequence numbers per partition, so the broker drops a retried batch
   * it already wrote). Requires `acks: 'all'`. Default `false`: on a cluster whose leaders move,
   * kafkajs 2.2.4's sequence bookkeeping can end in `OUT_OF_ORDER_SEQUENCE_NUMBER`, after which every
   * publish to that partition fails until the publisher is recreated, and it did not prevent
   * duplicates in our failover runs (docs/kafka.md, "Publish durability when leadership moves").
   */
  idempotent?: boolean;
  /** Unacknowledged requests per broker connection (kafkajs). At most 5 when idempotent. Default 5 when idempotent, else unlimited. */
  maxInFlightRequests?: number;
  /** Batch compression. Default `'none'`. On kafkajs, `snappy`/`lz4`/`zstd` need their codec registered first. */
  compression?: KafkaCompression;
  /** Deadline of one `publish()` call, queueing included; also the broker's ack timeout. Default 30000. */
  timeoutMs?: number;
  /**
   * Longest `close()` may take: flushing, waiting for a running transaction and disconnecting,
   * whatever kafkajs is doing (e.g. retrying to connect to an unreachable broker). Publishes still
   * unsettled then reject. Default 5000.
   */
  closeTimeoutMs?: number;
  /** Header carrying `Message.id`. Default `bus-message-id`; `_watermill_message_uuid` interoperates with Watermill. */
  messageIdHeader?: string;
  /** How long to wait for more `publish()` calls before sending a batch. Default 5; 0 sends at the end of the tick. */
  lingerMs?: number;
  /** Send a batch once it holds this many messages. Default 1000. */
  batchMaxMessages?: number;
  /** Send a batch once it holds about this many bytes. Default 1 MiB. */
  batchMaxBytes?: number;
  /** Batches sent concurrently; more publishes wait (backpressure). Default 5. */
  maxInFlightBatches?: number;
  /**
   * Messages held while waiting to be sent (accepted, not yet in a batch). A `publish()` that would
   * go beyond it waits, in call order, until dispatch frees room; it is never rejected for it, but
   * its `timeoutMs` keeps running. Trade-off: a lower bound caps the send buffer's memory, but callers
   * publishing faster than the broker acknowledges block sooner (a waiting call still holds its own
   * messages until admitted). At least `batchMaxMessages`. Default 100000.
   */
  maxPendingMessages?: number;
  /** Like `maxPendingMessages`, in estimated bytes. At least `batchMaxBytes`. Default 64 MiB. */
  maxPendingBytes?: number;
  /** Let the broker auto-create unknown topics (when it allows). Default `true`. */
  allowAutoTopicCreation?: boolean;
  /** Enables `transaction()`: the stable id of this producer instance across restarts. */
  transactionalId?: string;
  /** How long the broker lets a transaction stay open before aborting it. Default 60000. */
  transactionTimeoutMs?: number;
}

/** Publisher options with defaults applied. */
export interface ResolvedPublisherOptions {
  readonly connection: KafkaConnectionOptions;
  readonly driver: KafkaDriverName;
  readonly acks: -1 | 0 | 1;
  readonly idempotent: boolean;
  readonly maxInFlightRequests: number | undefined;
  /** The kafkajs producer's own retries (bounded, also when idempotent). */
  readonly producerRetry: { retries: number };
  /** Whether every partition of a send is checked for an acknowledgement (and resent); see acknowledged-send. */
  readonly checkAcknowledgements: boolean;
  readonly resendDelayMs: number;
  readonly maxResendDelayMs: number;
  readonly compression: KafkaCompression;
  readonly timeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly messageIdHeader: string;
  readonly lingerMs: number;
  readonly batchMaxMessages: number;
  readonly batchMaxBytes: number;
  readonly maxInFlightBatches: number;
  readonly maxPendingMessages: number;
  readonly maxPendingBytes: number;
  readonly allowAutoTopicCreation: boolean;
  readonly transactionalId: string | undefined;
  readonly transactionTimeoutMs: number;
  readonly logger: Logger;
}

const DEFAULT_BATCH_MAX_MESSAGES = 1_000;
const DEFAULT_BATCH_MAX_BYTES = 1_048_576;
const DEFAULT_MAX_PENDING_MESSAGES = 100_000;
const DEFAULT_MAX_PENDING_BYTES = 67_108_864;

/**
 * Not part of the public options: `true` under this key turns off the per-partition acknowledgement
 * check, restoring kafkajs's behaviour (which can lose messages when leadership moves). Only for the
 * benchmark's before/after comparison.
 */
export const SKIP_ACKNOWLEDGEMENT_CHECK = Symbol.for('bus.kafka.publisher.skipAcknowledgementCheck');

/**
 * A pending bound below the batch size would leave batches that can never fill, so every send would
 * wait for `lingerMs`. Checked on the values after defaults, only when both are otherwise valid, and
 * reported on the option the user set (the pending bound when both are set).
 */
function pendingFitsBatch(
  issues: ConfigIssues,
  pending: { path: string; value: unknown; fallback: number },
  batch: { path: string; value: unknown; fallback: number },
): void {
  if (issues.issues.some((issue) => issue.path === pending.path || issue.path === batch.path)) return;
  const pendingValue = (pending.value ?? pending.fallback) as number;
  const batchValue = (batch.value ?? batch.fallback) as number;
  if (pendingValue >= batchValue) return;
  if (pending.value !== undefined) {
    issues.add(pending.path, `must be at least ${batch.path} (${batchValue})`);
  } else {
    issues.add(batch.path, `must be at most ${pending.path} (default ${pendingValue}); raise ${pending.path} too`);
  }
}

const COMPRESSIONS: readonly KafkaCompression[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** Applies defaults, then reports every problem at once; throws a `ConfigError` or a codec error. */
export function resolvePublisherOptions(options: KafkaPublisherOptions): ResolvedPublisherOptions {
  const issues = new ConfigIssues('KafkaPublisher');
  if (typeof options !== 'object' || options === null) {
    issues.add('options', 'must be an object with at least brokers').throwIfAny();
  }
  validateConnectionOptions(options, issues);
  const acks = options.acks ?? 'all';
  const idempotent = options.idempotent ?? false;
  issues.oneOf(options.acks, 'acks', ['all', 1, 0]);
  if (options.idempotent !== undefined && typeof options.idempotent !== 'boolean') {
    issues.add('idempotent', 'must be a boolean');
  }
  issues.integer(options.maxInFlightRequests, 'maxInFlightRequests', { min: 1, max: 1_000 });
  issues.oneOf(options.compression, 'compression', COMPRESSIONS);
  issues.integer(options.timeoutMs, 'timeoutMs', { min: 1, max: 3_600_000 });
  issues.integer(options.closeTimeoutMs, 'closeTimeoutMs', { min: 0, max: 3_600_000 });
  if (
    options.messageIdHeader !== undefined &&
    (typeof options.messageIdHeader !== 'string' || !options.messageIdHeader)
  ) {
    issues.add('messageIdHeader', 'must be a non-empty string');
  }
  issues.integer(options.lingerMs, 'lingerMs', { min: 0, max: 60_000 });
  issues.integer(options.batchMaxMessages, 'batchMaxMessages', { min: 1, max: 1_000_000 });
  issues.integer(options.batchMaxBytes, 'batchMaxBytes', { min: 1_024, max: 1_073_741_824 });
  issues.integer(options.maxInFlightBatches, 'maxInFlightBatches', { min: 1, max: 1_000 });
  issues.integer(options.maxPendingMessages, 'maxPendingMessages', { min: 1, max: 100_000_000 });
  issues.integer(options.maxPendingBytes, 'maxPendingBytes', { min: 1_024, max: 17_179_869_184 });
  pendingFitsBatch(
    issues,
    { path: 'maxPendingMessages', value: options.maxPendingMessages, fallback: DEFAULT_MAX_PENDING_MESSAGES },
    { path: 'batchMaxMessages', value: options.batchMaxMessages, fallback: DEFAULT_BATCH_MAX_MESSAGES },
  );
  pendingFitsBatch(
    issues,
    { path: 'maxPendingBytes', value: options.maxPendingBytes, fallback: DEFAULT_MAX_PENDING_BYTES },
    { path: 'batchMaxBytes', value: options.batchMaxBytes, fallback: DEFAULT_BATCH_MAX_BYTES },
  );
  if (options.allowAutoTopicCreation !== undefined && typeof options.allowAutoTopicCreation !== 'boolean') {
    issues.add('allowAutoTopicCreation', 'must be a boolean');
  }
  if (
    options.transactionalId !== undefined &&
    (typeof options.transactionalId !== 'string' || !options.transactionalId)
  ) {
    issues.add('transactionalId', 'must be a non-empty string');
  }
  issues.integer(options.transactionTimeoutMs, 'transactionTimeoutMs', { min: 1_000, max: 900_000 });
  if (idempotent === true) {
    if (acks === 1 || acks === 0) issues.add('acks', 'must be "all" when idempotent is true');
    if (options.maxInFlightRequests !== undefined && options.maxInFlightRequests > 5) {
      issues.add('maxInFlightRequests', 'must be at most 5 when idempotent is true');
    }
    if (options.maxInFlightBatches !== undefined && options.maxInFlightBatches > 5) {
      issues.add('maxInFlightBatches', 'must be at most 5 when idempotent is true');
    }
    if (options.retry?.retries === 0) issues.add('retry.retries', 'must be at least 1 when idempotent is true');
  }
  issues.throwIfAny();
  const driver = options.driver ?? 'kafkajs';
  const compression = options.compression ?? 'none';
  // kafkajs has only gzip built in: a codec that is not registered fails here, not on the first send.
  if (driver === 'kafkajs') kafkajsCompression(compression);
  return {
    connection: options,
    driver,
    acks: acks === 'all' ? -1 : acks,
    idempotent,
    maxInFlightRequests: options.maxInFlightRequests ?? (idempotent ? 5 : undefined),
    producerRetry: { retries: options.retry?.retries ?? 5 },
    checkAcknowledgements:
      acks !== 0 && (options as { [SKIP_ACKNOWLEDGEMENT_CHECK]?: unknown })[SKIP_ACKNOWLEDGEMENT_CHECK] !== true,
    resendDelayMs: options.retry?.initialRetryTimeMs ?? 300,
    maxResendDelayMs: Math.min(options.retry?.maxRetryTimeMs ?? 30_000, 5_000),
    compression,
    timeoutMs: options.timeoutMs ?? 30_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
    messageIdHeader: options.messageIdHeader ?? 'bus-message-id',
    lingerMs: options.lingerMs ?? 5,
    batchMaxMessages: options.batchMaxMessages ?? DEFAULT_BATCH_MAX_MESSAGES,
    batchMaxBytes: options.batchMaxBytes ?? DEFAULT_BATCH_MAX_BYTES,
    maxInFlightBatches: options.maxInFlightBatches ?? 5,
    maxPendingMessages: options.maxPendingMessages ?? DEFAULT_MAX_PENDING_MESSAGES,
    maxPendingBytes: options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES,
    allowAutoTopicCreation: options.allowAutoTopicCreation ?? true,
    transactionalId: options.transactionalId,
    transactionTimeoutMs: options.transactionTimeoutMs ?? 60_000,
    logger: options.logger ?? noopLogger,
  };
}
