import { payloadText, textMessage } from '@bus/core';
import { KafkaErrorCode, KafkaPublisher, KafkaSubscriber, KafkaTransportError } from '@bus/kafka';
import { type PythonScript, pythonEnv, pythonScriptPath, startPythonScript, uniqueName } from '@bus/test-infra';
import kafkajs from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokers, committedOffsets, createTopic, testDriver, waitFor } from './subscriber-helpers.js';

const PARTITIONS = 6;
/** librdkafka's default session timeout is 45 s; a shorter one keeps a lost member from stalling a test. */
const CLASSIC = { 'session.timeout.ms': '10000' };
/** KIP-848: the broker assigns; the session timeout is the broker's (`group.consumer.session.timeout.ms`). */
const KIP_848 = { 'group.protocol': 'consumer' };
const TOTAL = 600;

/** A bus member of the group: what it was assigned last, and every delivery. */
function busMember(
  topic: string,
  group: string,
  options: { partitionAssignors?: ['RoundRobinAssigner']; driver?: 'kafkajs' } = {},
) {
  const subscriber = new KafkaSubscriber({
    brokers: brokers(),
    groupId: group,
    clientId: 'bus-member',
    heartbeatIntervalMs: 500,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 20_000,
    ...options,
  });
  const state = { assigned: [] as number[], deliveries: [] as { partition: number; value: string }[] };
  subscriber.on('rebalance', (event) => {
    state.assigned = [...event.assigned].sort();
  });
  const controller = new AbortController();
  const done = (async () => {
    for await (const message of subscriber.subscribe(topic, { signal: controller.signal })) {
      state.deliveries.push({ partition: message.partition, value: payloadText(message) });
      message.ack();
    }
  })();
  return {
    state,
    done,
    async close() {
      controller.abort();
      await done;
      await subscriber.close();
    },
  };
}

function startPythonMember(topic: string, group: string, config: Record<string, string>): Promise<PythonScript> {
  return startPythonScript(pythonScriptPath('consumer.py'), {
    args: [brokers().join(','), topic, group, JSON.stringify(config)],
  });
}

/** The partitions the Python member holds now (its last `assigned` event, unless revoked since). */
function pythonAssigned(python: PythonScript): number[] {
  const last = python.events.filter((e) => e.type === 'assigned' || e.type === 'revoked').at(-1);
  return (last?.holding as number[] | undefined) ?? [];
}

function pythonDeliveries(python: PythonScript): { partition: number; value: string }[] {
  return python.events
    .filter((e) => e.type === 'message')
    .map((e) => ({ partition: e.partition as number, value: e.value as string }));
}

async function groupProtocol(group: string): Promise<string> {
  const admin = new kafkajs.Kafka({ brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([group]);
    return groups[0]?.protocol ?? '';
  } finally {
    await admin.disconnect();
  }
}

async function publishAll(topic: string): Promise<void> {
  const publisher = new KafkaPublisher({ brokers: brokers() });
  try {
    const messages = Array.from({ length: TOTAL }, (_, i) => textMessage(`m-${i}`, { key: `k${i % 60}` }));
    await publisher.publish(topic, ...messages);
  } finally {
    await publisher.close();
  }
}

describe('a consumer group shared with Python confluent-kafka (librdkafka)', () => {
  beforeAll(async () => {
    // Creates the cached venv on first use (pip install from PyPI); later runs reuse it.
    await pythonEnv();
  }, 600_000);

  const driver = testDriver();
  // On @platformatic/kafka a bus member offers `roundrobin` only (`partitionAssignors` cannot be
  // chosen there: a ConfigError), so with librdkafka's default range,roundrobin the group agrees on
  // roundrobin; on kafkajs bus offers range first and the group takes range.
  const defaultProtocol = driver === 'platformatic' ? 'roundrobin' : 'range';
  const cases = [
    { order: 'bus joins first', librdkafka: 'its default range,roundrobin', protocol: defaultProtocol },
    { order: 'librdkafka joins first', librdkafka: 'its default range,roundrobin', protocol: defaultProtocol },
    { order: 'bus joins first', librdkafka: 'roundrobin', protocol: 'roundrobin' },
    // KIP-848: the broker converts the group and assigns with its own assignor (uniform by default);
    // bus stays a classic member of it (group.consumer.migration.policy=bidirectional, the default).
    // Not on @platformatic/kafka 2.12: as a classic member of a converted group it fetches committed
    // offsets with its member id and epoch -1, which the broker refuses (ILLEGAL_GENERATION), and the
    // subscription fails. Its KIP-848 members (`groupProtocol: 'consumer'`) are tested in kip848.int.
    ...(driver === 'platformatic'
      ? []
      : ([
          { order: 'bus joins first', librdkafka: 'group.protocol=consumer', protocol: 'consumer (KIP-848)' },
          { order: 'librdkafka joins first', librdkafka: 'group.protocol=consumer', protocol: 'consumer (KIP-848)' },
        ] as const)),
  ] as const;
  for (const { order, librdkafka, protocol } of cases) {
    const name = `splits ${PARTITIONS} partitions with ${protocol} and consumes every message once (${order}, librdkafka with ${librdkafka})`;
    it(name, async () => {
      const topic = await createTopic('interop-group', PARTITIONS);
      const group = uniqueName('interop-group');
      const pythonConfig =
        protocol === 'consumer (KIP-848)'
          ? KIP_848
          : librdkafka === 'roundrobin'
            ? { ...CLASSIC, 'partition.assignment.strategy': 'roundrobin' }
            : CLASSIC;
      let bus: ReturnType<typeof busMember> | undefined;
      let python: PythonScript | undefined;
      try {
        if (order === 'bus joins first') {
          bus = busMember(topic, group);
          const first = bus;
          await waitFor(
            () => first.state.assigned.length === PARTITIONS,
            'the bus member to hold every partition',
            60_000,
          );
          python = await startPythonMember(topic, group, pythonConfig);
        } else {
          python = await startPythonMember(topic, group, pythonConfig);
          const first = python;
          await first.waitFor((e) => e.type === 'assigned' && (e.partitions as number[]).length === PARTITIONS);
          bus = busMember(topic, group);
        }
        const b = bus;
        const p = python;
        await waitFor(
          () => b.state.assigned.length === 3 && pythonAssigned(p).length === 3,
          'the group to split the partitions 3/3',
          90_000,
        );
        const busPartitions = b.state.assigned;
        const pythonPartitions = pythonAssigned(p);
        if (protocol === 'consumer (KIP-848)') {
          // The broker's assignor balances the partitions; which member gets which is its choice.
          expect([...busPartitions, ...pythonPartitions].sort()).toEqual([0, 1, 2, 3, 4, 5]);
        } else {
          expect(await groupProtocol(group)).toBe(protocol);
          // Java's algorithms, with members sorted by id ("bus-member-…" before "rdkafka-…"): range
          // gives contiguous ranges, roundrobin deals the partitions in turn.
          const expected =
            protocol === 'range'
              ? [
                  [0, 1, 2],
                  [3, 4, 5],
                ]
              : [
                  [0, 2, 4],
                  [1, 3, 5],
                ];
          expect([busPartitions, pythonPartitions]).toEqual(expected);
        }

        await publishAll(topic);
        await waitFor(
          () => new Set([...b.state.deliveries, ...pythonDeliveries(p)].map((d) => d.value)).size === TOTAL,
          `all ${TOTAL} messages to be consumed`,
          90_000,
        );
        await p.stop();
        await b.close();
        expect(await p.exited).toBe(0);

        const busSeen = b.state.deliveries;
        const pythonSeen = pythonDeliveries(p);
        const all = [...busSeen, ...pythonSeen].map((d) => d.value);
        expect(all.length, 'deliveries (a duplicate would make it larger)').toBe(TOTAL);
        expect(new Set(all).size).toBe(TOTAL);
        expect(busSeen.length).toBeGreaterThan(0);
        expect(pythonSeen.length).toBeGreaterThan(0);
        // Each member read only its own partitions.
        expect(busSeen.filter((d) => !busPartitions.includes(d.partition))).toEqual([]);
        expect(pythonSeen.filter((d) => !pythonPartitions.includes(d.partition))).toEqual([]);
        const committed = await committedOffsets(topic, group);
        expect([...committed.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0)).toBe(TOTAL);
      } finally {
        await python?.stop();
        await bus?.close();
      }
    }, 300_000);
  }

  // On kafkajs: an earlier bus version offered only RoundRobinAssigner. On @platformatic/kafka: a
  // group moving from kafkajs to platformatic one member at a time (kafkajs's defaults include
  // roundrobin, the one strategy a platformatic member offers).
  const upgrade =
    driver === 'platformatic'
      ? { from: 'a kafkajs member (default assignors)', protocol: 'roundrobin' }
      : { from: 'a member of an earlier bus version (RoundRobinAssigner only)', protocol: 'RoundRobinAssigner' };
  it(`keeps a rolling upgrade working: ${upgrade.from} and a new one share the group`, async () => {
    const topic = await createTopic('interop-upgrade', PARTITIONS);
    const group = uniqueName('interop-upgrade');
    const old = busMember(
      topic,
      group,
      driver === 'platformatic' ? { driver: 'kafkajs' } : { partitionAssignors: ['RoundRobinAssigner'] },
    );
    const current = busMember(topic, group);
    try {
      await waitFor(
        () =>
          old.state.assigned.length + current.state.assigned.length === PARTITIONS &&
          old.state.assigned.length > 0 &&
          current.state.assigned.length > 0,
        'both members to hold partitions',
        90_000,
      );
      expect(await groupProtocol(group)).toBe(upgrade.protocol);
    } finally {
      await Promise.all([old.close(), current.close()]);
    }
  }, 120_000);

  it('fails with KAFKA_INCONSISTENT_GROUP_PROTOCOL, naming the assignors, when the members share none', async () => {
    const topic = await createTopic('interop-inconsistent', PARTITIONS);
    const group = uniqueName('interop-inconsistent');
    // kafkajs: bus offers RoundRobinAssigner only. platformatic: bus offers roundrobin, librdkafka range only.
    await using python = await startPythonMember(
      topic,
      group,
      driver === 'platformatic' ? { ...CLASSIC, 'partition.assignment.strategy': 'range' } : CLASSIC,
    );
    await python.waitFor((e) => e.type === 'assigned');
    const subscriber = new KafkaSubscriber({
      brokers: brokers(),
      groupId: group,
      ...(driver === 'platformatic' ? {} : { partitionAssignors: ['RoundRobinAssigner' as const] }),
    });
    try {
      const failure = await (async () => {
        try {
          for await (const message of subscriber.subscribe(topic)) message.ack();
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(KafkaTransportError.isInstance(failure)).toBe(true);
      const error = failure as KafkaTransportError;
      expect(error.code).toBe(KafkaErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      expect(error.isRetryable).toBe(false);
      expect(error.message).toContain(driver === 'platformatic' ? '"roundrobin"' : '"RoundRobinAssigner"');
      expect(error.message).toContain('partitionAssignors');
      // The Python member kept its partitions.
      expect(pythonAssigned(python)).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await subscriber.close();
    }
  }, 120_000);
});
