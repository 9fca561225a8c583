/**
 * @bus/core: the contracts of bus (Message, Publisher, Subscriber, handlers and middleware),
 * its router, middleware, and the in-memory pub/sub. Zero runtime dependencies.
 */
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
  type Delivery,
  encodeBinaryHeader,
  jsonMessage,
  keyString,
  type Message,
  type MessageFields,
  type MessageInit,
  type NackOptions,
  payloadJson,
  payloadText,
  type ReceivedMessage,
  type Settlement,
  textMessage,
} from './message.js';
export {
  assertSpecVersion,
  type Publisher,
  type ReadyTaker,
  SPEC_VERSION,
  type SpecVersion,
  type SubscribeOptions,
  type Subscriber,
  takeReady,
} from './pubsub.js';
export type { Handler, HandlerContext, Middleware } from './handler.js';
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
export { type SignalsPluginOptions, signalsPlugin } from './plugins/signals.js';
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
