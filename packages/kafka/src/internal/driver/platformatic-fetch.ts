import type * as Platformatic from '@platformatic/kafka';
import { KafkaErrorCode, KafkaTransportError } from '../../errors.js';
import type { RawHeader } from '../consumer-message.js';
import type { DriverPartitionFetch, FetchedRecord } from './admin-driver.js';

/** The longest a group-less fetch may wait for records (peek's `waitMs` is bounded by it). */
export const LONGEST_FETCH_WAIT_MS = 60_000;

const READ_COMMITTED = 1;
const PARTITION_MAX_BYTES = 1_048_576;
/** Session id 0 with epoch -1: a fetch outside any fetch session (the broker keeps nothing). */
const NO_SESSION_ID = 0;
const NO_SESSION_EPOCH = -1;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;

/** What to fetch. */
export interface FetchTarget {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly maxWaitMs: number;
}

type FetchResponse = Platformatic.fetchV17.FetchResponse;
type FetchResponsePartition = Platformatic.fetchV17.FetchResponsePartition;
type FetchApi = Platformatic.API<unknown[], FetchResponse>;

function call<T>(run: (callback: (error: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));
}

/**
 * One read-committed fetch of a partition from its leader, without a consumer group and outside
 * any fetch session: @platformatic/kafka's Consumer.fetch keeps a session per broker, which
 * overlapping fetches of different partitions would disturb, so the Fetch API is called directly
 * (through the client's exported internals: its API table and connection pool).
 */
export async function fetchCommitted(
  platformatic: typeof Platformatic,
  client: Platformatic.Base,
  target: FetchTarget,
): Promise<DriverPartitionFetch> {
  const { topic, partition, offset, maxWaitMs } = target;
  const metadata = await client.metadata({ topics: [topic] });
  const topicMetadata = metadata.topics.get(topic);
  const leader = topicMetadata?.partitions[partition]?.leader;
  if (topicMetadata === undefined || leader === undefined) {
    throw new KafkaTransportError(`Topic "${topic}" has no partition ${partition}`, {
      code: KafkaErrorCode.INVALID_OFFSETS,
      topic,
    });
  }
  const broker = metadata.brokers.get(leader);
  if (broker === undefined) {
    // Not elected yet (or the leader just moved): the caller looks the leaders up again.
    throw Object.assign(new Error(`No leader for "${topic}" partition ${partition}`), { type: 'LEADER_NOT_AVAILABLE' });
  }
  const internals = client as unknown as Record<symbol, (...args: unknown[]) => void>;
  const api = await call<FetchApi>((done) => internals[platformatic.kGetApi]!.call(client, 'Fetch', done));
  const connection = await call<Platformatic.Connection>((done) =>
    internals[platformatic.kGetConnection]!.call(client, broker, done),
  );
  // Fetch v12 and older name topics; later versions use the topic's id.
  const topicRef = api.version <= 12 ? topic : topicMetadata.id;
  const request = [
    {
      topicId: topicRef,
      partitions: [
        {
          partition,
          currentLeaderEpoch: -1,
          fetchOffset: BigInt(offset),
          lastFetchedEpoch: -1,
          partitionMaxBytes: PARTITION_MAX_BYTES,
        },
      ],
    },
  ];
  const response = await call<FetchResponse>((done) =>
    api(
      connection,
      maxWaitMs,
      1,
      PARTITION_MAX_BYTES * 2,
      READ_COMMITTED,
      NO_SESSION_ID,
      NO_SESSION_EPOCH,
      request,
      [],
      '',
      done,
    ),
  );
  const answer = response.responses[0]?.partitions.find((p) => p.partitionIndex === partition);
  return answer === undefined ? { records: [], nextOffset: offset, highWatermark: offset } : committed(answer, offset);
}

/** Drops records before `offset`, control records and records of aborted transactions. */
function committed(answer: FetchResponsePartition, offset: number): DriverPartitionFetch {
  const aborted = (answer.abortedTransactions ?? [])
    .map((a) => ({ producerId: a.producerId, firstOffset: Number(a.firstOffset) }))
    .sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedProducers = new Set<bigint>();
  const records: FetchedRecord[] = [];
  let nextOffset = offset;
  let next = 0;
  for (const batch of answer.records ?? []) {
    const transactional = (batch.attributes & TRANSACTIONAL) !== 0;
    const control = (batch.attributes & CONTROL) !== 0;
    for (const record of batch.records) {
      const at = Number(batch.firstOffset + BigInt(record.offsetDelta));
      while (next < aborted.length && aborted[next]!.firstOffset <= at)
        abortedProducers.add(aborted[next++]!.producerId);
      if (at < offset) continue;
      nextOffset = at + 1;
      if (control) {
        // The marker ending an aborted transaction: that producer's later records count again.
        abortedProducers.delete(batch.producerId);
        continue;
      }
      if (transactional && abortedProducers.has(batch.producerId)) continue;
      records.push({
        offset: at,
        timestamp: Number(batch.firstTimestamp + record.timestampDelta),
        key: record.key,
        value: record.value,
        headers: headersOf(record.headers),
      });
    }
  }
  return { records, nextOffset, highWatermark: Number(answer.highWatermark) };
}

/** Header pairs as kafkajs gives them: by name, a name given more than once as a list. */
function headersOf(pairs: readonly [Buffer | null, Buffer | null][]): Record<string, RawHeader> {
  const headers: Record<string, RawHeader> = {};
  for (const [rawName, value] of pairs) {
    if (rawName === null) continue;
    const name = rawName.toString();
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else headers[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return headers;
}
