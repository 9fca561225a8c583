// Pure unit tests of the "missing partitions are resent" logic. The fake below stands in for
// kafkajs's sendBatch only here; the Kafka behaviour itself is proven on real brokers
// (publisher-acks.int.test.ts on the single broker, the cluster project when leadership moves).
import { describe, expect, it } from 'vitest';
import { sendUntilAcknowledged, unacknowledgedPartitions } from '../src/internal/acknowledged-send.ts';
import { pinningPartitioner } from '../src/internal/driver/kafkajs-driver.ts';
import type { DriverRecord as KafkaMessage, PartitionAck as RecordMetadata } from '../src/internal/driver/types.ts';

const PARTITIONS = 4;
const partitionMetadata = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
  partitionId,
  leader: 1,
  partitionErrorCode: 0,
  replicas: [1],
  isr: [1],
}));

interface Unit {
  readonly name: string;
  readonly records: KafkaMessage[];
}

function unit(name: string, keys: readonly (string | undefined)[]): Unit {
  return {
    name,
    records: keys.map((key, i) => (key === undefined ? { value: `${name}-${i}` } : { key, value: `${name}-${i}` })),
  };
}

/**
 * Plays kafkajs 2.2.4's sendBatch after leadership moved: it places records with the real
 * partitioner, writes them, and answers only for partitions it did not `drop` on that call.
 */
function fakeSendBatch(dropPerCall: readonly (readonly number[])[]) {
  const partitioner = pinningPartitioner();
  const log: { value: string; partition: number }[] = [];
  const calls: KafkaMessage[][] = [];
  const send = async (records: KafkaMessage[]): Promise<RecordMetadata[]> => {
    const drop = new Set(dropPerCall[calls.length] ?? []);
    calls.push(records);
    const written = new Set<number>();
    for (const message of records) {
      const partition = partitioner({ topic: 't', partitionMetadata, message });
      if (drop.has(partition)) continue;
      written.add(partition);
      log.push({ value: String(message.value), partition });
    }
    return [...written].map((partition) => ({ topicName: 't', partition, errorCode: 0, baseOffset: '0' }));
  };
  return { send, log, calls };
}

function options(units: Unit[], send: (records: KafkaMessage[]) => Promise<RecordMetadata[]>) {
  const acknowledged: string[] = [];
  const resends: { partitions: number[]; units: string[] }[] = [];
  const settled = new Set<string>();
  return {
    acknowledged,
    resends,
    settled,
    options: {
      units,
      send,
      isWaiting: (u: Unit) => !settled.has(u.name),
      acknowledged: (u: Unit) => {
        acknowledged.push(u.name);
        settled.add(u.name);
      },
      resending: (partitions: ReadonlySet<number>, waiting: readonly Unit[]) => {
        resends.push({ partitions: [...partitions].sort(), units: waiting.map((u) => u.name) });
      },
      deadline: performance.now() + 10_000,
      retryDelayMs: 1,
      maxRetryDelayMs: 4,
    },
  };
}

describe('pinningPartitioner', () => {
  it('pins the murmur2 partition of keyed records and a fixed one for keyless records', () => {
    const choose = pinningPartitioner();
    const keyed: KafkaMessage = { key: 'customer-7', value: 'v' };
    const keyless: KafkaMessage = { value: 'v' };
    const first = choose({ topic: 't', partitionMetadata, message: keyed });
    expect(keyed.partition).toBe(first);
    const keylessFirst = choose({ topic: 't', partitionMetadata, message: keyless });
    expect(keyless.partition).toBe(keylessFirst);
    // A retry asks again: the same record must land where it was meant to (kafkajs honours `partition`).
    for (let i = 0; i < 5; i++) expect(choose({ topic: 't', partitionMetadata, message: keyless })).toBe(keylessFirst);
  });
});

describe('unacknowledgedPartitions', () => {
  const records = [0, 0, 1, 2, 2, 3].map((partition) => ({ value: 'v', partition }));
  const result = (partition: number, errorCode = 0): RecordMetadata => ({
    partition,
    errorCode,
  });

  it('is undefined when every partition sent to has a successful result', () => {
    expect(
      unacknowledgedPartitions(
        records,
        [0, 1, 2, 3].map((p) => result(p)),
      ),
    ).toBeUndefined();
  });

  it('names partitions without a result or with an error code, and records kafkajs never placed', () => {
    const missing = unacknowledgedPartitions([...records, { value: 'unplaced' }], [result(0), result(2, 6), result(3)]);
    expect([...(missing ?? [])].sort()).toEqual([-1, 1, 2]);
  });
});

describe('sendUntilAcknowledged', () => {
  it('resends only the records of partitions kafkajs resolved without, in order, and settles every unit', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `k${i % 13}`);
    const units = [unit('a', keys.slice(0, 20)), unit('b', keys.slice(20)), unit('c', [undefined, undefined])];
    // First call: two partitions "moved" and were never sent; second call: one of them again.
    // (k0..k12 hash to partitions 0, 1 and 2 of 4.)
    const fake = fakeSendBatch([[1, 2], [2]]);
    const run = options(units, fake.send);
    const result = await sendUntilAcknowledged(run.options);

    expect(result.unacknowledged).toEqual([]);
    // Acknowledged early: the units without a record in a missing partition (here possibly none).
    expect(run.acknowledged.every((name) => ['a', 'b', 'c'].includes(name))).toBe(true);
    expect(fake.calls).toHaveLength(3);
    // Every record written exactly once, and in the original order within each partition.
    const all = units.flatMap((u) => u.records);
    expect(fake.log.map((r) => r.value).sort()).toEqual(all.map((r) => String(r.value)).sort());
    for (let p = 0; p < PARTITIONS; p++) {
      const expected = all.filter((r) => r.partition === p).map((r) => String(r.value));
      expect(fake.log.filter((r) => r.partition === p).map((r) => r.value)).toEqual(expected);
    }
    // The resends carried only the missing partitions' records.
    expect(fake.calls[1]!.every((r) => r.partition === 1 || r.partition === 2)).toBe(true);
    expect(fake.calls[2]!.every((r) => r.partition === 2)).toBe(true);
    expect(run.resends[0]!.partitions).toEqual([1, 2]);
    expect(run.resends[1]!.partitions).toEqual([2]);
  });

  it('acknowledges a unit as soon as its own partitions are, while others are resent', async () => {
    const units = [
      { name: 'p0', records: [{ value: 'x', partition: 0 }] },
      { name: 'p2', records: [{ value: 'y', partition: 2 }] },
    ];
    const fake = fakeSendBatch([[2]]);
    const run = options(units, fake.send);
    let ackedBeforeResend: string[] = [];
    run.options.resending = () => {
      ackedBeforeResend = [...run.acknowledged];
    };
    await sendUntilAcknowledged(run.options);
    expect(ackedBeforeResend).toEqual(['p0']);
    expect(run.acknowledged).toEqual(['p0']);
  });

  it('gives up at the deadline and names the partitions still unacknowledged', async () => {
    const units = [
      unit('a', ['k1', 'k2', 'k3', 'k4', 'k5', 'k6']),
      { name: 'only-p0', records: [{ value: 'z', partition: 0 }] },
    ];
    const fake = fakeSendBatch(Array.from({ length: 1_000 }, () => [1, 2, 3]));
    const run = options(units, fake.send);
    run.options.deadline = performance.now() + 50;
    const result = await sendUntilAcknowledged(run.options);
    expect(result.unacknowledged.map((u) => u.name)).toEqual(['a']);
    expect([...result.partitions].every((p) => [1, 2, 3].includes(p))).toBe(true);
    expect(run.acknowledged).toEqual(['only-p0']);
    expect(fake.calls.length).toBeGreaterThan(1);
  });

  it('stops resending for units nobody waits for any more (timed out)', async () => {
    const units = [unit('a', ['k1', 'k2', 'k3', 'k4'])];
    const fake = fakeSendBatch(Array.from({ length: 1_000 }, () => [0, 1, 2, 3]));
    const run = options(units, fake.send);
    run.options.resending = () => run.settled.add('a');
    const result = await sendUntilAcknowledged(run.options);
    expect(fake.calls).toHaveLength(1);
    expect(result.unacknowledged.map((u) => u.name)).toEqual(['a']);
  });

  it('propagates a failure of the send', async () => {
    const run = options([unit('a', ['k'])], async () => {
      throw new Error('broker gone');
    });
    await expect(sendUntilAcknowledged(run.options)).rejects.toThrow('broker gone');
    expect(run.acknowledged).toEqual([]);
  });
});
