import {
  type BusError,
  ClosedError,
  ConfigIssues,
  type Logger,
  type Message,
  publishInputError,
  type ReceivedMessage,
  TimeoutError,
  topicNameProblem,
} from '@bus/core';
import { KafkaErrorCode, KafkaTransportError, toKafkaError } from './errors.js';
import type {
  DriverRecord,
  DriverTopicOffsets,
  KafkaDriver,
  TransactionalProducerDriver,
  TransactionDriver,
} from './internal/driver/types.js';
import { appendRecord } from './internal/outgoing-message.js';
import type { KafkaCompression } from './internal/publisher-options.js';

/** One input position to commit inside a transaction. */
export interface TransactionOffset {
  /** Input topic. */
  topic: string;
  /** Input partition. */
  partition: number;
  /**
   * The position to commit: the offset of the NEXT message to read, i.e. last processed offset + 1
   * (Kafka's committed-offset convention). Passing `messages` instead does the + 1 for you.
   */
  offset: number;
}

/** What {@link KafkaTransaction.sendOffsets} commits: received messages, or explicit positions. */
export type TransactionOffsetsInput =
  | {
      /** The consumer group whose offsets are committed. */
      group: string;
      /** Processed input messages; for each partition, the highest offset + 1 is committed. */
      messages: readonly Pick<ReceivedMessage, 'topic' | 'partition' | 'offset'>[];
    }
  | {
      /** The consumer group whose offsets are committed. */
      group: string;
      /** Explicit positions (next offset to read). */
      offsets: readonly TransactionOffset[];
    };

/**
 * The handle passed to `KafkaPublisher.transaction()`. Everything published through it, and the
 * offsets it sends, become visible to `read_committed` consumers atomically on commit, or never.
 */
export interface KafkaTransaction {
  /**
   * Publishes inside the transaction; resolves when the broker has the (uncommitted) records.
   * A failed publish dooms the transaction: it aborts even if the callback catches the error.
   */
  publish(topic: string, ...messages: Message[]): Promise<void>;
  /** Commits consumer-group offsets as part of the transaction (consume-transform-produce). */
  sendOffsets(input: TransactionOffsetsInput): Promise<void>;
  /** Whether the transaction can still be used (not committed nor aborted yet). */
  readonly active: boolean;
  /**
   * Aborted when the transaction is given up: its deadline passed or the caller's signal aborted.
   * Pass it to the callback's own I/O; the transaction is aborted either way.
   */
  readonly signal: AbortSignal;
}

/** Options of one `transaction()` call. */
export interface KafkaTransactionOptions {
  /**
   * Deadline of the whole transaction, callback included. Past it the transaction is aborted, its
   * `signal` aborts, and `transaction()` rejects with a `TimeoutError`, so a callback that never
   * settles cannot hold up the transactions queued behind it. Default: the publisher's
   * `transactionTimeoutMs`, after which the broker aborts the transaction anyway.
   */
  timeoutMs?: number;
  /** Aborting it aborts the transaction (the callback's result is then ignored). */
  signal?: AbortSignal;
}

/** Settings a transaction needs from its publisher. */
export interface TransactionSettings {
  readonly messageIdHeader: string;
  readonly timeoutMs: number;
  readonly compression: KafkaCompression;
  readonly secrets: readonly string[];
  readonly logger: Logger;
}

/** Turns `sendOffsets` input into the per-topic form drivers take, keeping the highest position per partition. */
export function toTopicOffsets(input: TransactionOffsetsInput): DriverTopicOffsets[] {
  const positions = new Map<string, Map<number, number>>();
  const add = (topic: string, partition: number, next: number) => {
    let partitions = positions.get(topic);
    if (!partitions) {
      partitions = new Map();
      positions.set(topic, partitions);
    }
    partitions.set(partition, Math.max(partitions.get(partition) ?? -1, next));
  };
  if ('messages' in input) {
    for (const m of input.messages) add(m.topic, m.partition, m.offset + 1);
  } else {
    for (const o of input.offsets) add(o.topic, o.partition, o.offset);
  }
  return [...positions].map(([topic, partitions]) => ({
    topic,
    partitions: [...partitions].map(([partition, offset]) => ({ partition, offset: String(offset) })),
  }));
}

function invalidOffsets(input: TransactionOffsetsInput): string | undefined {
  if (typeof input !== 'object' || input === null) return 'sendOffsets needs { group, messages } or { group, offsets }';
  if (typeof input.group !== 'string' || input.group === '') return 'group must be a non-empty string';
  const list: readonly { topic: unknown; partition: unknown; offset: unknown }[] | undefined =
    'messages' in input ? input.messages : 'offsets' in input ? input.offsets : undefined;
  if (!Array.isArray(list)) return 'sendOffsets needs a messages or offsets array';
  for (const item of list) {
    if (topicNameProblem(item.topic) !== undefined) return 'every entry needs a valid topic';
    if (!Number.isInteger(item.partition) || (item.partition as number) < 0) return 'partition must be an integer >= 0';
    if (!Number.isInteger(item.offset) || (item.offset as number) < 0) return 'offset must be an integer >= 0';
  }
  return undefined;
}

/**
 * Runs `fn` in one Kafka transaction: commit when it resolves (after every publish it started has
 * settled), abort when it throws or when any of its publishes failed (that error is returned).
 */
export async function runTransaction<T>(
  producer: TransactionalProducerDriver,
  settings: TransactionSettings,
  fn: (tx: KafkaTransaction) => Promise<T>,
  limits: { readonly timeoutMs: number; readonly signal: AbortSignal | undefined },
): Promise<{ result: T } | { error: unknown; failed: 'fn' | 'commit' }> {
  let txn: TransactionDriver;
  try {
    txn = await producer.begin();
  } catch (error) {
    throw asTransactionError(error, 'begin', settings.secrets);
  }
  let ended = false;
  const operations = new Set<Promise<unknown>>();
  // A failed publish may have written part of its records: the transaction can then only abort,
  // even when the callback caught the error.
  const failures: unknown[] = [];
  const track = <R>(operation: Promise<R>): Promise<R> => {
    operations.add(operation);
    operation.then(
      () => operations.delete(operation),
      (error: unknown) => {
        operations.delete(operation);
        failures.push(error);
      },
    );
    return operation;
  };
  const ensureActive = () => {
    if (ended) {
      throw new KafkaTransportError('The transaction has already ended; use it only inside its callback', {
        code: KafkaErrorCode.TRANSACTION_FAILED,
      });
    }
  };
  // Given up at the deadline or on the caller's signal, whatever the callback is doing.
  const giveUp = new AbortController();
  const timer = setTimeout(
    () => giveUp.abort(new TimeoutError('Kafka transaction', limits.timeoutMs)),
    limits.timeoutMs,
  );
  const onCallerAbort = () => giveUp.abort(limits.signal?.reason);
  limits.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const givenUp = new Promise<never>((_, reject) => {
    giveUp.signal.addEventListener(
      'abort',
      () => {
        // Ended at once, so a callback still running can publish nothing more into it.
        ended = true;
        reject(giveUp.signal.reason);
      },
      { once: true },
    );
  });
  givenUp.catch(() => {});
  // Aborted while the transaction was beginning: the listener above never fires for that.
  if (limits.signal?.aborted === true) onCallerAbort();
  const tx: KafkaTransaction = {
    get active() {
      return !ended;
    },
    signal: giveUp.signal,
    publish: (topic, ...messages) =>
      track(
        (async () => {
          ensureActive();
          const invalid = publishInputError(topic, messages);
          if (invalid !== undefined) throw invalid;
          if (messages.length === 0) return;
          const records: DriverRecord[] = [];
          for (const message of messages) appendRecord(records, topic, message, settings.messageIdHeader);
          try {
            await txn.send({
              topic,
              records,
              acks: -1,
              timeoutMs: settings.timeoutMs,
              compression: settings.compression,
            });
          } catch (error) {
            throw toKafkaError(error, { operation: 'transactional publish', topic, secrets: settings.secrets });
          }
        })(),
      ),
    sendOffsets: (input) =>
      track(
        (async () => {
          ensureActive();
          const problem = invalidOffsets(input);
          if (problem !== undefined) {
            throw new KafkaTransportError(`Invalid sendOffsets input: ${problem}`, {
              code: KafkaErrorCode.TRANSACTION_FAILED,
            });
          }
          const topics = toTopicOffsets(input);
          if (topics.length === 0) return;
          try {
            await txn.sendOffsets(input.group, topics);
          } catch (error) {
            throw asTransactionError(error, 'sendOffsets', settings.secrets);
          }
        })(),
      ),
  };

  const abort = async (reason: unknown) => {
    ended = true;
    try {
      await txn.abort();
    } catch (abortError) {
      // The broker aborts it anyway when the transaction times out or the id is re-initialised.
      settings.logger.warn({ err: abortError, reason }, 'transaction abort failed');
    }
  };

  try {
    let result: T;
    try {
      giveUp.signal.throwIfAborted();
      result = await Promise.race([fn(tx), givenUp]);
      // A publish started but not awaited by the callback must not be silently dropped from the commit.
      await Promise.race([Promise.allSettled([...operations]), givenUp]);
      if (failures.length > 0) throw failures[0];
    } catch (error) {
      // No publish may start from here on.
      ended = true;
      await Promise.allSettled([...operations]);
      await abort(error);
      return { error, failed: 'fn' };
    }
    try {
      ended = true;
      await txn.commit();
    } catch (error) {
      await abort(error);
      return { error: asTransactionError(error, 'commit', settings.secrets), failed: 'commit' };
    }
    return { result };
  } finally {
    clearTimeout(timer);
    limits.signal?.removeEventListener('abort', onCallerAbort);
  }
}

function asTransactionError(error: unknown, step: string, secrets: readonly string[]): BusError {
  const mapped = toKafkaError(error, { operation: `transaction ${step}`, secrets });
  if (mapped.code === KafkaErrorCode.UNKNOWN) {
    return new KafkaTransportError(`Kafka transaction ${step} failed: ${mapped.message}`, {
      code: KafkaErrorCode.TRANSACTION_FAILED,
      cause: error,
      isRetryable: mapped.isRetryable,
    });
  }
  return mapped;
}

/** What a {@link TransactionalProducer} needs beyond {@link TransactionSettings}. */
export interface TransactionalProducerSettings extends TransactionSettings {
  readonly transactionalId: string | undefined;
  readonly transactionTimeoutMs: number;
  readonly allowAutoTopicCreation: boolean;
}

/**
 * The publisher's transactional side: its own transactional producer (connected on first use, replaced
 * after a failed commit or begin) and a queue, so `transaction()` calls run one after another.
 */
export class TransactionalProducer {
  readonly #driver: KafkaDriver;
  readonly #settings: TransactionalProducerSettings;
  readonly #ended: (outcome: 'committed' | 'aborted', durationMs: number, error?: unknown) => void;
  #producer: TransactionalProducerDriver | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    driver: KafkaDriver,
    settings: TransactionalProducerSettings,
    ended: (outcome: 'committed' | 'aborted', durationMs: number, error?: unknown) => void,
  ) {
    this.#driver = driver;
    this.#settings = settings;
    this.#ended = ended;
  }

  /**
   * Queues `fn` behind the transactions already queued (see `KafkaPublisher.transaction`).
   * `open()` is asked when its turn comes: a publisher closed meanwhile begins nothing.
   */
  run<T>(fn: (tx: KafkaTransaction) => Promise<T>, options: KafkaTransactionOptions, open: () => boolean): Promise<T> {
    if (this.#settings.transactionalId === undefined) {
      return Promise.reject(
        new KafkaTransportError('transaction() needs the transactionalId option', {
          code: KafkaErrorCode.TRANSACTION_FAILED,
        }),
      );
    }
    const issues = new ConfigIssues('KafkaPublisher.transaction');
    issues.integer(options.timeoutMs, 'timeoutMs', { min: 1, max: 3_600_000 });
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      issues.add('signal', 'must be an AbortSignal');
    }
    try {
      issues.throwIfAny();
    } catch (error) {
      return Promise.reject(error);
    }
    const limits = { timeoutMs: options.timeoutMs ?? this.#settings.transactionTimeoutMs, signal: options.signal };
    const run = this.#queue.then(() => this.#run(fn, limits, open));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Settles when every transaction queued so far has ended. */
  idle(): Promise<unknown> {
    return this.#queue;
  }

  /** Disconnects the transactional producer, if one was connected. */
  async disconnect(): Promise<void> {
    const producer = this.#producer;
    this.#producer = undefined;
    await producer?.disconnect().catch((error: unknown) => {
      this.#settings.logger.warn({ err: error }, 'transactional producer disconnect failed');
    });
  }

  async #run<T>(
    fn: (tx: KafkaTransaction) => Promise<T>,
    limits: { readonly timeoutMs: number; readonly signal: AbortSignal | undefined },
    open: () => boolean,
  ): Promise<T> {
    if (!open()) throw new ClosedError('KafkaPublisher');
    // Given up while queued: never begun, so there is nothing to abort.
    limits.signal?.throwIfAborted();
    const started = performance.now();
    const producer = await this.#connected();
    let outcome: Awaited<ReturnType<typeof runTransaction<T>>>;
    try {
      outcome = await runTransaction(producer, this.#settings, fn, limits);
    } catch (beginError) {
      await this.disconnect();
      throw beginError;
    }
    const durationMs = performance.now() - started;
    if ('result' in outcome) {
      this.#ended('committed', durationMs);
      return outcome.result;
    }
    this.#ended('aborted', durationMs, outcome.error);
    if (outcome.failed === 'commit') {
      // The producer may be fenced or in an unknown state: start from a fresh one next time.
      await this.disconnect();
    }
    throw outcome.error;
  }

  async #connected(): Promise<TransactionalProducerDriver> {
    if (this.#producer) return this.#producer;
    const producer = this.#driver.transactionalProducer({
      allowAutoTopicCreation: this.#settings.allowAutoTopicCreation,
      transactionalId: this.#settings.transactionalId!,
      transactionTimeoutMs: this.#settings.transactionTimeoutMs,
    });
    try {
      await producer.connect();
    } catch (error) {
      throw toKafkaError(error, { operation: 'connect (transactional)', secrets: this.#settings.secrets });
    }
    this.#producer = producer;
    return producer;
  }
}
