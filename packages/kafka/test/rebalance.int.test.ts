import { payloadText, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { brokers, committedOffsets, createTopic, waitFor } from './subscriber-helpers.js';

const TOTAL = 50_000;
const KEYS = 60;
const PARTITIONS = 6;

/** What every member saw, in the order the process saw it (all members run in this process). */
class Ledger {
  readonly firstSeen = new Map<string, number[]>();
  readonly seen = new Set<string>();
  deliveries = 0;
  outOfOrder: string[] = [];

  record(text: string): void {
    this.deliveries++;
    if (this.seen.has(text)) return;
    this.seen.add(text);
    const [key, seqText] = text.split(':') as [string, string];
    const seq = Number(seqText);
    const list = this.firstSeen.get(key) ?? [];
    // A message seen for the first time must be the next of its key: anything else means a key's
    // messages were handed out of order (or one was skipped).
    const expected = list.length === 0 ? 0 : (list[list.length - 1] as number) + 1;
    if (seq !== expected && this.outOfOrder.length < 10)
      this.outOfOrder.push(`${key}: got ${seq}, expected ${expected}`);
    list.push(seq);
    this.firstSeen.set(key, list);
  }
}

describe('rebalance under load', () => {
  it('loses nothing and keeps per-key order while members join and leave during a 50,000-message stream', async () => {
    const topic = await createTopic('rebalance-load', PARTITIONS);
    const group = uniqueName('rebalance');
    const ledger = new Ledger();
    const subscribers: KafkaSubscriber[] = [];
    const member = (label: string) => {
      const subscriber = new KafkaSubscriber({
        brokers: brokers(),
        heartbeatIntervalMs: 300,
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 15_000,
        clientId: label,
      });
      subscribers.push(subscriber);
      let assigned: number[] = [];
      subscriber.on('rebalance', (event) => {
        assigned = event.assigned;
      });
      const controller = new AbortController();
      const done = (async () => {
        let count = 0;
        for await (const message of subscriber.subscribe(topic, { group, signal: controller.signal })) {
          ledger.record(payloadText(message));
          message.ack();
          count++;
        }
        return count;
      })();
      return { subscriber, leave: () => controller.abort(), done, assigned: () => assigned };
    };

    // The stream is published in chunks, each right before a membership change, so every join
    // and leave happens while messages are flowing.
    const publisher = new KafkaPublisher({ brokers: brokers() });
    const nextSeq = new Array<number>(KEYS).fill(0);
    let published = 0;
    const publishChunk = async (size: number) => {
      for (let start = 0; start < size; start += 1_000) {
        const batch = Array.from({ length: 1_000 }, (_, i) => {
          const key = (published + start + i) % KEYS;
          const seq = nextSeq[key] as number;
          nextSeq[key] = seq + 1;
          return textMessage(`k${key}:${seq}`, { key: `k${key}` });
        });
        await publisher.publish(topic, ...batch);
      }
      published += size;
    };
    const joined = (m: { assigned: () => number[] }, name: string) =>
      waitFor(() => m.assigned().length > 0, `${name} to get partitions`, 60_000);
    const chunk = TOTAL / 5;

    await publishChunk(chunk);
    const a = member('member-a');
    await waitFor(() => ledger.seen.size >= 1_000, 'member a to start consuming', 60_000);
    const b = member('member-b');
    await joined(b, 'member b');
    await publishChunk(chunk);
    const c = member('member-c');
    await joined(c, 'member c');
    await publishChunk(chunk);
    a.leave();
    await a.done;
    await publishChunk(chunk);
    const d = member('member-d');
    await joined(d, 'member d');
    await publishChunk(chunk);
    b.leave();
    await b.done;
    await publisher.close();
    await waitFor(() => ledger.seen.size >= TOTAL, `all ${TOTAL} messages`, 90_000);
    c.leave();
    d.leave();
    const counts = await Promise.all([a.done, b.done, c.done, d.done]);
    await Promise.all(subscribers.map((s) => s.close()));

    const duplicates = ledger.deliveries - ledger.seen.size;
    const rebalances = subscribers.reduce((sum, s) => sum + s.stats().rebalances, 0);
    console.log(
      `[rebalance] ${TOTAL} messages, ${ledger.deliveries} deliveries, ${duplicates} duplicates, ` +
        `${rebalances} assignments; per member: ${counts.join(', ')}`,
    );
    expect(ledger.outOfOrder).toEqual([]);
    for (const count of counts) expect(count).toBeGreaterThan(0);
    expect(ledger.seen.size).toBe(TOTAL);
    for (let key = 0; key < KEYS; key++) {
      const seqs = ledger.firstSeen.get(`k${key}`) ?? [];
      expect(seqs.length, `messages of key k${key}`).toBe(Math.ceil((TOTAL - key) / KEYS));
    }
    // Every member's final commit covered what it acked: the group's committed offsets reach the end.
    const committed = await committedOffsets(topic, group);
    const total = [...committed.values()].reduce((sum, offset) => sum + Math.max(0, offset), 0);
    expect(total).toBe(TOTAL);
  }, 240_000);
});
