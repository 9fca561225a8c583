import type { DeadLetterQueue, Logger, Middleware, Publisher, RetryOptions, Router, Subscriber } from '@bus/core';
import type { CommandBus } from './command-bus.js';
import type { EventBus } from './event-bus.js';
import type { TopicStrategy } from './topics.js';

/**
 * What a processor does with a message whose `ce_type` no handler of it knows:
 * - `ack` (default): log it and ack it;
 * - `nack`: nack it with `unknownTypeNackDelayMs`, so a member that knows it (a newer deploy) may take it;
 * - `dead-letter`: move it to the dead-letter topic at once (requires `deadLetter`).
 */
export type UnknownTypePolicy = 'ack' | 'nack' | 'dead-letter';

/** Where failed messages go once retries are spent. */
export interface DeadLetterConfig {
  /** Publisher of dead letters. Not closed by the processor: its owner closes it. */
  publisher: Publisher;
  /** Dead-letter topic of a consumed topic. Default `<topic>.dlq`. */
  topicOf?: (topic: string) => string;
  /**
   * The queue of a dead-letter topic, for `processor.deadLetterQueue()`: pass your transport's
   * (`(topic) => broker.deadLetterQueue(topic)`, `(topic) => new KafkaDeadLetterQueue({ brokers, topic })`).
   * Called once per dead-letter topic; the processor's `close()` closes the queues it returned.
   */
  queue?: (deadLetterTopic: string) => DeadLetterQueue;
}

/** Delays of the retry topics; see {@link ProcessorOptions.retryTopics}. */
export interface RetryTopicsConfig {
  /** The wait in each retry topic, in order, in milliseconds (usually growing), e.g. `[1_000, 10_000, 60_000]`. */
  delaysMs: readonly number[];
}

/** Options of `new EventProcessor()` and `new CommandProcessor()`. */
export interface ProcessorOptions {
  /** Where messages are read from. The router closes it unless it was created with `closeTransports: false`. */
  subscriber: Subscriber;
  /** Topic of each type: the same strategy as the buses publishing them. */
  topics: TopicStrategy;
  /**
   * The router to run on, so its middleware, plugins and decorators apply. Default: a router of the
   * processor's own, which `run()`, `close()` and `await using` drive.
   */
  router?: Router;
  /** Bus for `context.publish`. */
  events?: EventBus;
  /** Bus for `context.send`. */
  commands?: CommandBus;
  /** Consumer groups are `<groupPrefix>.<handler name>`. Default `cqrs`. */
  groupPrefix?: string;
  /** Messages handled at once per handler; messages of one aggregate stay in order. Default 16. */
  concurrency?: number;
  /** See {@link UnknownTypePolicy}. Default `ack`. */
  unknownType?: UnknownTypePolicy;
  /** Nack delay of the `nack` policy, in milliseconds. Default 5 000. */
  unknownTypeNackDelayMs?: number;
  /** In-process retries with backoff and jitter (core's `retry`). Default `{ maxRetries: 3 }`; `false` disables them. */
  retry?: RetryOptions | false;
  /** Dead-letter topic after retries (core's `deadLetter`). Default: none, so a failed message is nacked and redelivered. */
  deadLetter?: DeadLetterConfig;
  /**
   * Non-blocking retries (core's `retryTopics`, Spring's retry topics): a message that still fails after
   * the in-process `retry` moves to `<topic>.retry.1`, waits `delaysMs[0]` there without blocking its
   * main partition, is handled again, then `.retry.2`..., then goes to the dead-letter topic. Every
   * handler also consumes its retry topics, in the same group. Needs `deadLetter` (its publisher).
   */
  retryTopics?: RetryTopicsConfig;
  /** Middleware of every handler of this processor, inside retry and dead-lettering. */
  middleware?: readonly Middleware[];
  /** Logger of the processor's own router. Ignored when `router` is given. */
  logger?: Logger;
}
