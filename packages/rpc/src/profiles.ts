import { type ErrorBody, encodeErrorBody } from './error-reply.js';
import { RpcHeaders } from './headers.js';

/**
 * Wire format of requests and replies. `bus` is ours; `nest` is the one of NestJS's Kafka transport
 * (`@nestjs/microservices` 11: `ClientKafka.send` and `@MessagePattern`), so bus clients call Nest
 * services and Nest clients call bus servers unchanged.
 */
export type RpcProfile = 'bus' | 'nest';

/** Header names of NestJS's Kafka transport (its `KafkaHeaders`, shared with Spring Kafka's names). */
export const NestKafkaHeaders = Object.freeze({
  correlationId: 'kafka_correlationId',
  replyTopic: 'kafka_replyTopic',
  replyPartition: 'kafka_replyPartition',
  error: 'kafka_nest-err',
  isDisposed: 'kafka_nest-is-disposed',
} as const);

/** Nest's reply topic of a pattern: `<pattern>.reply`. */
export function nestReplyTopic(pattern: string): string {
  return `${pattern}.reply`;
}

/** Headers a client puts on a request. */
export function requestHeaders(
  profile: RpcProfile,
  correlationId: string,
  replyTo: readonly string[],
  deadline: number,
): Record<string, string> {
  if (profile === 'nest') {
    // Nest replies to one topic; extra reply-to topics are a bus feature.
    return {
      [NestKafkaHeaders.correlationId]: correlationId,
      [NestKafkaHeaders.replyTopic]: replyTo[0] as string,
      [NestKafkaHeaders.replyPartition]: '0',
      [RpcHeaders.deadline]: String(deadline),
    };
  }
  return {
    [RpcHeaders.correlationId]: correlationId,
    [RpcHeaders.replyTo]: replyTo.join(','),
    [RpcHeaders.deadline]: String(deadline),
  };
}

/** What a reply says, read from its headers without decoding its payload. */
export interface ReplyHeaders {
  readonly correlationId: string | undefined;
  /** Set on an error reply: the body's text when a header carries it (Nest), else it is the payload. */
  readonly error: { readonly text: string | undefined; readonly code: string | undefined } | undefined;
}

/** Reads a reply's correlation id and error state, whichever profile the server used. */
export function readReplyHeaders(headers: Readonly<Record<string, string>>): ReplyHeaders {
  const nestId = headers[NestKafkaHeaders.correlationId];
  if (nestId !== undefined) {
    const nestError = headers[NestKafkaHeaders.error];
    return { correlationId: nestId, error: nestError === undefined ? undefined : { text: nestError, code: undefined } };
  }
  const error =
    headers[RpcHeaders.status] === 'error' ? { text: undefined, code: headers[RpcHeaders.errorCode] } : undefined;
  return { correlationId: headers[RpcHeaders.correlationId], error };
}

/** Where a request wants its reply, and in which format. */
export interface ReplyAddress {
  readonly profile: RpcProfile;
  readonly topics: readonly string[];
  /** Partition the reply must go to (Nest's client reads only the partitions assigned to it). */
  readonly partition: number | undefined;
}

/** The reply address of a request: Nest's headers when present, else ours. */
export function replyAddress(headers: Readonly<Record<string, string>>): ReplyAddress {
  const nestTopic = headers[NestKafkaHeaders.replyTopic];
  if (nestTopic !== undefined && nestTopic !== '') {
    const partition = Number(headers[NestKafkaHeaders.replyPartition]);
    return { profile: 'nest', topics: [nestTopic], partition: Number.isInteger(partition) ? partition : undefined };
  }
  const topics = (headers[RpcHeaders.replyTo] ?? '').split(',').filter((t) => t !== '');
  return { profile: 'bus', topics, partition: undefined };
}

const NEST_DISPOSED = '\u0000';

/** Headers and payload of a successful reply. */
export function okReply(profile: RpcProfile, correlationId: string, payload: Uint8Array) {
  const headers: Record<string, string> =
    profile === 'nest'
      ? { [NestKafkaHeaders.correlationId]: correlationId, [NestKafkaHeaders.isDisposed]: NEST_DISPOSED }
      : { [RpcHeaders.correlationId]: correlationId, [RpcHeaders.status]: 'ok' };
  return { headers, payload };
}

/** Headers and payload of an error reply. */
export function errorReply(profile: RpcProfile, correlationId: string, body: ErrorBody) {
  if (profile === 'nest') {
    // Nest's client raises the parsed header as the error: an object with code, message, isRetryable.
    return {
      headers: {
        [NestKafkaHeaders.correlationId]: correlationId,
        [NestKafkaHeaders.error]: JSON.stringify(body),
        [NestKafkaHeaders.isDisposed]: NEST_DISPOSED,
      },
      payload: new Uint8Array(0),
    };
  }
  return {
    headers: {
      [RpcHeaders.correlationId]: correlationId,
      [RpcHeaders.status]: 'error',
      [RpcHeaders.errorCode]: body.code,
    },
    payload: encodeErrorBody(body),
  };
}
