import type { Kafka as KafkaClient } from 'kafkajs';
import { KafkaErrorCode, KafkaTransportError } from '../errors.js';
import type { RawHeader } from './consumer-message.js';
import type { DriverPartitionFetch, FetchedRecord } from './driver/admin-driver.js';
import { kafkaErrorName } from './driver/admin-driver.js';

// kafkajs' cluster and broker API, the part used here. kafkajs has no public way to fetch without a
// consumer group, so the peek uses the cluster factory every kafkajs client owns (kafkajs 2.x).
interface RawMessage {
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, RawHeader>;
  isControlRecord?: boolean;
  batchContext?: { producerId?: string; inTransaction?: boolean };
}
interface RawPartitionResponse {
  partition: number;
  highWatermark: string;
  abortedTransactions?: { producerId: string; firstOffset: string }[];
  messages: RawMessage[];
}
interface Broker {
  fetch(request: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: RawPartitionResponse[] }[] }>;
}
/** The slice of kafkajs' internal cluster a peek needs. */
export interface PeekCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<Broker>;
}

const CREATE_CLUSTER = 'private:Kafka:createCluster';
const READ_COMMITTED = 1;
const PARTITION_MAX_BYTES = 1_048_576;
/** Lookups of a moved (or not yet elected) leader before a fetch fails: pauses of 100, 200, … 500 ms. */
const STALE_LEADER_RETRIES = 5;

/**
 * A cluster connection of `kafka` that fetches records without joining any consumer group.
 * Metadata refreshes, broker lookups and fetches that must open a connection run one at a time:
 * overlapping ones in kafkajs can open a second socket to a broker that disconnect never closes.
 */
export function createPeekCluster(kafka: KafkaClient): PeekCluster {
  const cluster = rawCluster(kafka);
  const targets = new Map<string, Promise<void>>();
  const opening = new Map<string, Promise<void>>();
  let queue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn);
    queue = run.catch(() => {});
    return run;
  };
  return {
    connect: () => cluster.connect(),
    disconnect: () => cluster.disconnect(),
    addTargetTopic: (topic) => {
      let added = targets.get(topic);
      if (added === undefined) {
        added = oneAtATime(() => cluster.addTargetTopic(topic));
        targets.set(topic, added);
        added.catch(() => targets.delete(topic));
      }
      return added;
    },
    refreshMetadata: () => oneAtATime(() => cluster.refreshMetadata()),
    findLeaderForPartitions: (topic, partitions) => cluster.findLeaderForPartitions(topic, partitions),
    findBroker: async (options) => {
      const broker = await oneAtATime(() => cluster.findBroker(options));
      return {
        // kafkajs opens a broker's fetch connection on demand without guarding against concurrent
        // opens: two fetches that both find it closed (the first ones, or the first after a
        // reconnect) would each open a socket, and disconnect closes only the last. While it is
        // closed, fetches to that broker go one at a time.
        fetch: (request) => {
          if (fetchConnectionOpen(broker)) return broker.fetch(request);
          const previous = opening.get(options.nodeId) ?? Promise.resolve();
          const run = previous.then(() => broker.fetch(request));
          opening.set(
            options.nodeId,
            run.then(
              () => {},
              () => {},
            ),
          );
          return run;
        },
      };
    },
  };
}

/** Whether kafkajs' connection for fetches (pool slot 1) to `broker` is open; `false` when unknown. */
function fetchConnectionOpen(broker: Broker): boolean {
  const pool = (broker as { connectionPool?: { pool?: { isConnected?: () => boolean }[] } }).connectionPool?.pool;
  return pool?.[1]?.isConnected?.() === true;
}

function rawCluster(kafka: KafkaClient): PeekCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== 'function') {
    throw new KafkaTransportError('Peeking needs kafkajs 2.x (its cluster factory was not found)', {
      code: KafkaErrorCode.UNKNOWN,
    });
  }
  return factory({ allowAutoTopicCreation: false, isolationLevel: READ_COMMITTED }) as PeekCluster;
}

/**
 * Fetches `partition` of `topic` from `offset` once, from its leader, read-committed. The broker
 * waits up to `maxWaitMs` when there is nothing to return yet. When the broker is not (or not yet:
 * a topic just created) the partition's leader, the leader is looked up again, a few times with a
 * growing pause (about 1.5 s in all).
 */
export async function fetchPartition(
  cluster: PeekCluster,
  topic: string,
  partition: number,
  offset: number,
  maxWaitMs: number,
): Promise<DriverPartitionFetch> {
  await cluster.addTargetTopic(topic);
  return retryStaleLeader(
    () => cluster.refreshMetadata(),
    async () => {
      const leaders = cluster.findLeaderForPartitions(topic, [partition]);
      const nodeId = Object.keys(leaders)[0];
      if (nodeId === undefined) {
        throw new KafkaTransportError(`Topic "${topic}" has no partition ${partition}`, {
          code: KafkaErrorCode.INVALID_OFFSETS,
          topic,
        });
      }
      const broker = await cluster.findBroker({ nodeId });
      const response = await broker.fetch({
        replicaId: -1,
        isolationLevel: READ_COMMITTED,
        maxWaitTime: maxWaitMs,
        minBytes: 1,
        maxBytes: PARTITION_MAX_BYTES * 2,
        topics: [{ topic, partitions: [{ partition, fetchOffset: String(offset), maxBytes: PARTITION_MAX_BYTES }] }],
      });
      const answer = response.responses.find((r) => r.topicName === topic)?.partitions[0];
      return answer === undefined
        ? { records: [], nextOffset: offset, highWatermark: offset }
        : committedRecords(answer, offset);
    },
  );
}

const STALE_LEADER_TYPES = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
]);

/**
 * Runs a request to a partition's leader, looking the leaders up again (`refresh`, up to 5 times,
 * with growing pauses) while the broker answers that it does not lead it: a topic created a moment
 * ago does that under load. Kafka's error name is kafkajs's `type`, or @platformatic/kafka's `apiId`.
 */
export async function retryStaleLeader<T>(refresh: () => Promise<unknown>, request: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await request();
    } catch (error) {
      if (!STALE_LEADER_TYPES.has(kafkaErrorName(error)) || attempt >= STALE_LEADER_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)));
      await refresh();
    }
  }
}

/** Drops records before `offset`, control records and records of aborted transactions. */
function committedRecords(answer: RawPartitionResponse, offset: number): DriverPartitionFetch {
  const aborted = (answer.abortedTransactions ?? [])
    .map((a) => ({ producerId: a.producerId, firstOffset: Number(a.firstOffset) }))
    .sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<string>();
  const records: FetchedRecord[] = [];
  let nextOffset = offset;
  let next = 0;
  for (const message of answer.messages) {
    const at = Number(message.offset);
    while (next < aborted.length && aborted[next]!.firstOffset <= at) abortedProducers.add(aborted[next++]!.producerId);
    const producerId = message.batchContext?.producerId ?? '';
    if (at < offset) continue;
    nextOffset = at + 1;
    if (message.isControlRecord === true) {
      // The marker ending an aborted transaction: that producer's later records count again.
      abortedProducers.delete(producerId);
      continue;
    }
    if (message.batchContext?.inTransaction === true && abortedProducers.has(producerId)) continue;
    records.push(recordOf(at, message));
  }
  return { records, nextOffset, highWatermark: Number(answer.highWatermark) };
}

function recordOf(offset: number, message: RawMessage): FetchedRecord {
  return {
    offset,
    timestamp: Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers: message.headers ?? {},
  };
}
