import { MemoryBroker, type Publisher, type Subscriber } from '@bus/core';
import { KafkaAdmin, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';

/** Where the app's messages travel: the embedded in-memory broker (default) or Kafka. */
export type TransportSettings = { kind: 'memory' } | { kind: 'kafka'; brokers: string[] };

/** Brokers of the local infrastructure that `pnpm infra:up` starts. */
export const LOCAL_KAFKA_BROKERS = 'localhost:19092';

/**
 * Picks the transport: Kafka when `KAFKA_BROKERS` is set or `--kafka` was given (then
 * `KAFKA_BROKERS`, else the local infrastructure's broker), the in-memory broker otherwise.
 */
export function transportSettings(options: { kafka?: boolean; env?: NodeJS.ProcessEnv } = {}): TransportSettings {
  const env = options.env ?? process.env;
  const brokers = env.KAFKA_BROKERS?.trim();
  if (!options.kafka && !brokers) return { kind: 'memory' };
  return { kind: 'kafka', brokers: (brokers || LOCAL_KAFKA_BROKERS).split(',').map((b) => b.trim()) };
}

/** Publishers and subscribers of one transport; `close()` closes every client it handed out. */
export interface Transport extends AsyncDisposable {
  /** One line saying where messages go, for the app's output. */
  readonly description: string;
  publisher(): Publisher;
  subscriber(): Subscriber;
  /** Creates the topics when missing (Kafka); the in-memory broker creates topics on first use. */
  ensureTopics(names: readonly string[], partitions?: number): Promise<void>;
  /**
   * Deletes the topics (Kafka) when the transport closes, after every client it handed out: for runs
   * whose topics are throw-away (tests, the demo). Deleted earlier, a topic an open consumer still knows
   * would be created again by the broker's auto-creation.
   */
  deleteOnClose(names: readonly string[]): void;
  close(): Promise<void>;
}

/** Opens the transport the settings name. */
export function openTransport(settings: TransportSettings): Transport {
  return settings.kind === 'memory' ? memoryTransport() : kafkaTransport(settings.brokers);
}

function memoryTransport(): Transport {
  const broker = new MemoryBroker();
  return {
    description: 'embedded in-memory broker',
    publisher: () => broker.publisher(),
    subscriber: () => broker.subscriber(),
    ensureTopics: async () => {},
    deleteOnClose: () => {},
    close: () => broker.close(),
    [Symbol.asyncDispose]: () => broker.close(),
  };
}

function kafkaTransport(brokers: string[]): Transport {
  const clients: { close(): Promise<void> }[] = [];
  const admin = new KafkaAdmin({ brokers });
  const track = <T extends { close(): Promise<void> }>(client: T): T => {
    clients.push(client);
    return client;
  };
  const doomed = new Set<string>();
  const close = async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    if (doomed.size > 0) await admin.deleteTopics([...doomed]);
    doomed.clear();
    await admin.close();
  };
  return {
    description: `Kafka at ${brokers.join(',')}`,
    // A request/reply caller waits on every message: batching would only add latency.
    publisher: () => track(new KafkaPublisher({ brokers, lingerMs: 0 })),
    subscriber: () => track(new KafkaSubscriber({ brokers })),
    ensureTopics: async (names, partitions = 3) => {
      await admin.ensureTopics(names.map((name) => ({ name, partitions })));
    },
    deleteOnClose: (names) => {
      for (const name of names) doomed.add(name);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
