/**
 * @bus/kafka: the Kafka transport of bus on kafkajs — publisher with client-side batching and
 * transactions, consumer-group subscriber with commit-on-ack, admin helpers, TLS/SASL, config helpers.
 */
export {
  brokerList,
  createKafkaClient,
  KAFKA_DRIVERS,
  type KafkaConnectionOptions,
  type KafkaDriverName,
  type KafkaRetryOptions,
  type KafkaSaslOAuthBearerOptions,
  type KafkaSaslOptions,
  type KafkaSaslPasswordOptions,
  type KafkaTlsOptions,
  type Pem,
  validateConnectionOptions,
} from './connection.js';
export {
  KafkaErrorCode,
  type KafkaErrorCodeValue,
  type KafkaErrorContext,
  KafkaTransportError,
  type KafkaTransportErrorOptions,
  toKafkaError,
} from './errors.js';
export { UnacknowledgedPartitionsError } from './unacknowledged-partitions-error.js';
export type { EventSource, Listener, Unsubscribe } from './events.js';
export {
  type KafkaAcks,
  type KafkaCompression,
  KafkaPublisher,
  type KafkaPublisherEvents,
  type KafkaPublisherOptions,
  type KafkaPublisherStats,
} from './publisher.js';
export type {
  KafkaTransaction,
  KafkaTransactionOptions,
  TransactionOffset,
  TransactionOffsetsInput,
} from './transaction.js';
export { type KafkaConfigFromSource, kafkaConfigFromUrl, type KafkaSecurityProtocol } from './config-url.js';
export { kafkaConfigFromEnv, type KafkaEnvConfig, type KafkaEnvOptions } from './config-env.js';
export { KafkaSubscriber } from './subscriber.js';
export { KafkaDeadLetterQueue, type KafkaDeadLetterQueueOptions } from './dead-letter-queue.js';
export type { KafkaSubscriberEvents, StallReason } from './subscriber-events.js';
export {
  DEFAULT_PARTITION_ASSIGNORS,
  KAFKA_PARTITION_ASSIGNORS,
  type KafkaPartitionAssignor,
} from './partition-assignors.js';
export {
  BINARY_KEY_HEADER,
  type KafkaCommitOptions,
  type KafkaSubscriberOptions,
} from './subscriber-options.js';
export type { KafkaSubscriberStats, LastError } from './subscriber-stats.js';
export {
  type ConsumerGroupInfo,
  type ConsumerGroupLag,
  type EnsureTopicsResult,
  KafkaAdmin,
  type KafkaAdminOptions,
  type PartitionLag,
  type ResetOffsetsResult,
  type TopicDescription,
  type TopicPartitionInfo,
  type TopicSpec,
  type TopicSummary,
} from './admin.js';
export type { ConsumerGroupDescription, ConsumerGroupMember, MemberAssignment } from './admin-groups.js';
export type { PartitionOffset, PartitionWatermarks, ResetTarget } from './admin-offsets.js';
export type { PeekedRecord, PeekOptions, PeekResult } from './admin-peek.js';
