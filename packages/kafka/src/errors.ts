import { BusError, InputErrorCode } from '@bus/core';
import { type PlatformaticErrorShape, platformaticErrorShape } from './internal/driver/platformatic-errors.js';

/** Stable codes of {@link KafkaTransportError}; match on these, never on messages. */
export const KafkaErrorCode = {
  /** No broker could be reached (refused, DNS, TLS handshake, connection timeout). Retryable. */
  CONNECTION_FAILED: 'KAFKA_CONNECTION_FAILED',
  /** SASL authentication was refused by the broker. Not retryable: fix the credentials. */
  AUTHENTICATION_FAILED: 'KAFKA_AUTHENTICATION_FAILED',
  /** The principal may not access the topic, group or transactional id. Not retryable. */
  AUTHORIZATION_FAILED: 'KAFKA_AUTHORIZATION_FAILED',
  /** The topic does not exist (and was not auto-created). */
  UNKNOWN_TOPIC: 'KAFKA_UNKNOWN_TOPIC',
  /**
   * The topic name is not a legal Kafka topic name. Not retryable. Core's `INVALID_TOPIC`, the same
   * code on every transport (`publish` rejects with a `PublishError` carrying it).
   */
  INVALID_TOPIC: InputErrorCode.INVALID_TOPIC,
  /** A record or batch exceeded the broker's or topic's `max.message.bytes`. Not retryable. */
  MESSAGE_TOO_LARGE: 'KAFKA_MESSAGE_TOO_LARGE',
  /** The broker did not answer within the deadline. Retryable. */
  TIMEOUT: 'KAFKA_TIMEOUT',
  /**
   * Some partitions of a publish were never acknowledged before its deadline (their leadership
   * moved and resends did not get through). Retryable; the error names the topic and partitions.
   */
  NOT_ACKNOWLEDGED: 'KAFKA_NOT_ACKNOWLEDGED',
  /** The requested compression codec is not registered in kafkajs `CompressionCodecs`. */
  COMPRESSION_CODEC_MISSING: 'KAFKA_COMPRESSION_CODEC_MISSING',
  /** A transaction could not begin, commit or send offsets; it was aborted. */
  TRANSACTION_FAILED: 'KAFKA_TRANSACTION_FAILED',
  /** The consumer group rebalanced during the operation. Retryable. */
  REBALANCE: 'KAFKA_REBALANCE',
  /** A topic exists with a different partition count than requested. */
  TOPIC_MISMATCH: 'KAFKA_TOPIC_MISMATCH',
  /** The consumer group has active members, so its offsets cannot be reset. */
  GROUP_NOT_EMPTY: 'KAFKA_GROUP_NOT_EMPTY',
  /** The consumer group does not exist (it has no members and no committed offsets). Not retryable. */
  UNKNOWN_GROUP: 'KAFKA_UNKNOWN_GROUP',
  /**
   * Offsets or partitions given to an admin operation do not exist: a partition the topic lacks, or
   * an offset outside the partition's range. Not retryable: fix the input.
   */
  INVALID_OFFSETS: 'KAFKA_INVALID_OFFSETS',
  /**
   * The consumer group's members offer no partition assignor in common (the broker's
   * `INCONSISTENT_GROUP_PROTOCOL`), e.g. when this subscriber's `partitionAssignors` and the other
   * members' `partition.assignment.strategy` share no name. Not retryable: change the configuration.
   */
  INCONSISTENT_GROUP_PROTOCOL: 'KAFKA_INCONSISTENT_GROUP_PROTOCOL',
  /** Any other broker or client failure. */
  UNKNOWN: 'KAFKA_ERROR',
} as const;

/** One of the {@link KafkaErrorCode} values. */
export type KafkaErrorCodeValue = (typeof KafkaErrorCode)[keyof typeof KafkaErrorCode];

const KAFKA_ERROR_MARKER = 'bus.error.kafka';

/** Options of {@link KafkaTransportError}. */
export interface KafkaTransportErrorOptions {
  /** Stable code, one of {@link KafkaErrorCode}. */
  code: KafkaErrorCodeValue;
  /** Whether retrying may succeed. */
  isRetryable?: boolean;
  /** The underlying (usually kafkajs) error. */
  cause?: unknown;
  /** The topic involved, when there is one. */
  topic?: string;
  /** The broker involved (`host:port`), when known. */
  broker?: string;
  /** For {@link KafkaErrorCode.MESSAGE_TOO_LARGE}: the limit in bytes, when known. */
  limitBytes?: number;
}

/** A failure talking to Kafka, with a stable {@link KafkaErrorCode} and whether a retry may help. */
export class KafkaTransportError extends BusError {
  /** The topic involved, when there is one. */
  readonly topic: string | undefined;
  /** The broker involved (`host:port`), when known. */
  readonly broker: string | undefined;
  /** The size limit that was exceeded, for `KAFKA_MESSAGE_TOO_LARGE`, when known. */
  readonly limitBytes: number | undefined;
  declare readonly code: KafkaErrorCodeValue;

  constructor(message: string, options: KafkaTransportErrorOptions) {
    super(message, { code: options.code, isRetryable: options.isRetryable ?? false, cause: options.cause });
    this.name = 'KafkaTransportError';
    this.topic = options.topic;
    this.broker = options.broker;
    this.limitBytes = options.limitBytes;
    this.mark(KAFKA_ERROR_MARKER);
  }

  /** Whether `error` is a {@link KafkaTransportError} from any installed copy of this package. */
  static override isInstance(error: unknown): error is KafkaTransportError {
    return BusError.hasMarker(error, KAFKA_ERROR_MARKER);
  }
}

/** What was being done when a kafkajs error happened, for the typed error's message. */
export interface KafkaErrorContext {
  /** The operation, e.g. `publish`, `connect`, `commit`. */
  operation: string;
  /** The topic involved, if any. */
  topic?: string;
  /** Size limit to name in a `KAFKA_MESSAGE_TOO_LARGE` message, when known. */
  limitBytes?: number;
  /** Strings (passwords, tokens) to redact should they appear in an underlying message. */
  secrets?: readonly string[];
  /** The partition assignors the consumer offered, to name in a `KAFKA_INCONSISTENT_GROUP_PROTOCOL` message. */
  partitionAssignors?: readonly string[] | undefined;
}

interface KafkaJsLikeError {
  name?: unknown;
  message?: unknown;
  type?: unknown;
  retriable?: unknown;
  broker?: unknown;
  cause?: unknown;
  originalError?: unknown;
}

function asRecord(error: unknown): KafkaJsLikeError | undefined {
  return typeof error === 'object' && error !== null ? (error as KafkaJsLikeError) : undefined;
}

/** Follows kafkajs wrappers (retries exceeded, `originalError`) down to the error that explains the failure. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 8; depth++) {
    const record = asRecord(current);
    if (!record) return current;
    const inner =
      record.name === 'KafkaJSNumberOfRetriesExceeded' || record.name === 'KafkaJSNonRetriableError'
        ? (record.cause ?? record.originalError)
        : record.originalError;
    if (inner === undefined || inner === current) return current;
    current = inner;
  }
  return current;
}

/** Removes secrets and any `user:password@` URL credentials from a message. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  let result = text.replace(/\/\/([^/\s:@]+):([^@\s]+)@/g, '//$1:***@');
  for (const secret of secrets) {
    if (secret.length > 0) result = result.split(secret).join('***');
  }
  return result;
}

function inconsistentGroupProtocolMessage(context: KafkaErrorContext, platformatic: boolean): string {
  if (platformatic) {
    // A subscriber on @platformatic/kafka offers Java's roundrobin only; `partitionAssignors` cannot change that.
    return (
      `Kafka refused ${where(context)}: the consumer group's other members share no partition assignor with ` +
      `this one, which offers "roundrobin" (the one strategy a subscriber on driver "platformatic" offers; its ` +
      `\`partitionAssignors\` cannot be chosen). Add "roundrobin" to the other members' ` +
      `\`partition.assignment.strategy\` (or \`partitionAssignors\` of kafkajs members), or use driver "kafkajs".`
    );
  }
  const offered =
    context.partitionAssignors === undefined || context.partitionAssignors.length === 0
      ? 'the configured partition assignors'
      : context.partitionAssignors.map((name) => `"${name}"`).join(', ');
  return (
    `Kafka refused ${where(context)}: the consumer group's other members share no partition assignor with ` +
    `this one, which offers ${offered}. Set \`partitionAssignors\` to include a strategy the other members ` +
    `offer (Java and librdkafka consumers: their \`partition.assignment.strategy\`), e.g. ['range', 'roundrobin'], ` +
    `or add "range" to theirs (cooperative-sticky alone cannot be shared: kafkajs rebalances eagerly).`
  );
}

function where(context: KafkaErrorContext): string {
  return context.topic === undefined ? context.operation : `${context.operation} to "${context.topic}"`;
}

/** The kafkajs error class that means the same as each kind of @platformatic/kafka failure. */
const PLATFORMATIC_NAMES: Record<PlatformaticErrorShape['kind'], string> = {
  connection: 'KafkaJSConnectionError',
  timeout: 'KafkaJSRequestTimeoutError',
  authentication: 'KafkaJSSASLAuthenticationError',
  client: '',
  broker: '',
};

/**
 * Maps any error thrown by kafkajs or @platformatic/kafka to a {@link KafkaTransportError} with a stable code.
 * Bus errors pass through unchanged. Messages never contain credentials.
 */
export function toKafkaError(error: unknown, context: KafkaErrorContext): BusError {
  if (BusError.isInstance(error)) return error;
  // @platformatic/kafka errors are reduced to kafkajs's vocabulary: Kafka's error name as `type`,
  // and the failure kind for the client-side errors kafkajs names by class.
  const platformatic = platformaticErrorShape(error);
  const root = platformatic === undefined ? rootCause(error) : platformatic.root;
  const record = asRecord(root) ?? {};
  const name =
    platformatic === undefined
      ? typeof record.name === 'string'
        ? record.name
        : ''
      : PLATFORMATIC_NAMES[platformatic.kind];
  const type = platformatic === undefined ? (typeof record.type === 'string' ? record.type : '') : platformatic.type;
  const detail = redactSecrets(typeof record.message === 'string' ? record.message : String(root), context.secrets);
  const broker = typeof record.broker === 'string' ? record.broker : undefined;
  const base = {
    cause: error,
    ...(context.topic === undefined ? {} : { topic: context.topic }),
    ...(broker === undefined ? {} : { broker }),
  };
  const make = (
    code: KafkaErrorCodeValue,
    message: string,
    isRetryable: boolean,
    extra: { limitBytes?: number } = {},
  ) => new KafkaTransportError(message, { ...base, ...extra, code, isRetryable });

  if (name === 'KafkaJSSASLAuthenticationError' || type === 'SASL_AUTHENTICATION_FAILED') {
    return make(
      KafkaErrorCode.AUTHENTICATION_FAILED,
      `Kafka authentication failed during ${where(context)}: ${detail}`,
      false,
    );
  }
  if (type.endsWith('_AUTHORIZATION_FAILED')) {
    return make(KafkaErrorCode.AUTHORIZATION_FAILED, `Kafka refused ${where(context)}: ${type}`, false);
  }
  if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') {
    const limit =
      context.limitBytes === undefined ? 'the broker/topic max.message.bytes' : `${context.limitBytes} bytes`;
    return make(
      KafkaErrorCode.MESSAGE_TOO_LARGE,
      `Kafka rejected ${where(context)}: a record batch exceeds ${limit} (max.message.bytes)`,
      false,
      context.limitBytes === undefined ? {} : { limitBytes: context.limitBytes },
    );
  }
  if (type === 'UNKNOWN_TOPIC_OR_PARTITION' || name === 'KafkaJSTopicMetadataNotLoaded') {
    return make(KafkaErrorCode.UNKNOWN_TOPIC, `Kafka topic does not exist for ${where(context)}`, false);
  }
  if (type === 'INVALID_TOPIC_EXCEPTION') {
    return make(KafkaErrorCode.INVALID_TOPIC, `Invalid Kafka topic name for ${where(context)}`, false);
  }
  if (type === 'INCONSISTENT_GROUP_PROTOCOL') {
    return make(
      KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL,
      inconsistentGroupProtocolMessage(context, platformatic !== undefined),
      false,
    );
  }
  if (type === 'REBALANCE_IN_PROGRESS' || name === 'KafkaJSFetcherRebalanceError') {
    return make(KafkaErrorCode.REBALANCE, `Consumer group rebalanced during ${context.operation}`, true);
  }
  if (
    type === 'REQUEST_TIMED_OUT' ||
    name === 'KafkaJSRequestTimeoutError' ||
    name === 'KafkaJSTimeout' ||
    name === 'KafkaJSLockTimeout'
  ) {
    return make(KafkaErrorCode.TIMEOUT, `Kafka did not answer ${where(context)} in time: ${detail}`, true);
  }
  if (
    name === 'KafkaJSConnectionError' ||
    name === 'KafkaJSConnectionClosedError' ||
    name === 'KafkaJSBrokerNotFound' ||
    name === 'KafkaJSNoBrokerAvailableError'
  ) {
    return make(KafkaErrorCode.CONNECTION_FAILED, `Cannot reach Kafka for ${where(context)}: ${detail}`, true);
  }
  if (type.startsWith('INVALID_PRODUCER_') || type.includes('TRANSACTION') || type === 'PRODUCER_FENCED') {
    return make(KafkaErrorCode.TRANSACTION_FAILED, `Kafka transaction failed during ${where(context)}: ${type}`, false);
  }
  const retriable = platformatic === undefined ? record.retriable === true : platformatic.retriable;
  return make(KafkaErrorCode.UNKNOWN, `Kafka ${where(context)} failed: ${detail}`, retriable);
}
