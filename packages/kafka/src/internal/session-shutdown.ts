import { type BusError, type Logger, toError } from '@bus/core';
import { KafkaErrorCode, KafkaTransportError, toKafkaError } from '../errors.js';

/** What a session's shutdown needs to know. */
export interface SessionShutdownOptions {
  readonly topic: string;
  readonly group: string;
  readonly closeTimeoutMs: number;
  readonly logger: Logger;
  readonly secrets: readonly string[];
}

/** The steps of leaving, each started when the one before it is done. */
export interface LeaveSteps {
  /** Settles when the consumer's start settled. */
  readonly started: () => Promise<void>;
  readonly finalCommit: () => Promise<void>;
  readonly disconnect: () => Promise<void>;
}

/**
 * How a subscription leaves its group within the close deadline: it waits for its start, commits
 * what is acked and disconnects, with one deadline for the lot, so a coordinator that cannot be
 * reached does not make each step wait its own full timeout. A step that fails or times out is
 * recorded and logged, never thrown: the next one still runs.
 */
export class SessionShutdown {
  readonly #o: SessionShutdownOptions;
  readonly #recordError: (error: BusError) => void;

  constructor(options: SessionShutdownOptions, recordError: (error: BusError) => void) {
    this.#o = options;
    this.#recordError = recordError;
  }

  /** Runs the steps of leaving within `closeTimeoutMs` from now. */
  async leave(steps: LeaveSteps): Promise<void> {
    const deadline = Date.now() + this.#o.closeTimeoutMs;
    // kafkajs ignores a stop issued while the group join is in progress, so let the start
    // finish first, within the close deadline (a join that completes later leaves at once).
    await this.#step(steps.started(), 'start', deadline);
    // The commit leaves a share of the deadline to leaving the group, so a member whose commit
    // timed out still leaves when the coordinator answers after all.
    const leaveShare = Math.min(1_000, this.#o.closeTimeoutMs / 4);
    await this.#step(steps.finalCommit(), 'final commit', deadline - leaveShare);
    await this.#step(steps.disconnect(), 'disconnect', deadline);
  }

  /** Settles with `promise`, or rejects with a `TIMEOUT` error naming `what` after `timeoutMs`. */
  async withDeadline(promise: Promise<void>, what: string, timeoutMs = this.#o.closeTimeoutMs): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new KafkaTransportError(`Kafka consumer ${what} did not finish within the close deadline`, {
              code: KafkaErrorCode.TIMEOUT,
              isRetryable: true,
              topic: this.#o.topic,
            }),
          ),
        Math.max(0, timeoutMs),
      );
    });
    try {
      await Promise.race([promise.catch((error: unknown) => Promise.reject(toError(error))), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #step(promise: Promise<void>, what: string, deadline: number): Promise<void> {
    try {
      await this.withDeadline(promise, what, deadline - Date.now());
    } catch (error) {
      const typed = toKafkaError(error, { operation: 'close', topic: this.#o.topic, secrets: this.#o.secrets });
      this.#recordError(typed);
      this.#o.logger.warn({ topic: this.#o.topic, group: this.#o.group, err: typed }, `consumer ${what} failed`);
    }
  }
}
