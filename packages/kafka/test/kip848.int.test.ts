// KIP-848 (`groupProtocol: 'consumer'`) on @platformatic/kafka, against the real Kafka 4.x broker:
// the broker assigns the partitions. Runs in the `kafka` project with the driver chosen explicitly.
import { payloadText, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic } from './publisher-helpers.ts';
import { brokers, waitFor } from './subscriber-helpers.ts';

describe("groupProtocol 'consumer' (KIP-848) on driver 'platformatic'", () => {
  it('joins a group as a KIP-848 member, gets every partition from the broker and consumes every message once', async () => {
    const topic = await createTopic('kip848', 4);
    const group = uniqueName('kip848');
    await using publisher = new KafkaPublisher({ brokers: brokers(), driver: 'platformatic' });
    const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
    await publisher.publish(topic, ...sent.map((text, i) => textMessage(text, { key: `k${i % 16}` })));

    await using subscriber = new KafkaSubscriber({
      brokers: brokers(),
      driver: 'platformatic',
      groupProtocol: 'consumer',
    });
    const assigned = new Set<number>();
    subscriber.on('rebalance', (event) => {
      for (const partition of event.assigned) assigned.add(partition);
    });
    const seen: string[] = [];
    for await (const message of subscriber.subscribe(topic, { group })) {
      seen.push(payloadText(message));
      message.ack();
      if (seen.length === sent.length) break;
    }
    expect(seen.sort()).toEqual([...sent].sort());
    expect([...assigned].sort()).toEqual([0, 1, 2, 3]);
  });

  it("splits the partitions between two members, consumes every message once, and hands a leaving member's partitions over", async () => {
    const topic = await createTopic('kip848-two', 4);
    const group = uniqueName('kip848-two');
    await using publisher = new KafkaPublisher({ brokers: brokers(), driver: 'platformatic' });
    let next = 0;
    const publish = async (count: number) => {
      const batch = Array.from({ length: count }, (_, i) =>
        textMessage(`m${next + i}`, { key: `k${(next + i) % 16}` }),
      );
      next += count;
      await publisher.publish(topic, ...batch);
    };
    const t0 = Date.now();
    const at = () => ((Date.now() - t0) / 1000).toFixed(1);
    const events: string[] = [];
    /** One member: what it holds and what it consumed (every message acked at once). */
    const member = (name: string) => {
      const subscriber = new KafkaSubscriber({ brokers: brokers(), driver: 'platformatic', groupProtocol: 'consumer' });
      const state = { subscriber, assigned: [] as number[], seen: [] as string[], partitionsSeen: new Set<number>() };
      subscriber.on('rebalance', ({ assigned }) => {
        state.assigned = [...assigned].sort();
        events.push(`${at()} ${name}:${state.assigned.join(',') || '-'}`);
      });
      subscriber.on('crash', ({ error, willRestart }) =>
        events.push(`${at()} ${name}:crash:${error.code}:${willRestart}`),
      );
      subscriber.on('stall', ({ reason }) => events.push(`${at()} ${name}:stall:${reason}`));
      const controller = new AbortController();
      const consuming = (async () => {
        for await (const message of subscriber.subscribe(topic, { group, signal: controller.signal })) {
          state.seen.push(payloadText(message));
          state.partitionsSeen.add(message.partition);
          message.ack();
        }
      })();
      return {
        state,
        stop: async () => {
          controller.abort();
          await consuming;
          await subscriber.close();
        },
      };
    };

    // A failed wait says what the group did meanwhile.
    const until = (condition: () => boolean, what: string, timeoutMs: number) =>
      waitFor(condition, what, timeoutMs).catch((error: Error) => {
        throw new Error(`${error.message}; events: ${events.join(' | ')}`);
      });
    await publish(200);
    const a = member('a');
    await until(() => a.state.seen.length >= 200, `member a to consume the first 200`, 60_000);
    const b = member('b');
    // The broker moves partitions to b once a confirmed their revocation.
    await until(
      () =>
        a.state.assigned.length > 0 &&
        b.state.assigned.length > 0 &&
        a.state.assigned.length + b.state.assigned.length === 4,
      `the two members to split 4 partitions`,
      30_000,
    );
    const split = Date.now() - t0;
    expect([...a.state.assigned, ...b.state.assigned].sort()).toEqual([0, 1, 2, 3]);
    a.state.partitionsSeen.clear();
    await publish(400);
    await until(() => a.state.seen.length + b.state.seen.length >= 600, 'both members to consume 400 more', 60_000);
    // Each member read only its own partitions.
    for (const p of a.state.partitionsSeen) expect(a.state.assigned).toContain(p);
    for (const p of b.state.partitionsSeen) expect(b.state.assigned).toContain(p);
    expect(b.state.seen.length).toBeGreaterThan(0);

    // b leaves: a gets all four partitions back and consumes what follows.
    await b.stop();
    await until(() => a.state.assigned.length === 4, `member a to get b's partitions back`, 30_000);
    await publish(200);
    await until(() => a.state.seen.length + b.state.seen.length >= 800, 'member a to consume the last 200', 60_000);
    await a.stop();
    console.log(`[kip848] split after ${(split / 1000).toFixed(1)} s; ${events.join(' | ')}`);
    const all = [...a.state.seen, ...b.state.seen].sort();
    // Everything once: nothing lost, and nothing a member acked was delivered again to the other.
    expect(all).toEqual(Array.from({ length: next }, (_, i) => `m${i}`).sort());
  });

  it('redelivers what was in flight on a kept partition when a joining member takes the others', async () => {
    const topic = await createTopic('kip848-kept', 4);
    const group = uniqueName('kip848-kept');
    await using publisher = new KafkaPublisher({ brokers: brokers(), driver: 'platformatic' });
    const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
    await publisher.publish(topic, ...sent.map((text, i) => textMessage(text, { key: `k${i % 16}` })));

    // Member a takes every message in and acks none until the group has moved partitions to b; its
    // acks of those first deliveries then come too late. What counts is what is handled afterwards.
    await using a = new KafkaSubscriber({ brokers: brokers(), driver: 'platformatic', groupProtocol: 'consumer' });
    const handled = new Set<string>();
    let moved = false;
    let kept: readonly number[] = [];
    a.on('rebalance', ({ assigned, revoked }) => {
      if (revoked.length > 0) {
        moved = true;
        kept = assigned;
      }
    });
    const early: { ack(): void }[] = [];
    const controller = new AbortController();
    const consumingA = (async () => {
      for await (const message of a.subscribe(topic, { group, signal: controller.signal })) {
        if (!moved) {
          early.push(message);
          continue;
        }
        for (const late of early.splice(0)) late.ack();
        handled.add(payloadText(message));
        message.ack();
      }
    })();
    await waitFor(() => early.length === sent.length, 'member a to take in every message', 60_000);
    await using b = new KafkaSubscriber({ brokers: brokers(), driver: 'platformatic', groupProtocol: 'consumer' });
    const consumingB = (async () => {
      for await (const message of b.subscribe(topic, { group, signal: controller.signal })) {
        handled.add(payloadText(message));
        message.ack();
      }
    })();
    await waitFor(() => moved, 'the broker to move partitions from a to b', 30_000);
    expect(kept.length).toBeGreaterThan(0);
    await waitFor(() => handled.size === sent.length, 'every message to be handled after the move', 60_000);
    controller.abort();
    await Promise.all([consumingA, consumingB]);
    expect([...handled].sort()).toEqual([...sent].sort());
  });

  it('is refused on kafkajs, and with the options the broker owns, at construction', () => {
    expect(() => new KafkaSubscriber({ brokers: brokers(), groupProtocol: 'consumer' })).toThrow(/groupProtocol/);
    expect(
      () =>
        new KafkaSubscriber({
          brokers: brokers(),
          driver: 'platformatic',
          groupProtocol: 'consumer',
          sessionTimeoutMs: 10_000,
        }),
    ).toThrow(/sessionTimeoutMs/);
  });
});
