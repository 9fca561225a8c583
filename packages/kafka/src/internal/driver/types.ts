// The seam between bus's Kafka transport and the protocol client under it. Everything above this
// file (publisher, send queue, acknowledgement check, transactions) speaks these types only; each
// driver translates them to and from its client.

import type { KafkaDriverName } from '../../connection.js';

/** Compression of record batches, as the public options name it. */
export type DriverCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** Header values as bus writes them: text (UTF-8) or bytes. */
export type DriverHeaders = Record<string, string | Buffer | undefined>;

/** The same headers as a `Map`, for a driver whose client takes them so ({@link KafkaDriver.headerMaps}). */
export type DriverHeaderMap = Map<string, string | Buffer>;

/**
 * One record to produce. `partition` is pinned by the driver's partitioner on the first send (or
 * set by the caller), so a resend goes to the same partition and the acknowledgement check knows
 * where each record was meant to go.
 */
export interface DriverRecord {
  /** The topic it goes to, when known when the record is made (a driver may hand the record on as it is). */
  topic?: string | undefined;
  key?: Buffer | string | null | undefined;
  value: Buffer | string | null;
  headers?: DriverHeaders | DriverHeaderMap | undefined;
  partition?: number | undefined;
  /** Milliseconds since the epoch, as a decimal string. */
  timestamp?: string | undefined;
}

/** The broker's answer for one partition of a send: `errorCode` non-zero when it refused it. */
export interface PartitionAck {
  readonly partition: number;
  readonly errorCode?: number;
}

/** One produce request for one topic. */
export interface DriverSend {
  readonly topic: string;
  readonly records: DriverRecord[];
  /** -1 (all in-sync replicas), 1 (leader) or 0 (none). */
  readonly acks: -1 | 0 | 1;
  readonly timeoutMs: number;
  readonly compression: DriverCompression;
}

/** How a producer is set up; fixed for its lifetime. */
export interface ProducerSetup {
  /** Pin each record's partition (Java-compatible murmur2 on the key) before sending it. */
  readonly pinPartitions: boolean;
  readonly allowAutoTopicCreation: boolean;
  readonly idempotent: boolean;
  readonly maxInFlightRequests: number | undefined;
  /** The client's own retries of one request (bounded; bus's deadline decides beyond them). */
  readonly retries: number;
  /** How long a broker may take to acknowledge (drivers that fix it per client, not per send). */
  readonly ackTimeoutMs: number;
}

/**
 * A producer on one client. `send` resolves with the partitions the brokers answered for, which
 * may be fewer than those sent to (see acknowledged-send); it rejects with the client's error,
 * which `toKafkaError` classifies.
 */
export interface ProducerDriver {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(request: DriverSend): Promise<PartitionAck[]>;
}

/** The next offsets of one topic's partitions, committed inside a transaction. */
export interface DriverTopicOffsets {
  readonly topic: string;
  readonly partitions: readonly { readonly partition: number; readonly offset: string }[];
}

/** One open transaction of a transactional producer. */
export interface TransactionDriver {
  send(request: DriverSend): Promise<void>;
  sendOffsets(group: string, topics: DriverTopicOffsets[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** How a transactional producer is set up. */
export interface TransactionalSetup {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  readonly allowAutoTopicCreation: boolean;
}

/** A transactional producer: one transaction at a time. */
export interface TransactionalProducerDriver {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  begin(): Promise<TransactionDriver>;
}

/**
 * What the publishing side needs from a client: producers, transactional producers and one admin
 * lookup (a topic's `max.message.bytes`, to name the limit in a too-large error).
 */
export interface KafkaDriver {
  readonly name: KafkaDriverName;
  /** Whether records' headers are handed to this driver as a `Map` (its client's own form) rather than an object. */
  readonly headerMaps: boolean;
  producer(setup: ProducerSetup): ProducerDriver;
  transactionalProducer(setup: TransactionalSetup): TransactionalProducerDriver;
  /** The topic's `max.message.bytes`, or `undefined` when it cannot be looked up within 2 s. */
  topicSizeLimit(topic: string): Promise<number | undefined>;
}
