import { SchemaRegistry } from '@bus/codecs/registry';
import { KafkaAdmin, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { RpcClient, type RpcProfile, RpcServer, type RpcServerOptions } from '@bus/rpc';
import { testInfra, uniqueName } from '@bus/test-infra';

/** Bootstrap servers of the real broker of this test run. */
export function brokers(): string[] {
  return testInfra().kafka.brokers;
}

/** A client of the real registry of this test run. */
export function realRegistry(): SchemaRegistry {
  return new SchemaRegistry({ url: testInfra().registry.url, timeoutMs: 15_000 });
}

/** A prefix unique to this test, for topics and groups. */
export function uniquePrefix(name: string): string {
  return uniqueName(`rpc-${name}`).replaceAll('-', '_');
}

/** Creates topics (with `partitions` each) on the real broker. */
export async function createTopics(names: readonly string[], partitions: number): Promise<void> {
  await using admin = new KafkaAdmin({ brokers: brokers() });
  await admin.ensureTopics(names.map((name) => ({ name, partitions, replicationFactor: 1 })));
}

/** Deletes topics (those that exist) on the real broker. */
export async function deleteTopics(names: readonly string[]): Promise<void> {
  await using admin = new KafkaAdmin({ brokers: brokers() });
  await admin.deleteTopics(names);
}

/** An RpcClient on the real broker with its own publisher, subscriber and a reply topic it creates and deletes. */
export function kafkaClient(prefix: string, timeoutMs = 20_000, profile: RpcProfile = 'bus') {
  const publisher = new KafkaPublisher({ brokers: brokers() });
  const subscriber = new KafkaSubscriber({ brokers: brokers(), fetchMaxWaitMs: 20 });
  const client = new RpcClient({
    publisher,
    subscriber,
    replyTopicPrefix: `${prefix}.replies`,
    createReplyTopic: (topic) => createTopics([topic], 1),
    deleteReplyTopic: (topic) => deleteTopics([topic]),
    timeoutMs,
    profile,
  });
  return {
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await subscriber.close();
      await publisher.close();
    },
  };
}

/** A server of a test, with its own transports. */
export interface TestServer extends AsyncDisposable {
  readonly server: RpcServer;
  /** Aborted when the test kills this server. */
  readonly closing: AbortSignal;
  close(): Promise<void>;
}

/** An RpcServer on the real broker with its own publisher and subscriber. */
export function kafkaServer(options: Omit<RpcServerOptions, 'publisher' | 'subscriber'>): TestServer {
  const publisher = new KafkaPublisher({ brokers: brokers() });
  const subscriber = new KafkaSubscriber({
    brokers: brokers(),
    fetchMaxWaitMs: 20,
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 500,
    rebalanceTimeoutMs: 10_000,
  });
  const server = new RpcServer({ ...options, publisher, subscriber });
  const closing = new AbortController();
  return {
    server,
    closing: closing.signal,
    async close() {
      closing.abort();
      await server.close();
      await subscriber.close();
      await publisher.close();
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}
