import type { Kafka as KafkaClient, Message, Producer, Transaction } from 'kafkajs';
import { createKafkaClient, type KafkaConnectionOptions } from '../../connection.js';
import { KafkaErrorCode, KafkaTransportError } from '../../errors.js';
import { CompressionCodecs, CompressionTypes, Partitioners } from '../kafkajs.js';
import { topicSizeLimit } from '../topic-size-limit.js';
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
  TransactionDriver,
} from './types.js';

/**
 * kafkajs's Java-compatible murmur2 partitioner, pinning its choice on the record (`partition`):
 * later attempts then go to the same partition (kafkajs honours `message.partition`), keyless
 * records included, and bus knows where each record was meant to be written.
 */
export const pinningPartitioner = () => {
  const choose = Partitioners.DefaultPartitioner();
  return (args: Omit<KafkajsPartitionerArgs, 'message'> & { message: { partition?: number | undefined } }) => {
    const partition = choose(args as KafkajsPartitionerArgs);
    args.message.partition = partition;
    return partition;
  };
};

type KafkajsPartitionerArgs = Parameters<ReturnType<typeof Partitioners.DefaultPartitioner>>[0];

/**
 * bus's records as kafkajs's messages. They are: kafkajs reads absent fields as `undefined` too, and
 * ignores `topic`; only its types lack the `undefined` of fields every record has from the start.
 */
function asMessages(records: DriverRecord[]): Message[] {
  return records as Message[];
}

const CODEC_PACKAGES: Record<string, { type: number; pkg: string; name: string }> = {
  snappy: { type: CompressionTypes.Snappy, pkg: 'kafkajs-snappy', name: 'Snappy' },
  lz4: { type: CompressionTypes.LZ4, pkg: 'kafkajs-lz4', name: 'LZ4' },
  zstd: { type: CompressionTypes.ZSTD, pkg: '@kafkajs/zstd', name: 'ZSTD' },
};

/**
 * kafkajs's number for `compression`. Only gzip is built into kafkajs: the others throw a
 * `KAFKA_COMPRESSION_CODEC_MISSING` error unless their codec package was registered.
 */
export function kafkajsCompression(compression: DriverCompression): number {
  if (compression === 'none') return CompressionTypes.None;
  if (compression === 'gzip') return CompressionTypes.GZIP;
  const codec = CODEC_PACKAGES[compression];
  if (!codec) return CompressionTypes.None;
  const factory = (CompressionCodecs as Record<number, (() => unknown) | undefined>)[codec.type];
  let registered = false;
  try {
    // kafkajs' placeholder for an unregistered codec throws when called; a registered factory does not.
    registered = typeof factory === 'function' && factory() !== undefined;
  } catch {
    registered = false;
  }
  if (!registered) {
    throw new KafkaTransportError(
      `Compression "${compression}" needs a kafkajs codec: install ${codec.pkg} and register it in ` +
        `kafkajs CompressionCodecs[CompressionTypes.${codec.name}] before creating the publisher`,
      { code: KafkaErrorCode.COMPRESSION_CODEC_MISSING },
    );
  }
  return codec.type;
}

class KafkajsProducer implements ProducerDriver {
  readonly #producer: Producer;
  /** kafkajs's number per compression name, looked up once each (the codec check calls a factory). */
  readonly #codecs = new Map<DriverCompression, number>();

  constructor(kafka: KafkaClient, setup: ProducerSetup) {
    this.#producer = kafka.producer({
      // The Java-compatible murmur2 partitioner: same key, same partition as Java/Go/librdkafka clients.
      // Pinned on each record, so bus can check every partition was acknowledged (see acknowledged-send).
      createPartitioner: setup.pinPartitions ? pinningPartitioner : Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: setup.allowAutoTopicCreation,
      idempotent: setup.idempotent,
      // kafkajs would retry an idempotent producer's requests forever; bus's deadline decides instead.
      retry: { retries: setup.retries },
      ...(setup.maxInFlightRequests === undefined ? {} : { maxInFlightRequests: setup.maxInFlightRequests }),
    });
  }

  connect(): Promise<void> {
    return this.#producer.connect();
  }

  disconnect(): Promise<void> {
    return this.#producer.disconnect();
  }

  send(request: DriverSend): Promise<PartitionAck[]> {
    // kafkajs's RecordMetadata carries `partition` and `errorCode`: it is a PartitionAck as it is.
    return this.#producer.sendBatch({
      topicMessages: [{ topic: request.topic, messages: asMessages(request.records) }],
      acks: request.acks,
      timeout: request.timeoutMs,
      compression: this.#codec(request.compression),
    });
  }

  #codec(compression: DriverCompression): number {
    let codec = this.#codecs.get(compression);
    if (codec === undefined) {
      codec = kafkajsCompression(compression);
      this.#codecs.set(compression, codec);
    }
    return codec;
  }
}

class KafkajsTransaction implements TransactionDriver {
  readonly #txn: Transaction;

  constructor(txn: Transaction) {
    this.#txn = txn;
  }

  async send(request: DriverSend): Promise<void> {
    await this.#txn.sendBatch({
      topicMessages: [{ topic: request.topic, messages: asMessages(request.records) }],
      acks: request.acks,
      timeout: request.timeoutMs,
      compression: kafkajsCompression(request.compression),
    });
  }

  sendOffsets(group: string, topics: { topic: string; partitions: { partition: number; offset: string }[] }[]) {
    return this.#txn.sendOffsets({ consumerGroupId: group, topics });
  }

  commit(): Promise<void> {
    return this.#txn.commit();
  }

  abort(): Promise<void> {
    return this.#txn.abort();
  }
}

class KafkajsTransactionalProducer implements TransactionalProducerDriver {
  readonly #producer: Producer;

  constructor(kafka: KafkaClient, setup: TransactionalSetup) {
    this.#producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: setup.allowAutoTopicCreation,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId: setup.transactionalId,
      transactionTimeout: setup.transactionTimeoutMs,
    });
  }

  connect(): Promise<void> {
    return this.#producer.connect();
  }

  disconnect(): Promise<void> {
    return this.#producer.disconnect();
  }

  async begin(): Promise<TransactionDriver> {
    return new KafkajsTransaction(await this.#producer.transaction());
  }
}

/** The kafkajs driver: one kafkajs client shared by the producers it creates. */
export class KafkajsDriver implements KafkaDriver {
  readonly name = 'kafkajs' as const;
  readonly headerMaps = false;
  readonly #kafka: KafkaClient;

  /** Validates `options` (a `ConfigError` lists every problem) and creates the kafkajs client. */
  constructor(options: KafkaConnectionOptions, subject: string) {
    this.#kafka = createKafkaClient(options, subject);
  }

  producer(setup: ProducerSetup): ProducerDriver {
    return new KafkajsProducer(this.#kafka, setup);
  }

  transactionalProducer(setup: TransactionalSetup): TransactionalProducerDriver {
    return new KafkajsTransactionalProducer(this.#kafka, setup);
  }

  topicSizeLimit(topic: string): Promise<number | undefined> {
    return topicSizeLimit(this.#kafka, topic);
  }
}
