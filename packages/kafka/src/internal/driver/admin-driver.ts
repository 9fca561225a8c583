// The admin half of the driver seam: what KafkaAdmin and KafkaDeadLetterQueue need from a client.
// Each driver answers in these shapes, so the public operations above them (validation, the
// existence checks, lag arithmetic, typed errors) are written once and behave the same on both.

import type { RawHeader } from '../consumer-message.js';
import { platformaticErrorShape } from './platformatic-errors.js';

/** One partition of a topic's metadata. */
export interface DriverPartitionMetadata {
  readonly partition: number;
  /** Broker id of the leader, -1 when there is none. */
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** A topic's partitions, in any order. */
export interface DriverTopicMetadata {
  readonly name: string;
  readonly partitions: readonly DriverPartitionMetadata[];
}

/** A topic to create, as {@link AdminDriver.createTopics} takes it. */
export interface DriverNewTopic {
  readonly name: string;
  readonly partitions: number;
  /** -1: the broker's default. */
  readonly replicationFactor: number;
  readonly configs: Readonly<Record<string, string>>;
}

/** A partition's first held offset and next offset to be written (read-uncommitted). */
export interface DriverWatermarks {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
}

/** One partition's offset. */
export interface DriverPartitionOffset {
  readonly partition: number;
  readonly offset: number;
}

/** A group's committed offsets on one topic: -1 for a partition it never committed. */
export interface DriverCommittedTopic {
  readonly topic: string;
  readonly partitions: readonly DriverPartitionOffset[];
}

/** One member of a described group. */
export interface DriverGroupMember {
  readonly memberId: string;
  readonly clientId: string;
  /** As the broker reports it (may start with `/`). */
  readonly clientHost: string;
  /** Assigned partitions per topic, empty when unknown (rebalancing, another protocol). */
  readonly assignment: readonly { readonly topic: string; readonly partitions: readonly number[] }[];
}

/** A described group; state `Dead` when the broker does not know it. */
export interface DriverGroup {
  readonly groupId: string;
  readonly state: string;
  readonly protocolType: string;
  readonly protocol: string;
  readonly members: readonly DriverGroupMember[];
}

/** A listed group. */
export interface DriverGroupListing {
  readonly groupId: string;
  readonly protocolType: string;
}

/** A record read by a group-less fetch: its bytes as stored. */
export interface FetchedRecord {
  readonly offset: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, RawHeader>>;
}

/** What one group-less fetch of a partition returned. */
export interface DriverPartitionFetch {
  /** Records at or after the fetch offset, committed ones only, in offset order. */
  readonly records: readonly FetchedRecord[];
  /** The offset to fetch next: after the last record or control record seen. */
  readonly nextOffset: number;
  /** The partition's high watermark when the broker answered. */
  readonly highWatermark: number;
}

/**
 * Admin operations of one client. Errors are the client's own (classified by `toKafkaError`),
 * except where a method says otherwise. `connect` is called once before anything else;
 * `disconnect` once, after every call has settled.
 */
export interface AdminDriver {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Every topic name, internal ones included. */
  listTopics(): Promise<string[]>;
  /** Metadata of `topics`, or of every topic when omitted. */
  topicMetadata(topics?: readonly string[]): Promise<DriverTopicMetadata[]>;
  /** Creates the topics without waiting for their leaders. */
  createTopics(topics: readonly DriverNewTopic[]): Promise<void>;
  deleteTopics(names: readonly string[]): Promise<void>;
  /** A topic's effective configs, sensitive and unset ones left out. */
  topicConfigs(topic: string): Promise<Record<string, string>>;
  /** Watermarks of every partition of `topic`, in any order. */
  watermarks(topic: string): Promise<DriverWatermarks[]>;
  /** Per partition, the first offset at or after `timestamp`, or the high watermark when none. */
  offsetsAtTime(topic: string, timestamp: number): Promise<DriverPartitionOffset[]>;
  /**
   * A group's committed offsets: on `topics` (each listed, with every partition) or on every topic
   * it committed to.
   */
  committedOffsets(groupId: string, topics?: readonly string[]): Promise<DriverCommittedTopic[]>;
  listGroups(): Promise<DriverGroupListing[]>;
  describeGroups(groupIds: readonly string[]): Promise<DriverGroup[]>;
  /** Deletes one group; the broker's refusal keeps Kafka's error name (see `groupErrorType`). */
  deleteGroup(groupId: string): Promise<void>;
  /** Commits offsets (next to read) for a group with no active members. */
  commitOffsets(groupId: string, topic: string, offsets: readonly DriverPartitionOffset[]): Promise<void>;
  /** Deletes the records below each offset (Kafka's DeleteRecords). */
  deleteRecords(topic: string, offsets: readonly DriverPartitionOffset[]): Promise<void>;
  /**
   * Fetches `partition` from `offset` once, read-committed, from its leader, without any consumer
   * group. The broker waits up to `maxWaitMs` when there is nothing yet. A stale (or not yet
   * elected) leader is looked up again a few times.
   */
  fetchPartition(topic: string, partition: number, offset: number, maxWaitMs: number): Promise<DriverPartitionFetch>;
  /**
   * Runs `request`, looking the leaders up again (a few times, with growing pauses) while it fails
   * because a partition's leader moved or is not elected yet.
   */
  retryStaleLeader<T>(request: () => Promise<T>): Promise<T>;
}

/** Kafka's error name (`UNKNOWN_TOPIC_OR_PARTITION`, ...) in an error of either client, else ''. */
export function kafkaErrorName(error: unknown): string {
  const type = platformaticErrorShape(error)?.type ?? (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : '';
}
