import { SchemaRegistry } from '@bus/codecs/registry';
import { type DeadLetterQueue, MemoryBroker, type Publisher, type Subscriber } from '@bus/core';
import { KafkaAdmin, KafkaDeadLetterQueue, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';

/** Where the app's messages travel: the embedded in-memory broker (default) or Kafka with a schema registry. */
export type TransportSettings = { kind: 'memory' } | { kind: 'kafka'; brokers: string[]; registryUrl: string };

/** The local infrastructure that `pnpm infra:up` starts. */
export const LOCAL_KAFKA_BROKERS = 'localhost:19092';
export const LOCAL_REGISTRY_URL = 'http://localhost:18081/apis/ccompat/v7';

/**
 * Picks the transport: Kafka and the registry when `KAFKA_BROKERS` or `SCHEMA_REGISTRY_URL` is set or
 * `--kafka` was given (each defaulting to the local infrastructure's), the in-memory broker otherwise.
 */
export function transportSettings(options: { kafka?: boolean; env?: NodeJS.ProcessEnv } = {}): TransportSettings {
  const env = options.env ?? process.env;
  const brokers = env.KAFKA_BROKERS?.trim();
  const registryUrl = env.SCHEMA_REGISTRY_URL?.trim();
  if (!options.kafka && !brokers && !registryUrl) return { kind: 'memory' };
  return {
    kind: 'kafka',
    brokers: (brokers || LOCAL_KAFKA_BROKERS).split(',').map((b) => b.trim()),
    registryUrl: registryUrl || LOCAL_REGISTRY_URL,
  };
}

/** Publishers, subscribers and dead-letter queues of one transport; `close()` closes every client it handed out. */
export interface Transport extends AsyncDisposable {
  /** Where messages go, for the app's output. */
  readonly description: string;
  /** The schema registry (Kafka), or `undefined`: on the in-memory broker the Avro codecs carry no schema id. */
  readonly registry: SchemaRegistry | undefined;
  /**
   * A publisher. `lingerMs` (Kafka) is how long it batches messages; give a request/reply caller 0,
   * since it waits on every message. Default: the transport's (5 ms on Kafka).
   */
  publisher(options?: { lingerMs?: number }): Publisher;
  subscriber(): Subscriber;
  /** The dead-letter topic as operators use it (count, list, replay, purge). */
  deadLetterQueue(topic: string, publisher: Publisher): DeadLetterQueue;
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
  return settings.kind === 'memory' ? memoryTransport() : kafkaTransport(settings.brokers, settings.registryUrl);
}

function memoryTransport(): Transport {
  const broker = new MemoryBroker();
  return {
    description: 'embedded in-memory broker',
    registry: undefined,
    publisher: () => broker.publisher(),
    subscriber: () => broker.subscriber(),
    deadLetterQueue: (topic) => broker.deadLetterQueue(topic),
    ensureTopics: async () => {},
    deleteOnClose: () => {},
    close: () => broker.close(),
    [Symbol.asyncDispose]: () => broker.close(),
  };
}

function kafkaTransport(brokers: string[], registryUrl: string): Transport {
  const clients: { close(): Promise<void> }[] = [];
  const admin = new KafkaAdmin({ brokers });
  const registry = new SchemaRegistry({ url: registryUrl });
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
    registry.close();
  };
  return {
    description: `Kafka at ${brokers.join(',')} with the registry at ${withoutCredentials(registryUrl)}`,
    registry,
    publisher: (options = {}) =>
      track(new KafkaPublisher({ brokers, ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }) })),
    subscriber: () => track(new KafkaSubscriber({ brokers })),
    deadLetterQueue: (topic, publisher) => track(new KafkaDeadLetterQueue({ brokers, topic, publisher })),
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

/** The URL without user and password, for output: secrets are never printed. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}
