import { ConfigIssues } from '@bus/core';
import type * as Platformatic from '@platformatic/kafka';
import { checkDriverSupported, type KafkaConnectionOptions, validateConnectionOptions } from '../../connection.js';
import { withDeadline } from '../deadline.js';
import { type PlatformaticOptions, RETRY_POLICY, toPlatformaticOptions } from './platformatic-config.js';
import { connectWithRetry } from './platformatic-errors.js';
import { sendRetrying } from './platformatic-send-retry.js';
import { PlatformaticTransactionalProducer } from './platformatic-transaction.js';
import type {
  DriverCompression,
  DriverRecord,
  DriverSend,
  KafkaDriver,
  PartitionAck,
  ProducerDriver,
  ProducerSetup,
  TransactionalProducerDriver,
  TransactionalSetup,
} from './types.js';

type PlatformaticModule = typeof Platformatic;
/** What bus hands @platformatic/kafka's producer: bytes everywhere, strings turned into UTF-8. */
export type BytesProducer = Platformatic.Producer<unknown, unknown, unknown, unknown>;

let loading: Promise<PlatformaticModule> | undefined;

/** @platformatic/kafka, imported on first use (an optional peer dependency: kafkajs users never load it). */
export function loadPlatformatic(): Promise<PlatformaticModule> {
  loading ??= import('@platformatic/kafka');
  return loading;
}

/** Whether @platformatic/kafka can be imported from here, checked without importing it. */
function isInstalled(): boolean {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
  if (typeof resolve !== 'function') return true;
  try {
    resolve('@platformatic/kafka');
    return true;
  } catch {
    return false;
  }
}

function toBytes(data: unknown): Buffer | undefined {
  if (data === undefined || data === null) return undefined;
  return typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
}

/** Header names' UTF-8 bytes: a few names recur on every record, so each is encoded once. */
const headerNames = new Map<string, Buffer>();
const MAX_CACHED_HEADER_NAMES = 1_024;

function headerNameBytes(name: unknown): Buffer | undefined {
  if (typeof name !== 'string') return toBytes(name);
  let bytes = headerNames.get(name);
  if (bytes === undefined) {
    bytes = Buffer.from(name);
    // The client only reads these bytes (copies them into the request), so one buffer serves every record.
    if (headerNames.size < MAX_CACHED_HEADER_NAMES) headerNames.set(name, bytes);
  }
  return bytes;
}

/** Serializers for bus's records: keys, values and header values are bytes or UTF-8 text. */
export const BYTES_SERIALIZERS = { key: toBytes, value: toBytes, headerKey: headerNameBytes, headerValue: toBytes };

const COMPRESSIONS: Record<DriverCompression, Platformatic.CompressionAlgorithmValue | undefined> = {
  none: undefined,
  gzip: 'gzip',
  snappy: 'snappy',
  lz4: 'lz4',
  zstd: 'zstd',
};

/** Partition counts are looked up again this often, so partitions added to a topic are used. */
const PARTITION_COUNT_MAX_AGE_MS = 5_000;

type PlatformaticMessage = Platformatic.MessageToProduce<unknown, unknown, unknown, unknown>;

/**
 * The records of `request` as @platformatic/kafka takes them (timestamps as bigint). Records made
 * for `topic` without a timestamp already have that shape and go as they are.
 */
export function toPlatformaticMessages(topic: string, records: readonly DriverRecord[]): PlatformaticMessage[] {
  let asTheyAre = true;
  for (let i = 0; i < records.length && asTheyAre; i++) {
    const record = records[i]!;
    asTheyAre = record.topic === topic && record.timestamp === undefined;
  }
  if (asTheyAre) return records as unknown as PlatformaticMessage[];
  const messages = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    messages[i] = {
      topic,
      key: record.key ?? undefined,
      value: record.value ?? undefined,
      headers: record.headers,
      partition: record.partition,
      timestamp: record.timestamp === undefined ? undefined : BigInt(record.timestamp),
    };
  }
  return messages;
}

/**
 * @platformatic/kafka 2.12 writes a record's timestamp as a delta from its batch's first one, and
 * its varint64 encoder corrupts deltas of 2^31 ms (24.8 days) or more: the broker stores a
 * timestamp some milliseconds off. Records whose timestamps lie further apart are sent in runs,
 * one after another, in order, each within the safe range; every record without a timestamp gets
 * the same "now". The common case (no timestamps, or recent ones) is a single run.
 */
const MAX_TIMESTAMP_SPREAD_MS = 2 ** 31 - 1;

export function timestampRuns(records: DriverRecord[]): DriverRecord[][] {
  // The common case: no record has a timestamp, so the client gives them all the same one.
  let timestamped = false;
  for (let i = 0; i < records.length && !timestamped; i++) timestamped = records[i]!.timestamp !== undefined;
  if (!timestamped) return [records];
  let now: string | undefined;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let runs: DriverRecord[][] | undefined;
  let start = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.timestamp === undefined) {
      now ??= String(Date.now());
      record.timestamp = now;
    }
    const timestamp = Number(record.timestamp);
    const nextMin = Math.min(min, timestamp);
    const nextMax = Math.max(max, timestamp);
    if (nextMax - nextMin > MAX_TIMESTAMP_SPREAD_MS) {
      runs ??= [];
      runs.push(records.slice(start, i));
      start = i;
      min = timestamp;
      max = timestamp;
    } else {
      min = nextMin;
      max = nextMax;
    }
  }
  if (runs === undefined) return [records];
  runs.push(records.slice(start));
  return runs;
}

class PlatformaticProducer implements ProducerDriver {
  readonly #options: PlatformaticOptions;
  readonly #setup: ProducerSetup;
  #client: BytesProducer | undefined;
  #murmur2: PlatformaticModule['murmur2'] | undefined;
  readonly #partitionCounts = new Map<string, { count: number; at: number }>();
  readonly #roundRobin = new Map<string, number>();

  constructor(options: PlatformaticOptions, setup: ProducerSetup) {
    this.#options = options;
    this.#setup = setup;
  }

  async connect(): Promise<void> {
    const platformatic = await loadPlatformatic();
    this.#murmur2 = platformatic.murmur2;
    const client: BytesProducer = new platformatic.Producer({
      ...this.#options,
      timeout: this.#setup.ackTimeoutMs,
      retries: this.#setup.retries,
      idempotent: this.#setup.idempotent,
      autocreateTopics: this.#setup.allowAutoTopicCreation,
      ...(this.#setup.maxInFlightRequests === undefined ? {} : { maxInflights: this.#setup.maxInFlightRequests }),
      serializers: BYTES_SERIALIZERS,
    });
    this.#client = client;
    // Reaches a broker (TLS, SASL) now, so a wrong password fails the connect, not the first send.
    const { retries, delay } = this.#options[RETRY_POLICY];
    await connectWithRetry(
      () => client.metadata({ topics: [], retries: 0 }),
      retries,
      delay,
      () => this.#client !== client,
    );
  }

  async disconnect(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }

  async send(request: DriverSend): Promise<PartitionAck[]> {
    const client = this.#client;
    if (client === undefined) throw new Error('producer is not connected');
    const { topic, records } = request;
    // Java's partitioner (murmur2 of the key, positive, modulo the partition count), as on kafkajs;
    // chosen here so it is pinned on the record and a resend goes to the same partition.
    const count = await this.#partitionCount(client, topic);
    for (const record of records)
      if (record.partition === undefined) record.partition = this.#partition(topic, record, count);
    const compression = COMPRESSIONS[request.compression];
    const acks: PartitionAck[] = [];
    for (const run of timestampRuns(records)) {
      const acked = await sendRetrying(run, {
        topic,
        clearMetadata: () => client.clearMetadata(),
        retries: this.#setup.retries,
        delay: this.#options[RETRY_POLICY].delay,
        open: () => this.#client === client,
        attempt: async (pending) => {
          const result = await client.send({
            messages: toPlatformaticMessages(topic, pending),
            acks: request.acks,
            ...(compression === undefined ? {} : { compression }),
          });
          const partitions: number[] = [];
          for (const offset of result.offsets ?? []) if (offset.topic === topic) partitions.push(offset.partition);
          return partitions;
        },
      });
      for (const partition of acked) acks.push({ partition });
    }
    return acks;
  }

  #partition(topic: string, record: DriverRecord, count: number): number {
    const key = record.key;
    if (key === undefined || key === null) {
      const next = this.#roundRobin.get(topic) ?? 0;
      this.#roundRobin.set(topic, next + 1);
      return next % count;
    }
    let bytes: Buffer;
    if (typeof key === 'string') {
      // Encoded once: the record keeps the bytes, so the client does not encode the key again.
      bytes = Buffer.from(key);
      record.key = bytes;
    } else {
      bytes = key;
    }
    return (this.#murmur2!(bytes) & 0x7fffffff) % count;
  }

  async #partitionCount(client: BytesProducer, topic: string): Promise<number> {
    const cached = this.#partitionCounts.get(topic);
    const now = performance.now();
    if (cached !== undefined && now - cached.at < PARTITION_COUNT_MAX_AGE_MS) return cached.count;
    const metadata = await client.metadata({ topics: [topic], autocreateTopics: this.#setup.allowAutoTopicCreation });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    if (count < 1) {
      throw Object.assign(new Error(`no partitions for topic "${topic}"`), { type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    }
    this.#partitionCounts.set(topic, { count, at: now });
    return count;
  }
}

/**
 * The client options `options` stand for, once validated: a `ConfigError` named after `subject`
 * lists every problem, a missing @platformatic/kafka among them.
 */
export function validatedPlatformaticOptions(options: KafkaConnectionOptions, subject: string): PlatformaticOptions {
  const issues = new ConfigIssues(subject);
  validateConnectionOptions(options, issues);
  checkDriverSupported(options, issues, subject, ['kafkajs', 'platformatic']);
  if (!isInstalled()) issues.add('driver', '"platformatic" needs the @platformatic/kafka package installed');
  issues.throwIfAny();
  return toPlatformaticOptions(options);
}

/** How long the publisher waits to look up a topic's size limit for a clearer error message. */
const LIMIT_LOOKUP_TIMEOUT_MS = 2_000;

/** The @platformatic/kafka driver: one set of client options shared by the clients it creates. */
export class PlatformaticDriver implements KafkaDriver {
  readonly name = 'platformatic' as const;
  readonly headerMaps = true;
  readonly #options: PlatformaticOptions;

  /** Validates `options` (a `ConfigError` lists every problem, and a missing @platformatic/kafka). */
  constructor(options: KafkaConnectionOptions, subject: string) {
    this.#options = validatedPlatformaticOptions(options, subject);
  }

  producer(setup: ProducerSetup): ProducerDriver {
    return new PlatformaticProducer(this.#options, setup);
  }

  transactionalProducer(setup: TransactionalSetup): TransactionalProducerDriver {
    return new PlatformaticTransactionalProducer(this.#options, setup);
  }

  async topicSizeLimit(topic: string): Promise<number | undefined> {
    const platformatic = await loadPlatformatic();
    const admin = new platformatic.Admin({ ...this.#options, retries: 0 });
    try {
      const described = await withDeadline(
        admin.describeConfigs({
          resources: [{ resourceType: 2, resourceName: topic, configurationKeys: ['max.message.bytes'] }],
        }),
        LIMIT_LOOKUP_TIMEOUT_MS,
        () => new Error('size limit lookup timed out'),
      );
      const value = described[0]?.configs.find((config) => config.name === 'max.message.bytes')?.value;
      const limit = value === undefined || value === null ? Number.NaN : Number(value);
      return Number.isFinite(limit) ? limit : undefined;
    } finally {
      void admin.close().catch(() => {});
    }
  }
}
