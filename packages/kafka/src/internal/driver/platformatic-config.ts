import type * as Platformatic from '@platformatic/kafka';
import { brokerList, type KafkaConnectionOptions, type KafkaSaslOptions } from '../../connection.js';
import { subscriptionRoundRobin } from './platformatic-assignor.js';

const SASL_MECHANISMS = {
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
  oauthbearer: 'OAUTHBEARER',
} as const;

function toSasl(sasl: KafkaSaslOptions): Platformatic.SASLOptions {
  if (sasl.mechanism === 'oauthbearer') {
    const provider = sasl.oauthBearerProvider;
    // Asked on every (re)authentication, as on kafkajs.
    return { mechanism: 'OAUTHBEARER', token: async () => (await provider()).value };
  }
  return { mechanism: SASL_MECHANISMS[sasl.mechanism], username: sasl.username, password: sasl.password };
}

/**
 * kafkajs's backoff (exponential from `initialRetryTimeMs`, capped at `maxRetryTimeMs`, ±20 %
 * jitter), so `retry` means the same on both drivers.
 */
export function backoff(initialMs: number, maxMs: number): (attempt: number) => number {
  return (attempt) => {
    const exponential = initialMs * 2 ** Math.max(0, attempt - 1);
    const jitter = 1 + (Math.random() * 0.4 - 0.2);
    return Math.min(maxMs, Math.round(exponential * jitter));
  };
}

/** Whether a failed attempt was refused because a partition's leader moved or is being elected. */
export function leaderMoved(error: unknown): boolean {
  const findBy = (error as { findBy?: unknown } | null)?.findBy;
  if (typeof findBy !== 'function') return false;
  // UNKNOWN_TOPIC_OR_PARTITION is marked as stale metadata too, but stays out, as in the client's own fetch.
  return LEADER_MOVED.some((apiId) => Boolean(findBy.call(error, 'apiId', apiId)));
}

// Narrower than the error mapping's list in platformatic-errors.ts (which also counts UNKNOWN_LEADER_EPOCH
// as a connection failure): retrying that one here too kept publishes pending through a two-node outage
// instead of failing them within their deadline (the cluster's two-nodes-down scenario).
const LEADER_MOVED = ['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'FENCED_LEADER_EPOCH'];

/**
 * The client's retry pause, which also drops its metadata after an attempt refused because a
 * partition's leader moved. @platformatic/kafka 2.12 looks metadata up again between attempts
 * only after a connection failure (its fetch aside): after such a refusal the next attempt went to
 * the old leader again. kafkajs refreshes its metadata on such a refusal; now so does this client.
 */
function retryDelay(delay: (attempt: number) => number): Platformatic.RetryDelayGetter {
  return (client, operation, attempt, _retries, error) => {
    if (!leaderMoved(error)) return delay(attempt);
    (client as { clearMetadata?: () => void }).clearMetadata?.();
    // A produce retries to the leader of its first partition, whatever the others' leaders are now:
    // the publisher retries such a send itself, regrouped (see sendRetrying), so these go at once.
    return operation === 'produce' ? 0 : delay(attempt);
  };
}

/** The connection's retry policy, kept with the client options it was derived from. */
export const RETRY_POLICY = Symbol('bus.kafka.platformatic.retryPolicy');

/** Client options plus bus's retry policy (for the connect loop, which skips the client's retries). */
export type PlatformaticOptions = Platformatic.BaseOptions & {
  readonly [RETRY_POLICY]: { readonly retries: number; readonly delay: (attempt: number) => number };
};

/** The client options of @platformatic/kafka that `options` stand for (validated beforehand). */
export function toPlatformaticOptions(options: KafkaConnectionOptions): PlatformaticOptions {
  const delay = backoff(options.retry?.initialRetryTimeMs ?? 300, options.retry?.maxRetryTimeMs ?? 30_000);
  const retries = options.retry?.retries ?? 5;
  const config: Platformatic.BaseOptions = {
    clientId: options.clientId ?? 'bus',
    bootstrapBrokers: brokerList(options.brokers),
    connectTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    timeout: options.requestTimeoutMs ?? 30_000,
    retries,
    retryDelay: retryDelay(delay),
  };
  if (options.ssl !== undefined && options.ssl !== false) {
    if (options.ssl === true) {
      config.tls = {};
    } else {
      const { ca, cert, key, rejectUnauthorized, servername } = options.ssl;
      config.tls = {
        ...(ca === undefined ? {} : { ca }),
        ...(cert === undefined ? {} : { cert }),
        ...(key === undefined ? {} : { key }),
        ...(servername === undefined ? {} : { servername }),
        rejectUnauthorized: rejectUnauthorized ?? true,
      };
      if (servername !== undefined) config.tlsServerName = servername;
    }
  }
  if (options.sasl !== undefined) config.sasl = toSasl(options.sasl);
  return { ...config, [RETRY_POLICY]: { retries, delay } };
}

/** A subscription's consumer settings, resolved from its options (see `toConsumerOptions`). */
export interface PlatformaticConsumerConfig {
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly rebalanceTimeoutMs: number;
  readonly fetchMaxWaitMs: number;
  readonly fetchMaxBytesPerPartition: number;
  readonly readUncommitted: boolean;
  readonly groupProtocol: 'classic' | 'consumer';
  readonly allowAutoTopicCreation: boolean;
}

/**
 * The options of one group member's consumer. Under KIP-848 (`groupProtocol: 'consumer'`) the
 * broker owns timeouts and assignment, so the classic group settings are left out; offsets are
 * committed by the session only (no autocommit).
 */
export function toConsumerOptions(
  client: PlatformaticOptions,
  groupId: string,
  c: PlatformaticConsumerConfig,
): Platformatic.ConsumerOptions<Buffer, Buffer, Buffer, Buffer> {
  return {
    ...client,
    groupId,
    ...(c.groupProtocol === 'consumer'
      ? { groupProtocol: 'consumer' as const }
      : {
          sessionTimeout: c.sessionTimeoutMs,
          heartbeatInterval: c.heartbeatIntervalMs,
          rebalanceTimeout: c.rebalanceTimeoutMs,
          partitionAssigner: subscriptionRoundRobin,
        }),
    maxWaitTime: c.fetchMaxWaitMs,
    maxBytesPerPartition: c.fetchMaxBytesPerPartition,
    isolationLevel: c.readUncommitted ? 0 : 1,
    autocommit: false,
    autocreateTopics: c.allowAutoTopicCreation,
  } as Platformatic.ConsumerOptions<Buffer, Buffer, Buffer, Buffer>;
}
