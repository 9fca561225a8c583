/**
 * The testcontainers source of the global setup: one Apache Kafka node (KRaft) and Apicurio Registry
 * (in-memory, Confluent-compatible API) in containers. Loaded only when a Docker engine answers, so
 * `testcontainers` is never imported otherwise.
 *
 * Kafka's advertised listener must be the address clients use from the host, so the host port is chosen
 * up front (a free port) and bound explicitly.
 */
import { createServer } from 'node:net';
import type { TestInfra } from './index.ts';

const KAFKA_IMAGE = process.env.BUS_KAFKA_IMAGE ?? `apache/kafka:${process.env.BUS_KAFKA_VERSION ?? '4.3.1'}`;
const REGISTRY_IMAGE =
  process.env.BUS_REGISTRY_IMAGE ?? `apicurio/apicurio-registry:${process.env.BUS_APICURIO_VERSION ?? '3.0.9'}`;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startContainers(): Promise<{ infra: TestInfra; stop: () => Promise<void> }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const kafkaPort = await freePort();
  const kafkaStarting = new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts({ container: 9092, host: kafkaPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_DEFAULT_REPLICATION_FACTOR: '1',
      KAFKA_MIN_INSYNC_REPLICAS: '1',
      KAFKA_NUM_PARTITIONS: '3',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
  const registryStarting = new GenericContainer(REGISTRY_IMAGE)
    .withExposedPorts(8080)
    .withEnvironment({
      APICURIO_REST_DELETION_GROUP_ENABLED: 'true',
      APICURIO_REST_DELETION_ARTIFACT_ENABLED: 'true',
      APICURIO_REST_DELETION_ARTIFACT_VERSION_ENABLED: 'true',
    })
    .withWaitStrategy(Wait.forHttp('/health/ready', 8080).forStatusCode(200))
    .withStartupTimeout(120_000)
    .start();
  const [kafka, registry] = await Promise.allSettled([kafkaStarting, registryStarting]);
  if (kafka.status === 'rejected' || registry.status === 'rejected') {
    await Promise.allSettled(
      [kafka, registry].map((r) => (r.status === 'fulfilled' ? r.value.stop() : Promise.resolve())),
    );
    throw kafka.status === 'rejected' ? kafka.reason : (registry as PromiseRejectedResult).reason;
  }
  const registryBase = `http://${registry.value.getHost()}:${registry.value.getMappedPort(8080)}`;
  const url = `${registryBase}/apis/ccompat/v7`;
  // Confluent's registry defaults to BACKWARD; Apicurio has no global rule unless one is set.
  const res = await fetch(`${url}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: 'BACKWARD' }),
  });
  if (!res.ok) throw new Error(`could not set the registry's global compatibility: HTTP ${res.status}`);
  let registryVersion = REGISTRY_IMAGE.split(':').pop() ?? '';
  const info = await fetch(`${registryBase}/apis/registry/v3/system/info`).catch(() => undefined);
  if (info?.ok) registryVersion = ((await info.json()) as { version?: string }).version ?? registryVersion;
  const infra: TestInfra = {
    source: 'testcontainers',
    kafka: { brokers: [`127.0.0.1:${kafkaPort}`], version: KAFKA_IMAGE.split(':').pop() ?? 'unknown' },
    registry: { url, version: `apicurio ${registryVersion}` },
  };
  return {
    infra,
    stop: async () => {
      await Promise.allSettled([kafka.value.stop(), registry.value.stop()]);
    },
  };
}
