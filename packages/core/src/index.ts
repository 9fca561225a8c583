/**
 * @bus/core: the contract of bus (Message, ReceivedMessage, Publisher, Subscriber, Handler,
 * Middleware: all in `pubsub.ts`), its router, middleware, and the in-memory pub/sub.
 * Zero runtime dependencies.
 */
export {
  assertSpecVersion,
  type Delivery,
  type Handler,
  type HandlerContext,
  type HandlerDeadLetterEvent,
  type HandlerEvent,
  type HandlerRetryEvent,
  type Message,
  type Middleware,
  type NackOptions,
  type Publisher,
  type ReceivedMessage,
  SPEC_VERSION,
  type Settlement,
  type SpecVersion,
  type SubscribeOptions,
  type Subscriber,
} from './pubsub.js';
export { type ReadyTaker, takeReady } from './take-ready.js';
export {
  BusError,
  type BusErrorOptions,
  ClosedError,
  ConfigError,
  type ConfigIssue,
  HandlerError,
  PublishError,
  TimeoutError,
  toError,
} from './errors.js';
export { ConfigIssues } from './config.js';
export { childLogger, type LogFn, type Logger, noopLogger } from './logger.js';
export {
  createMessage,
  decodeBinaryHeader,
  encodeBinaryHeader,
  headerBytes,
  jsonMessage,
  type MessageHeaders,
  keyString,
  type MessageFields,
  type MessageInit,
  payloadJson,
  payloadText,
  textMessage,
} from './message-helpers.js';
export {
  InputErrorCode,
  MAX_NACK_DELAY_MS,
  messageProblems,
  nackDelayMs,
  publishInputError,
  topicNameProblem,
} from './validation.js';
export { Router } from './router/router.js';
export { InvalidOutputError, UnroutableOutputError } from './router/errors.js';
export type {
  CloseOptions,
  CloseReport,
  ConsumerHandlerConfig,
  HandlerConfig,
  OrderBy,
  Plugin,
  PublisherDecorator,
  RouterHandle,
  RouterOptions,
  RouterState,
  RunOptions,
  SubscriberDecorator,
} from './router/types.js';
export { type ProcessSignal, type SignalsPluginOptions, signalsPlugin } from './plugins/signals.js';
export {
  kafkaPartitionForKey,
  MemoryBroker,
  type MemoryPartitionOffsets,
  type MemorySubscriberOptions,
} from './memory/broker.js';
export type { MemoryBrokerOptions, MemoryRetention } from './memory/options.js';
export { type RetryEvent, type RetryOptions, retry } from './middleware/retry.js';
export {
  DEAD_LETTER_HEADER_PREFIX,
  DeadLetterHeaders,
  type DeadLetterOptions,
  deadLetter,
} from './middleware/dead-letter.js';
export {
  DEAD_LETTER_REPLAY_HEADERS,
  type DeadLetter,
  type DeadLetterCause,
  type DeadLetterFailure,
  type DeadLetterListOptions,
  DeadLetterNotFoundError,
  type DeadLetterPosition,
  type DeadLetterQueue,
  type DeadLetterReplayOptions,
  type DeadLetterReplayReport,
  type DeadLetterSelector,
} from './middleware/dead-letter-queue.js';
export {
  checkDeadLetterSelector,
  MAX_DEAD_LETTER_LIST_LIMIT,
  readDeadLetter,
  replayMessageOf,
  resolveDeadLetterListOptions,
} from './middleware/dead-letter-record.js';
export {
  RETRY_TOPIC_HEADER_PREFIX,
  RetryTopicHeaders,
  type RetryTopicsOptions,
  retryTopicName,
  retryTopics,
  withRetryTopics,
} from './middleware/retry-topics.js';
export { RetryNotDueError } from './middleware/retry-not-due-error.js';
export {
  CORRELATION_ID_HEADER,
  type CorrelationIdOptions,
  correlationId,
  correlationIdOf,
} from './middleware/correlation-id.js';
export { type TimeoutOptions, timeout } from './middleware/timeout.js';
export { type ThrottleOptions, throttle } from './middleware/throttle.js';
export {
  type DeduplicationStore,
  type DeduplicatorOptions,
  deduplicator,
  type MemoryDeduplicationStore,
  type MemoryDeduplicationStoreOptions,
  memoryDeduplicationStore,
} from './middleware/deduplicator.js';
export {
  type CircuitBreakerMiddleware,
  type CircuitBreakerOptions,
  CircuitOpenError,
  type CircuitState,
  circuitBreaker,
} from './middleware/circuit-breaker.js';
export { recoverer } from './middleware/recoverer.js';
export { instantAck } from './middleware/instant-ack.js';
