import { BusError } from '../errors.js';
import type { Message } from '../pubsub.js';

// What operators do with a dead-letter topic: list, count, replay, purge. Transports implement
// it (MemoryBroker.deadLetterQueue, @bus/kafka's KafkaDeadLetterQueue); libraries such as
// @bus/cqrs take an implementation from the user instead of importing a transport.

/** Where a dead letter sits in the dead-letter topic. */
export interface DeadLetterPosition {
  /** Partition of the dead-letter topic. */
  readonly partition: number;
  /** Offset in that partition. */
  readonly offset: number;
}

/** One link of an error's `cause` chain, as the dead letter recorded it. */
export interface DeadLetterCause {
  /** The cause's class name (`error.name`). */
  readonly errorClass: string;
  /** Its message, bounded. */
  readonly message: string;
}

/** Why and where a message failed, read back from the `bus-dlq-*` headers. */
export interface DeadLetterFailure {
  /** Topic the message was consumed from, where replay sends it back. */
  readonly originalTopic: string;
  /** Partition it was consumed from. */
  readonly originalPartition: number;
  /** Its offset there. */
  readonly originalOffset: number;
  /** Consumer group that failed to handle it, when the router knew it. */
  readonly consumerGroup?: string;
  /** Router handler that failed, when recorded. */
  readonly handler?: string;
  /** The error's class name (`error.name`). */
  readonly errorClass: string;
  /** The error's message, bounded. */
  readonly errorMessage: string;
  /** The error's string `code`, when it had one. */
  readonly errorCode?: string;
  /** The error's `cause` chain, outermost first, bounded. Empty without a cause. */
  readonly causes: readonly DeadLetterCause[];
  /** The error's stack, bounded, when it had one. */
  readonly stack?: string;
  /** Failed attempts before dead-lettering: deliveries plus in-process retries, at least 1. */
  readonly attempts: number;
  /** First failure this process saw for the message. */
  readonly firstFailedAt: Date;
  /** The last failure, when it was dead-lettered. */
  readonly lastFailedAt: Date;
}

/** A message held in a dead-letter queue. */
export interface DeadLetter extends DeadLetterPosition {
  /** The dead letter as stored: the original id, payload, key, timestamp and headers plus `bus-dlq-*` headers. */
  readonly message: Message;
  /**
   * What replay publishes: the original message, its own headers only (no `bus-dlq-*` ones).
   * Undefined when the stored record lacks the `bus-dlq-*` headers (it was not written by `deadLetter`).
   */
  readonly original: Message | undefined;
  /** Why and where it failed; undefined for a record without the `bus-dlq-*` headers. */
  readonly failure: DeadLetterFailure | undefined;
}

/** Options of {@link DeadLetterQueue.list}. */
export interface DeadLetterListOptions {
  /** Most dead letters returned: 1 to 10,000. Default 100. */
  limit?: number;
  /**
   * First position returned (inclusive). Letters come partition by partition, in offset order; to
   * page on, pass the last letter's partition and offset + 1. Default: the oldest held letter.
   */
  from?: DeadLetterPosition;
  /** Aborting rejects the call. */
  signal?: AbortSignal;
}

/** Chooses dead letters to replay: one position, or every held letter the predicate accepts. */
export type DeadLetterSelector = DeadLetterPosition | ((letter: DeadLetter) => boolean);

/** Options of {@link DeadLetterQueue.replay}. */
export interface DeadLetterReplayOptions {
  /** Aborting stops the replay between letters; those already republished stay republished. */
  signal?: AbortSignal;
}

/** What {@link DeadLetterQueue.replay} did. */
export interface DeadLetterReplayReport {
  /** Positions of the letters republished, in the order they were republished. */
  readonly replayed: readonly DeadLetterPosition[];
  /** Letters the selector chose that could not be replayed (no `bus-dlq-*` headers), left in place. */
  readonly skipped: readonly DeadLetterPosition[];
}

/**
 * The dead-letter topic, as operators use it.
 *
 * Contract every implementation keeps:
 * - `list` and `count` read; they never consume, commit or alter anything.
 * - `replay` publishes each chosen letter's original message (id, payload, key, timestamp and its
 *   own headers, without `bus-dlq-*` ones) to its original topic, adding {@link DEAD_LETTER_REPLAY_HEADERS}.
 *   The letter stays in the queue until purged (a dead-letter topic is a log: replay is a copy,
 *   and handlers that must not see a message twice deduplicate on its id). A replayed message that
 *   fails again is dead-lettered again, as a new letter.
 * - `purge` removes every letter held when it is called; letters dead-lettered meanwhile may stay.
 * - A missing dead-letter topic is an empty queue, not an error.
 * - Failures reject with a `BusError` subclass carrying a `code`; a position that does not hold a
 *   letter rejects with {@link DeadLetterNotFoundError}; invalid options reject with a `ConfigError`.
 * - `close()` waits for the calls already running, then releases what the queue holds (connections, a
 *   publisher it created; never one it was given). Calls after it reject with `ClosedError`; closing
 *   again does nothing. `await using` closes it.
 */
export interface DeadLetterQueue extends AsyncDisposable {
  /** The dead-letter topic. */
  readonly topic: string;
  /** Dead letters from `from` on, at most `limit`, oldest first within each partition. */
  list(options?: DeadLetterListOptions): Promise<readonly DeadLetter[]>;
  /** How many letters the queue holds now. */
  count(options?: { signal?: AbortSignal }): Promise<number>;
  /** Republishes the chosen letters to their original topics. */
  replay(selector: DeadLetterSelector, options?: DeadLetterReplayOptions): Promise<DeadLetterReplayReport>;
  /** Removes every letter held now; resolves with how many were removed. */
  purge(options?: { signal?: AbortSignal }): Promise<number>;
  /** Waits for running calls, then releases the queue's resources; later calls reject with `ClosedError`. Idempotent. */
  close(): Promise<void>;
}

/** Headers a replayed message carries, next to its original headers. */
export const DEAD_LETTER_REPLAY_HEADERS = Object.freeze({
  /** Where it was replayed from: `<dead-letter topic>/<partition>/<offset>`. */
  replayedFrom: 'bus-replayed-from',
  /** When it was replayed, ISO 8601. */
  replayedAt: 'bus-replayed-at',
} as const);

const NOT_FOUND_MARKER = 'bus.error.dead-letter-not-found';

/** `replay` was given a position that holds no dead letter (never written, or purged). */
export class DeadLetterNotFoundError extends BusError {
  /** The dead-letter topic. */
  readonly topic: string;
  /** The position asked for. */
  readonly position: DeadLetterPosition;

  constructor(topic: string, position: DeadLetterPosition) {
    super(`No dead letter at ${topic}/${position.partition}/${position.offset}`, { code: 'DEAD_LETTER_NOT_FOUND' });
    this.name = 'DeadLetterNotFoundError';
    this.topic = topic;
    this.position = { partition: position.partition, offset: position.offset };
    this.mark(NOT_FOUND_MARKER);
  }

  static override isInstance(error: unknown): error is DeadLetterNotFoundError {
    return BusError.hasMarker(error, NOT_FOUND_MARKER);
  }
}
