import type { MessageHeaders } from '@bus/core';
import { type ErrorBody, encodeErrorBody } from './error-reply.js';
import { type KafkaCorrelation, readKafkaCorrelation, readReplyPartition, uuidBytes } from './kafka-correlation.js';
import { RpcHeaders } from './headers.js';

/**
 * Wire format of requests. `bus` is ours; `nest` is the one of NestJS's Kafka transport
 * (`@nestjs/microservices` 11: `ClientKafka.send` and `@MessagePattern`); `spring` the one of Spring
 * Kafka (`ReplyingKafkaTemplate`, `@KafkaListener` with `@SendTo`): the same `kafka_*` header names as
 * Nest, with a binary correlation id. So bus clients call Nest and Spring services, and Nest and
 * Spring clients call bus servers, unchanged.
 */
export type RpcProfile = 'bus' | 'nest' | 'spring';

/** Header names of NestJS's Kafka transport (its `KafkaHeaders`, shared with Spring Kafka's names). */
export const NestKafkaHeaders = Object.freeze({
  correlationId: 'kafka_correlationId',
  replyTopic: 'kafka_replyTopic',
  replyPartition: 'kafka_replyPartition',
  error: 'kafka_nest-err',
  isDisposed: 'kafka_nest-is-disposed',
} as const);

/**
 * Header names of Spring Kafka's request/reply (its `KafkaHeaders`). `correlationId` holds bytes
 * (16 for the default UUID), `replyPartition` a 4-byte big-endian int.
 */
export const SpringKafkaHeaders = Object.freeze({
  correlationId: 'kafka_correlationId',
  replyTopic: 'kafka_replyTopic',
  replyPartition: 'kafka_replyPartition',
} as const);

/** Nest's reply topic of a pattern: `<pattern>.reply`. */
export function nestReplyTopic(pattern: string): string {
  return `${pattern}.reply`;
}

/** The headers of a message to publish. */
export interface OutgoingHeaders {
  readonly headers: Record<string, string>;
  readonly binaryHeaders?: Record<string, Uint8Array>;
}

/** Headers a client puts on a request. */
export function requestHeaders(
  profile: RpcProfile,
  correlationId: string,
  replyTo: readonly string[],
  deadline: number,
): OutgoingHeaders {
  if (profile === 'nest') {
    // Nest replies to one topic; extra reply-to topics are a bus feature.
    return {
      headers: {
        [NestKafkaHeaders.correlationId]: correlationId,
        [NestKafkaHeaders.replyTopic]: replyTo[0] as string,
        [NestKafkaHeaders.replyPartition]: '0',
        [RpcHeaders.deadline]: String(deadline),
      },
    };
  }
  if (profile === 'spring') {
    // Spring's listener echoes the correlation bytes. No reply partition: Spring's own template names
    // one only when its reply container has one assigned partition, and this client reads them all.
    return {
      headers: {
        [SpringKafkaHeaders.replyTopic]: replyTo[0] as string,
        [RpcHeaders.deadline]: String(deadline),
      },
      binaryHeaders: { [SpringKafkaHeaders.correlationId]: uuidBytes(correlationId) },
    };
  }
  return {
    headers: {
      [RpcHeaders.correlationId]: correlationId,
      [RpcHeaders.replyTo]: replyTo.join(','),
      [RpcHeaders.deadline]: String(deadline),
    },
  };
}

/** What a reply says, read from its headers without decoding its payload. */
export interface ReplyHeaders {
  readonly correlationId: string | undefined;
  /** Set on an error reply: the body's text when a header carries it (Nest), else it is the payload. */
  readonly error: { readonly text: string | undefined; readonly code: string | undefined } | undefined;
}

function busError(headers: Readonly<Record<string, string>>): ReplyHeaders['error'] {
  return headers[RpcHeaders.status] === 'error' ? { text: undefined, code: headers[RpcHeaders.errorCode] } : undefined;
}

/** Reads a reply's correlation id and error state, whichever profile the server used. */
export function readReplyHeaders(message: MessageHeaders): ReplyHeaders {
  const { headers } = message;
  const kafka = readKafkaCorrelation(message, NestKafkaHeaders.correlationId);
  if (kafka !== undefined) {
    const nestError = headers[NestKafkaHeaders.error];
    // Spring has no error convention: a listener's error handler may reply with ours.
    const error = nestError === undefined ? busError(headers) : { text: nestError, code: undefined };
    return { correlationId: kafka.id, error };
  }
  return { correlationId: headers[RpcHeaders.correlationId], error: busError(headers) };
}

/** Where a request wants its reply, and in which format. */
export interface ReplyAddress {
  /** `bus`: our headers. `kafka`: the `kafka_*` headers of Nest and Spring clients. */
  readonly style: 'bus' | 'kafka';
  readonly topics: readonly string[];
  /** Partition the reply must go to (Nest's and Spring's clients may read only one). */
  readonly partition: number | undefined;
  /** For `kafka`: the request's `kafka_correlationId`, which the reply echoes exactly. */
  readonly correlation: KafkaCorrelation | undefined;
}

/** The reply address of a request: the `kafka_*` headers when present, else ours. */
export function replyAddress(message: MessageHeaders): ReplyAddress {
  const { headers } = message;
  const kafkaTopic = headers[NestKafkaHeaders.replyTopic];
  if (kafkaTopic !== undefined && kafkaTopic !== '') {
    return {
      style: 'kafka',
      topics: [kafkaTopic],
      partition: readReplyPartition(message, NestKafkaHeaders.replyPartition),
      correlation: readKafkaCorrelation(message, NestKafkaHeaders.correlationId),
    };
  }
  const topics = (headers[RpcHeaders.replyTo] ?? '').split(',').filter((t) => t !== '');
  return { style: 'bus', topics, partition: undefined, correlation: undefined };
}

const NEST_DISPOSED = '\u0000';

/** A reply's headers and payload. */
export interface ReplyParts extends OutgoingHeaders {
  readonly payload: Uint8Array;
}

/** The `kafka_*` headers of a reply: the correlation id echoed as it came, and Nest's completion flag. */
function kafkaReplyHeaders(address: ReplyAddress, correlationId: string, status: 'ok' | 'error'): OutgoingHeaders {
  const correlation = address.correlation;
  const headers: Record<string, string> = {
    [NestKafkaHeaders.isDisposed]: NEST_DISPOSED,
    [RpcHeaders.status]: status,
  };
  if (correlation?.bytes !== undefined) {
    return { headers, binaryHeaders: { [NestKafkaHeaders.correlationId]: correlation.bytes } };
  }
  headers[NestKafkaHeaders.correlationId] = correlation?.text ?? correlationId;
  return { headers };
}

/** Headers and payload of a successful reply. */
export function okReply(address: ReplyAddress, correlationId: string, payload: Uint8Array): ReplyParts {
  if (address.style === 'kafka') return { ...kafkaReplyHeaders(address, correlationId, 'ok'), payload };
  return { headers: { [RpcHeaders.correlationId]: correlationId, [RpcHeaders.status]: 'ok' }, payload };
}

/**
 * Headers and payload of an error reply. To a `kafka_*` request, both conventions: Nest's client
 * raises the parsed `kafka_nest-err` (an object with code, message, isRetryable) and ignores the
 * payload; a Spring client's `replyErrorChecker` can read our `rpc-status` and JSON body.
 */
export function errorReply(address: ReplyAddress, correlationId: string, body: ErrorBody): ReplyParts {
  const payload = encodeErrorBody(body);
  if (address.style === 'kafka') {
    const { headers, binaryHeaders } = kafkaReplyHeaders(address, correlationId, 'error');
    headers[NestKafkaHeaders.error] = JSON.stringify(body);
    headers[RpcHeaders.errorCode] = body.code;
    return binaryHeaders === undefined ? { headers, payload } : { headers, binaryHeaders, payload };
  }
  return {
    headers: {
      [RpcHeaders.correlationId]: correlationId,
      [RpcHeaders.status]: 'error',
      [RpcHeaders.errorCode]: body.code,
    },
    payload,
  };
}
