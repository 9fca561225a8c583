import { payloadText, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { brokers, committedOffsets, createTopic, waitFor } from './subscriber-helpers.js';

const TOTAL = 20_000;

function subscriber(): KafkaSubscriber {
  return new KafkaSubscriber({ brokers: brokers(), heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000 });
}

describe('graceful shutdown', () => {
  it('closes mid-stream, then a restarted member loses nothing and redelivers no acked message', async () => {
    const topic = await createTopic('shutdown', 3);
    const group = uniqueName('shutdown');
    const publisher = new KafkaPublisher({ brokers: brokers() });
    let published = 0;
    const publishing = (async () => {
      for (let start = 0; start < TOTAL; start += 500) {
        await publisher.publish(
          topic,
          ...Array.from({ length: 500 }, (_, i) => textMessage(`m${start + i}`, { key: `k${(start + i) % 17}` })),
        );
        published += 500;
      }
    })();

    const first = subscriber();
    const ackedByFirst = new Set<string>();
    const firstLoop = (async () => {
      for await (const message of first.subscribe(topic, { group })) {
        ackedByFirst.add(payloadText(message));
        message.ack();
      }
    })();
    await waitFor(() => ackedByFirst.size >= 5_000, 'the first member to ack 5,000 messages', 60_000);
    // Close from outside the loop while messages keep arriving.
    await first.close();
    await firstLoop;
    const stoppedAt = ackedByFirst.size;
    expect(first.stats()).toMatchObject({ subscriptions: 0, inFlight: 0 });

    // The final commit covered every acked message: committed offsets add up to what was acked.
    const committed = await committedOffsets(topic, group);
    expect([...committed.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0)).toBe(stoppedAt);

    await publishing;
    await publisher.close();
    expect(published).toBe(TOTAL);

    const second = subscriber();
    const seenBySecond = new Set<string>();
    const redeliveredAcked: string[] = [];
    const controller = new AbortController();
    const secondLoop = (async () => {
      for await (const message of second.subscribe(topic, { group, signal: controller.signal })) {
        const text = payloadText(message);
        if (ackedByFirst.has(text)) redeliveredAcked.push(text);
        seenBySecond.add(text);
        message.ack();
        if (ackedByFirst.size + seenBySecond.size >= TOTAL) controller.abort();
      }
    })();
    await secondLoop;
    await second.close();

    console.log(
      `[shutdown] first member acked ${stoppedAt} before close; the restarted member read ${seenBySecond.size}`,
    );
    expect(redeliveredAcked).toEqual([]);
    const all = new Set([...ackedByFirst, ...seenBySecond]);
    expect(all.size).toBe(TOTAL);
  }, 120_000);

  it('close() ends an idle subscription promptly and commits nothing unacked', async () => {
    const topic = await createTopic('shutdown-idle', 1);
    const group = uniqueName('idle');
    const publisher = new KafkaPublisher({ brokers: brokers() });
    await publisher.publish(topic, textMessage('a'), textMessage('b'));
    await publisher.close();
    const sub = subscriber();
    const received: string[] = [];
    const loop = (async () => {
      for await (const message of sub.subscribe(topic, { group })) {
        received.push(payloadText(message));
        // 'b' is held (neither acked nor nacked) when the subscriber closes.
        if (payloadText(message) === 'a') message.ack();
      }
    })();
    await waitFor(() => received.length === 2, 'both messages');
    const started = Date.now();
    await sub.close();
    await loop;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await committedOffsets(topic, group)).get(0)).toBe(1);
    expect(sub.stats()).toMatchObject({ consumed: 2, acked: 1, inFlight: 0, subscriptions: 0 });
  });
});
