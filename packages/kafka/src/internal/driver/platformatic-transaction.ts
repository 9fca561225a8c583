import type * as Platformatic from '@platformatic/kafka';
import { type PlatformaticOptions, RETRY_POLICY } from './platformatic-config.js';
import { connectWithRetry } from './platformatic-errors.js';
import {
  BYTES_SERIALIZERS,
  type BytesProducer,
  loadPlatformatic,
  timestampRuns,
  toPlatformaticMessages,
} from './platformatic-driver.js';
import type {
  DriverSend,
  DriverTopicOffsets,
  TransactionalProducerDriver,
  TransactionalSetup,
  TransactionDriver,
} from './types.js';

type BytesTransaction = NonNullable<BytesProducer['transaction']>;

/** FindCoordinator's key type for a consumer group. */
const GROUP_KEY_TYPE = 0;

class PlatformaticTransaction implements TransactionDriver {
  readonly #txn: BytesTransaction;
  readonly #coordinator: (group: string) => Promise<number>;

  constructor(txn: BytesTransaction, coordinator: (group: string) => Promise<number>) {
    this.#txn = txn;
    this.#coordinator = coordinator;
  }

  async send(request: DriverSend): Promise<void> {
    for (const run of timestampRuns(request.records)) {
      await this.#txn.send({
        messages: toPlatformaticMessages(request.topic, run),
        acks: request.acks,
        ...(request.compression === 'none' ? {} : { compression: request.compression }),
      });
    }
  }

  /**
   * Commits `topics`' offsets for `group` with the transaction. @platformatic/kafka commits the
   * offsets of messages its own consumer read; bus may commit any positions (as kafkajs does), so
   * each is described as a message of the group outside any generation (generation -1, no member:
   * the broker then commits without checking membership, like Java's `sendOffsetsToTransaction(offsets, groupId)`).
   */
  async sendOffsets(group: string, topics: DriverTopicOffsets[]): Promise<void> {
    // addConsumer only reads the consumer's group id.
    await this.#txn.addConsumer({ groupId: group } as unknown as Platformatic.Consumer);
    const coordinatorId = await this.#coordinator(group);
    for (const { topic, partitions } of topics) {
      for (const { partition, offset } of partitions) {
        // It commits the message's offset + 1: the position given is already the next one to read.
        const message = {
          topic,
          partition,
          offset: BigInt(offset) - 1n,
          metadata: { consumer: { groupId: group, generationId: -1, memberId: '', coordinatorId } },
        };
        await this.#txn.addOffset(message as unknown as Platformatic.Message);
      }
    }
  }

  commit(): Promise<void> {
    return this.#txn.commit();
  }

  abort(): Promise<void> {
    return this.#txn.abort();
  }
}

/** A transactional @platformatic/kafka producer (idempotent, one transaction at a time). */
export class PlatformaticTransactionalProducer implements TransactionalProducerDriver {
  readonly #options: PlatformaticOptions;
  readonly #setup: TransactionalSetup;
  #client: BytesProducer | undefined;
  #admin: Platformatic.Admin | undefined;

  constructor(options: PlatformaticOptions, setup: TransactionalSetup) {
    this.#options = options;
    this.#setup = setup;
  }

  async connect(): Promise<void> {
    const platformatic = await loadPlatformatic();
    const client: BytesProducer = new platformatic.Producer({
      ...this.#options,
      // The client passes `timeout` to InitProducerId as the transaction timeout.
      timeout: this.#setup.transactionTimeoutMs,
      idempotent: true,
      transactionalId: this.#setup.transactionalId,
      // "No producer yet" to InitProducerId (the client's default, 0/0, names a producer that does not
      // exist, and the broker fences a restarted instance taking over its transactional id).
      producerId: -1n,
      producerEpoch: -1,
      autocreateTopics: this.#setup.allowAutoTopicCreation,
      serializers: BYTES_SERIALIZERS,
    });
    this.#client = client;
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
    const admin = this.#admin;
    this.#client = undefined;
    this.#admin = undefined;
    await Promise.all([client?.close(), admin?.close()]);
  }

  async begin(): Promise<TransactionDriver> {
    const client = this.#client;
    if (client === undefined) throw new Error('transactional producer is not connected');
    const txn = await client.beginTransaction();
    return new PlatformaticTransaction(txn, (group) => this.#coordinator(group));
  }

  async #coordinator(group: string): Promise<number> {
    if (this.#admin === undefined) {
      const platformatic = await loadPlatformatic();
      this.#admin = new platformatic.Admin({ ...this.#options });
    }
    const [found] = await this.#admin.findCoordinator({ keyType: GROUP_KEY_TYPE, keys: [group] });
    if (found === undefined) throw new Error(`no coordinator found for group "${group}"`);
    return found.nodeId;
  }
}
