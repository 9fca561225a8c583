import type { Admin, Kafka as KafkaClient } from 'kafkajs';
import { createKafkaClient, type KafkaConnectionOptions } from '../../connection.js';
import { commitGroupOffsets } from '../group-offsets.js';
import { AssignerProtocol } from '../kafkajs.js';
import { createPeekCluster, fetchPartition, type PeekCluster, retryStaleLeader } from '../partition-peek.js';
import type {
  AdminDriver,
  DriverCommittedTopic,
  DriverGroup,
  DriverGroupListing,
  DriverNewTopic,
  DriverPartitionFetch,
  DriverPartitionOffset,
  DriverTopicMetadata,
  DriverWatermarks,
} from './admin-driver.js';

const TOPIC_RESOURCE = 2;

/** Admin operations on kafkajs: its admin client, plus a group-less cluster connection for fetches. */
export class KafkajsAdmin implements AdminDriver {
  readonly #kafka: KafkaClient;
  readonly #admin: Admin;
  #peekCluster: Promise<PeekCluster> | undefined;

  /** Validates `options` (a `ConfigError` lists every problem) and creates the kafkajs client. */
  constructor(options: KafkaConnectionOptions, subject: string) {
    this.#kafka = createKafkaClient(options, subject);
    this.#admin = this.#kafka.admin();
  }

  connect(): Promise<void> {
    return this.#admin.connect();
  }

  async disconnect(): Promise<void> {
    const cluster = this.#peekCluster;
    this.#peekCluster = undefined;
    if (cluster !== undefined) await cluster.then((c) => c.disconnect()).catch(() => {});
    await this.#admin.disconnect();
  }

  listTopics(): Promise<string[]> {
    return this.#admin.listTopics();
  }

  async topicMetadata(topics?: readonly string[]): Promise<DriverTopicMetadata[]> {
    const metadata = await this.#admin.fetchTopicMetadata(topics === undefined ? undefined : { topics: [...topics] });
    return metadata.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partition: p.partitionId,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
      })),
    }));
  }

  async createTopics(topics: readonly DriverNewTopic[]): Promise<void> {
    await this.#admin.createTopics({
      // Waited for by the caller: kafkajs' own wait gives up on a transient UNKNOWN_TOPIC_OR_PARTITION.
      waitForLeaders: false,
      topics: topics.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor,
        configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
      })),
    });
  }

  deleteTopics(names: readonly string[]): Promise<void> {
    return this.#admin.deleteTopics({ topics: [...names] });
  }

  async topicConfigs(topic: string): Promise<Record<string, string>> {
    const configs = await this.#admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: TOPIC_RESOURCE, name: topic }],
    });
    const entries: Record<string, string> = {};
    for (const entry of configs.resources[0]?.configEntries ?? []) {
      if (!entry.isSensitive && entry.configValue !== null) entries[entry.configName] = entry.configValue;
    }
    return entries;
  }

  async watermarks(topic: string): Promise<DriverWatermarks[]> {
    const offsets = await this.#admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
  }

  async offsetsAtTime(topic: string, timestamp: number): Promise<DriverPartitionOffset[]> {
    const found = await this.#admin.fetchTopicOffsetsByTimestamp(topic, timestamp);
    return found.map((p) => ({ partition: p.partition, offset: Number(p.offset) }));
  }

  async committedOffsets(groupId: string, topics?: readonly string[]): Promise<DriverCommittedTopic[]> {
    const committed = await this.#admin.fetchOffsets({
      groupId,
      ...(topics === undefined ? {} : { topics: [...topics] }),
    });
    return committed.map(({ topic, partitions }) => ({
      topic,
      partitions: partitions.map((p) => ({ partition: p.partition, offset: Number(p.offset) })),
    }));
  }

  async listGroups(): Promise<DriverGroupListing[]> {
    const { groups } = await this.#admin.listGroups();
    return groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType }));
  }

  async describeGroups(groupIds: readonly string[]): Promise<DriverGroup[]> {
    const { groups } = await this.#admin.describeGroups([...groupIds]);
    return groups.map((g) => ({
      groupId: g.groupId,
      state: g.state,
      protocolType: g.protocolType,
      protocol: g.protocol,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: g.protocolType === 'consumer' ? assignmentOf(m.memberAssignment) : [],
      })),
    }));
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.#admin.deleteGroups([groupId]);
  }

  commitOffsets(groupId: string, topic: string, offsets: readonly DriverPartitionOffset[]): Promise<void> {
    return commitGroupOffsets(
      this.#kafka,
      groupId,
      topic,
      offsets.map((o) => ({ partition: o.partition, offset: String(o.offset) })),
    );
  }

  async deleteRecords(topic: string, offsets: readonly DriverPartitionOffset[]): Promise<void> {
    await this.#admin.deleteTopicRecords({
      topic,
      partitions: offsets.map((o) => ({ partition: o.partition, offset: String(o.offset) })),
    });
  }

  async fetchPartition(
    topic: string,
    partition: number,
    offset: number,
    maxWaitMs: number,
  ): Promise<DriverPartitionFetch> {
    return fetchPartition(await this.#cluster(), topic, partition, offset, maxWaitMs);
  }

  async retryStaleLeader<T>(request: () => Promise<T>): Promise<T> {
    const cluster = await this.#cluster();
    return retryStaleLeader(() => cluster.refreshMetadata(), request);
  }

  /** The group-less cluster connection fetches go through, connected on first use. */
  #cluster(): Promise<PeekCluster> {
    if (this.#peekCluster === undefined) {
      const cluster = createPeekCluster(this.#kafka);
      this.#peekCluster = cluster.connect().then(() => cluster);
      // A failed connect is not kept: the next fetch tries again.
      this.#peekCluster.catch(() => {
        this.#peekCluster = undefined;
      });
    }
    return this.#peekCluster;
  }
}

/** The partitions of a consumer-protocol assignment, or none when it is another encoding. */
function assignmentOf(raw: Buffer): { topic: string; partitions: number[] }[] {
  if (raw.length === 0) return [];
  try {
    const decoded = AssignerProtocol.MemberAssignment.decode(raw);
    return Object.entries(decoded?.assignment ?? {}).map(([topic, partitions]) => ({
      topic,
      partitions: [...partitions],
    }));
  } catch {
    // Not the consumer protocol's encoding (another client's custom assignor): nothing to show.
    return [];
  }
}
