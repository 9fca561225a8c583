import { payloadText, type ReceivedMessage, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { brokers, createTopic, waitFor } from './subscriber-helpers.js';

function subscriber(): KafkaSubscriber {
  return new KafkaSubscriber({ brokers: brokers(), heartbeatIntervalMs: 300, sessionTimeoutMs: 10_000 });
}

// Issue 9, defect 10: an ack() after the partition was revoked returned true on Kafka (and
// committed nothing) where the in-memory broker returns false. Core's rule: false on both.
describe('settling after a rebalance revoked the partition', () => {
  it('returns false from ack() of a message held across a rebalance, which the new owner receives again', async () => {
    const topic = await createTopic('revoked-ack', 2);
    const group = uniqueName('revoked-ack');
    const publisher = new KafkaPublisher({ brokers: brokers() });
    // Explicit partitions are not part of the contract; enough keys reach both partitions.
    await publisher.publish(topic, ...Array.from({ length: 20 }, (_, i) => textMessage(`m${i}`, { key: `k${i}` })));

    const first = subscriber();
    const held: ReceivedMessage[] = [];
    const firstStop = new AbortController();
    const firstLoop = (async () => {
      for await (const message of first.subscribe(topic, { group, signal: firstStop.signal })) held.push(message);
    })();
    await waitFor(
      () => new Set(held.map((m) => m.partition)).size === 2,
      'the first member to hold messages of both partitions',
    );

    // What it held before the group rebalanced; it may receive messages of its new generation later.
    const heldBefore = [...held];
    const rebalances: { assigned: number[]; revoked: number[] }[] = [];
    first.on('rebalance', (event) => rebalances.push(event));
    const second = subscriber();
    const seenBySecond = new Set<string>();
    const secondStop = new AbortController();
    const secondLoop = (async () => {
      for await (const message of second.subscribe(topic, { group, signal: secondStop.signal })) {
        seenBySecond.add(payloadText(message));
        message.ack();
      }
    })();
    await waitFor(
      () => rebalances.some((event) => event.revoked.length > 0) && seenBySecond.size > 0,
      'a partition to move from the first member to the second',
      60_000,
    );
    // Every message the first member held belongs to the old generation: settling it changes nothing.
    for (const message of heldBefore) {
      expect(message.ack()).toBe(false);
      expect(message.nack()).toBe(false);
      expect(message.settlement).toBe('pending');
    }
    // The new owner gets the moved partition's messages again, from the last commit.
    const revoked = new Set(rebalances.flatMap((event) => event.revoked));
    const movedTexts = heldBefore.filter((m) => revoked.has(m.partition)).map((m) => payloadText(m));
    expect(movedTexts.length).toBeGreaterThan(0);
    await waitFor(() => movedTexts.every((text) => seenBySecond.has(text)), 'the moved messages at the second member');

    firstStop.abort();
    secondStop.abort();
    await Promise.all([firstLoop, secondLoop]);
    await Promise.all([first.close(), second.close(), publisher.close()]);
  }, 120_000);
});
