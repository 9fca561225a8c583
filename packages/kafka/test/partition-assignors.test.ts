import { ConfigError } from '@bus/core';
import { DEFAULT_PARTITION_ASSIGNORS, KafkaErrorCode, toKafkaError } from '@bus/kafka';
import { describe, expect, it } from 'vitest';
import type { AssignorMember, GroupAssignment } from '../src/internal/assignors/group-member.js';
import { rangeAssign } from '../src/internal/assignors/range.js';
import { roundRobinAssign } from '../src/internal/assignors/round-robin.js';
import { kafkajsPartitionAssigners } from '../src/internal/assignors/kafkajs-assigner.js';
import { resolveSubscriberOptions } from '../src/subscriber-options.js';

const member = (memberId: string, topics: string[], groupInstanceId?: string): AssignorMember => ({
  memberId,
  topics,
  ...(groupInstanceId === undefined ? {} : { groupInstanceId }),
});

/** The assignment as `{ member: { topic: partitions } }`, for readable expectations. */
const plain = (assignment: GroupAssignment) =>
  Object.fromEntries([...assignment].map(([id, topics]) => [id, Object.fromEntries(topics)]));

const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

// Expected values are those of Java's RangeAssignorTest and RoundRobinAssignorTest (kafka-clients).
describe('range assignor (Java RangeAssignor)', () => {
  it('gives one consumer every partition', () => {
    expect(plain(rangeAssign([member('c', ['t'])], counts({ t: 3 })))).toEqual({ c: { t: [0, 1, 2] } });
  });

  it('leaves a consumer of a topic without partitions empty', () => {
    expect(plain(rangeAssign([member('c', ['t'])], counts({})))).toEqual({ c: {} });
  });

  it('gives the extra partition of each topic to the first consumer (two topics, three partitions each)', () => {
    const members = [member('consumer2', ['t1', 't2']), member('consumer1', ['t1', 't2'])];
    expect(plain(rangeAssign(members, counts({ t1: 3, t2: 3 })))).toEqual({
      consumer1: { t1: [0, 1], t2: [0, 1] },
      consumer2: { t1: [2], t2: [2] },
    });
  });

  it('leaves a consumer beyond the partition count without partitions', () => {
    expect(plain(rangeAssign([member('c0', ['t']), member('c1', ['t'])], counts({ t: 1 })))).toEqual({
      c0: { t: [0] },
      c1: {},
    });
  });

  it('assigns each topic among its own subscribers (mixed subscriptions)', () => {
    const members = [member('consumer1', ['t1']), member('consumer2', ['t1', 't2']), member('consumer3', ['t1'])];
    expect(plain(rangeAssign(members, counts({ t1: 3, t2: 2 })))).toEqual({
      consumer1: { t1: [0] },
      consumer2: { t1: [1], t2: [0, 1] },
      consumer3: { t1: [2] },
    });
  });

  it('splits six partitions 3/3 and seven 4/3 by member id', () => {
    const two = [member('rdkafka-b', ['t']), member('bus-a', ['t'])];
    expect(plain(rangeAssign(two, counts({ t: 6 })))).toEqual({
      'bus-a': { t: [0, 1, 2] },
      'rdkafka-b': { t: [3, 4, 5] },
    });
    expect(plain(rangeAssign(two, counts({ t: 7 })))).toEqual({
      'bus-a': { t: [0, 1, 2, 3] },
      'rdkafka-b': { t: [4, 5, 6] },
    });
  });

  it('orders static members (group.instance.id) first, by instance id, like Java MemberInfo', () => {
    const members = [member('a', ['t']), member('b', ['t'], 'z-instance'), member('c', ['t'], 'y-instance')];
    expect(plain(rangeAssign(members, counts({ t: 3 })))).toEqual({ c: { t: [0] }, b: { t: [1] }, a: { t: [2] } });
  });

  it('compares member ids by UTF-16 code units, like String.compareTo (uppercase before lowercase)', () => {
    const members = [member('b', ['t']), member('B', ['t'])];
    expect(plain(rangeAssign(members, counts({ t: 2 })))).toEqual({ B: { t: [0] }, b: { t: [1] } });
  });
});

describe('roundrobin assignor (Java RoundRobinAssignor)', () => {
  it('deals the sorted partitions of all topics in turn (two topics, three partitions each)', () => {
    const members = [member('consumer2', ['t1', 't2']), member('consumer1', ['t1', 't2'])];
    expect(plain(roundRobinAssign(members, counts({ t1: 3, t2: 3 })))).toEqual({
      consumer1: { t1: [0, 2], t2: [1] },
      consumer2: { t1: [1], t2: [0, 2] },
    });
  });

  it('skips members not subscribed to a topic and carries the circle on (mixed subscriptions)', () => {
    const members = [member('consumer1', ['t1']), member('consumer2', ['t1', 't2']), member('consumer3', ['t1'])];
    expect(plain(roundRobinAssign(members, counts({ t1: 3, t2: 2 })))).toEqual({
      consumer1: { t1: [0] },
      consumer2: { t1: [1], t2: [0, 1] },
      consumer3: { t1: [2] },
    });
  });

  it('sorts topics by name, whatever order members list them in', () => {
    const members = [member('c0', ['zeta', 'alpha']), member('c1', ['alpha', 'zeta'])];
    expect(plain(roundRobinAssign(members, counts({ zeta: 2, alpha: 3 })))).toEqual({
      c0: { alpha: [0, 2], zeta: [1] },
      c1: { alpha: [1], zeta: [0] },
    });
  });

  it('splits six partitions of one topic alternately', () => {
    const two = [member('m2', ['t']), member('m1', ['t'])];
    expect(plain(roundRobinAssign(two, counts({ t: 6 })))).toEqual({ m1: { t: [0, 2, 4] }, m2: { t: [1, 3, 5] } });
  });
});

describe('kafkajs partition assigners', () => {
  it('offers the strategies under the names Java and librdkafka use, in the configured order', () => {
    const created = kafkajsPartitionAssigners(DEFAULT_PARTITION_ASSIGNORS).map((create) =>
      create({ cluster: {} as never, groupId: 'g', logger: {} as never }),
    );
    expect(created.map((assigner) => assigner.name)).toEqual(['range', 'roundrobin', 'RoundRobinAssigner']);
  });

  it('encodes member metadata as ConsumerProtocolSubscription v0: version, topics, user data', () => {
    const [range] = kafkajsPartitionAssigners(['range']).map((create) =>
      create({ cluster: {} as never, groupId: 'g', logger: {} as never }),
    );
    const { name, metadata } = range?.protocol({ topics: ['orders'] }) ?? { name: '', metadata: Buffer.alloc(0) };
    expect(name).toBe('range');
    const expected = Buffer.concat([
      Buffer.from([0, 0]), // version 0 (int16)
      Buffer.from([0, 0, 0, 1]), // one topic (int32 array length)
      Buffer.from([0, 6]), // topic name length (int16)
      Buffer.from('orders'),
      Buffer.from([0, 0, 0, 0]), // empty user data (int32 length)
    ]);
    expect(metadata.equals(expected)).toBe(true);
  });
});

describe('partitionAssignors option', () => {
  it('defaults to range, roundrobin, then the legacy kafkajs name', () => {
    expect(resolveSubscriberOptions({ brokers: 'b:1' }).partitionAssignors).toEqual([
      'range',
      'roundrobin',
      'RoundRobinAssigner',
    ]);
    expect(resolveSubscriberOptions({ brokers: 'b:1', partitionAssignors: ['roundrobin'] }).partitionAssignors).toEqual(
      ['roundrobin'],
    );
  });

  it('reports every bad entry at once', () => {
    try {
      resolveSubscriberOptions({
        brokers: 'b:1',
        partitionAssignors: ['range', 'cooperative-sticky', 'range'] as never,
      });
      expect.unreachable('expected a ConfigError');
    } catch (error) {
      expect(ConfigError.isInstance(error)).toBe(true);
      const issues = (error as ConfigError).issues.map((issue) => `${issue.path}: ${issue.message}`);
      expect(issues).toEqual([
        'partitionAssignors[1]: must be one of "range", "roundrobin", "RoundRobinAssigner"',
        'partitionAssignors[2]: repeats "range"',
      ]);
    }
    for (const bad of [[], 'range', null]) {
      expect(() => resolveSubscriberOptions({ brokers: 'b:1', partitionAssignors: bad as never })).toThrow(
        /partitionAssignors.*non-empty array/,
      );
    }
  });
});

describe('INCONSISTENT_GROUP_PROTOCOL', () => {
  it('has its own code and a message naming the offered assignors and the setting to change', () => {
    const brokerError = Object.assign(new Error("The group member's supported protocols are incompatible"), {
      name: 'KafkaJSProtocolError',
      type: 'INCONSISTENT_GROUP_PROTOCOL',
      retriable: false,
    });
    const error = toKafkaError(brokerError, {
      operation: 'consume',
      topic: 'orders',
      partitionAssignors: ['RoundRobinAssigner'],
    });
    expect(error.code).toBe(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect(error.isRetryable).toBe(false);
    expect(error.message).toContain('"RoundRobinAssigner"');
    expect(error.message).toContain('partitionAssignors');
    expect(error.message).toContain('partition.assignment.strategy');
  });
});
