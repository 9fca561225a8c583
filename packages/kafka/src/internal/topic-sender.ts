import type { BusError, Logger } from '@bus/core';
import { KafkaErrorCode, toKafkaError } from '../errors.js';
import { UnacknowledgedPartitionsError } from '../unacknowledged-partitions-error.js';
import { sendUntilAcknowledged } from './acknowledged-send.js';
import type { DriverRecord, KafkaDriver, ProducerDriver } from './driver/types.js';
import type { ResolvedPublisherOptions } from './publisher-options.js';
import type { QueuedCall, SendQueue } from './send-queue.js';

/** What a {@link TopicSender} reports: the publisher's `batch`/`batchError` events and counters. */
export interface TopicSendReports {
  batch(event: { topic: string; messages: number; bytes: number; durationMs: number }): void;
  batchError(event: { topic: string; messages: number; error: BusError }): void;
  /** A batch of this topic is being sent. */
  sending(): void;
  /** A batch failed (its callers reject). */
  failed(): void;
  /** Partitions left unacknowledged are about to be resent. */
  resend(): void;
}

/**
 * Sends one topic's share of a batch through the driver and settles its calls: every partition checked
 * for an acknowledgement (see acknowledged-send), errors typed, and an oversized batch split so only
 * the oversized calls fail.
 */
export class TopicSender {
  readonly #producer: ProducerDriver;
  readonly #driver: KafkaDriver;
  readonly #options: ResolvedPublisherOptions;
  readonly #secrets: readonly string[];
  readonly #logger: Logger;
  readonly #queue: () => SendQueue;
  readonly #reports: TopicSendReports;

  constructor(deps: {
    producer: ProducerDriver;
    driver: KafkaDriver;
    options: ResolvedPublisherOptions;
    secrets: readonly string[];
    queue: () => SendQueue;
    reports: TopicSendReports;
  }) {
    this.#producer = deps.producer;
    this.#driver = deps.driver;
    this.#options = deps.options;
    this.#secrets = deps.secrets;
    this.#logger = deps.options.logger;
    this.#queue = deps.queue;
    this.#reports = deps.reports;
  }

  /** Sends `calls` (all of `topic`) and settles each one. */
  async send(topic: string, calls: QueuedCall[], isolateOversized = true): Promise<void> {
    const queue = this.#queue();
    const live = calls.filter((call) => !call.settled);
    if (live.length === 0) return;
    const messages = live.length === 1 ? live[0]!.records : live.flatMap((call) => call.records);
    const bytes = live.reduce((sum, call) => sum + call.bytes, 0);
    const started = performance.now();
    this.#reports.sending();
    const send = (records: DriverRecord[]) =>
      this.#producer.send({
        topic,
        records,
        acks: this.#options.acks,
        timeoutMs: this.#options.timeoutMs,
        compression: this.#options.compression,
      });
    let unacknowledged: readonly QueuedCall[] = [];
    let missing: ReadonlySet<number> = new Set();
    try {
      if (this.#options.checkAcknowledgements) {
        ({ unacknowledged, partitions: missing } = await sendUntilAcknowledged({
          units: live,
          records: messages,
          send,
          isWaiting: (call) => !call.settled,
          acknowledged: (call) => queue.settle(call),
          resending: (partitions, waiting, attempt) => this.#resending(topic, partitions, waiting, attempt),
          deadline: live.reduce((latest, call) => Math.max(latest, call.deadline), 0),
          retryDelayMs: this.#options.resendDelayMs,
          maxRetryDelayMs: this.#options.maxResendDelayMs,
        }));
      } else {
        await send(messages);
      }
    } catch (cause) {
      this.#reports.failed();
      let error = toKafkaError(cause, { operation: 'publish', topic, secrets: this.#secrets });
      if (error.code === KafkaErrorCode.MESSAGE_TOO_LARGE) {
        if (isolateOversized && live.length > 1) {
          // Retry each caller alone so only the oversized ones fail. Callers whose partition was
          // already written may get a duplicate, which at-least-once delivery allows.
          await Promise.all(live.map((call) => this.send(topic, [call], false)));
          return;
        }
        error = await this.#withSizeLimit(cause, topic);
      }
      this.#reports.batchError({ topic, messages: messages.length, error });
      for (const call of live) queue.settle(call, error);
      return;
    }
    const failed = unacknowledged.filter((call) => !call.settled);
    if (failed.length > 0) {
      const errors = failed.map((call) => unacknowledgedError(call, missing, this.#options.timeoutMs));
      this.#reports.failed();
      this.#reports.batchError({
        topic,
        messages: failed.reduce((sum, call) => sum + call.records.length, 0),
        error: errors[0]!,
      });
      for (const [i, call] of failed.entries()) queue.settle(call, errors[i]);
      return;
    }
    this.#reports.batch({ topic, messages: messages.length, bytes, durationMs: performance.now() - started });
    for (const call of live) queue.settle(call);
  }

  #resending(topic: string, partitions: ReadonlySet<number>, calls: readonly QueuedCall[], attempt: number): void {
    this.#reports.resend();
    for (const call of calls) {
      call.attempts = attempt;
      call.unacknowledged = partitions;
    }
    this.#logger.warn(
      { topic, partitions: [...partitions], calls: calls.length, attempt },
      'kafka publisher: partitions left unacknowledged (leadership moved); resending them',
    );
  }

  /** The typed error, naming the limit that was exceeded when it can be looked up. */
  async #withSizeLimit(cause: unknown, topic: string): Promise<BusError> {
    let limitBytes: number | undefined;
    try {
      limitBytes = await this.#driver.topicSizeLimit(topic);
    } catch (error) {
      this.#logger.debug({ err: error, topic }, 'could not look up max.message.bytes');
    }
    return toKafkaError(cause, {
      operation: 'publish',
      topic,
      secrets: this.#secrets,
      ...(limitBytes === undefined ? {} : { limitBytes }),
    });
  }
}

/** The error of a call whose partitions among `missing` were never acknowledged. */
export function unacknowledgedError(
  call: QueuedCall,
  missing: ReadonlySet<number>,
  timeoutMs: number,
): UnacknowledgedPartitionsError {
  const partitions = new Set<number>();
  for (const record of call.records) {
    const partition = record.partition ?? -1;
    if (missing.has(partition)) partitions.add(partition);
  }
  return new UnacknowledgedPartitionsError(call.topic, partitions, {
    timeoutMs,
    attempts: Math.max(1, call.attempts + 1),
  });
}
