import { expect } from 'vitest';
import { itWhen } from '../internal/feature-gate.js';
import type { ReceivedMessage } from '../../pubsub.js';
import { idsOf, numbered, publishAll, type SuiteContext, series } from '../internal/context.js';
import { DeadlineError } from '../internal/deadline.js';
import type { Reader } from '../internal/reader.js';

/** Consumer groups, committed offsets and retention, for transports with those features. */
export function groupCases(ctx: SuiteContext): void {
  const { consumerGroups, persistent } = ctx.options.features;

  itWhen(persistent)(
    'lets a new subscriber read messages published before it',
    async () => {
      const topic = await ctx.topic(2);
      const publisher = await ctx.publisher();
      const messages = series('old', 20);
      await publishAll(publisher, topic, messages);
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const received = await reader.take(messages.length, ctx.waitMs);
      expect(new Set(idsOf(received))).toEqual(new Set(idsOf(messages)));
    },
    ctx.testTimeout(),
  );

  itWhen(consumerGroups)(
    'fans out to every group',
    async () => {
      const topic = await ctx.topic(3);
      const [a, b] = await Promise.all([ctx.subscriber(), ctx.subscriber()]);
      const readers = [ctx.reader(a!, topic, ctx.group('fan-a')), ctx.reader(b!, topic, ctx.group('fan-b'))];
      const publisher = await ctx.publisher();
      const messages = series('fan', 60, (i) => `key-${i % 7}`);
      await publishAll(publisher, topic, messages, 20);
      const received = await Promise.all(readers.map((reader) => reader.take(messages.length, ctx.waitMs)));
      for (const messagesOfGroup of received) {
        expect(new Set(idsOf(messagesOfGroup))).toEqual(new Set(idsOf(messages)));
      }
    },
    ctx.testTimeout(),
  );

  itWhen(consumerGroups)(
    'splits a group between competing members, each message to exactly one',
    async () => {
      const topic = await ctx.topic(4);
      const group = ctx.group('compete');
      const [a, b] = await Promise.all([ctx.subscriber(), ctx.subscriber()]);
      const readers = [ctx.reader(a!, topic, group), ctx.reader(b!, topic, group)];
      const publisher = await ctx.publisher();
      const perMember: ReceivedMessage[][] = [[], []];
      const deadline = Date.now() + ctx.waitMs * 3;
      let published = 0;
      // Publish in waves until both members got some: a Kafka member may join after the first wave.
      while (perMember.some((got) => got.length === 0)) {
        if (Date.now() > deadline) throw new DeadlineError('both group members to receive messages', ctx.waitMs * 3);
        const wave = Array.from({ length: 40 }, (_, i) => numbered('compete', published + i, `key-${published + i}`));
        published += wave.length;
        await publisher.publish(topic, ...wave);
        await drain(readers, perMember, published, deadline);
      }
      const all = perMember.flat();
      expect(all).toHaveLength(published);
      expect(new Set(idsOf(all)).size).toBe(published);
    },
    ctx.testTimeout(60_000),
  );

  itWhen(consumerGroups)(
    'redelivers an unacked message to the next member (no ack, no progress)',
    async () => {
      const topic = await ctx.topic(1);
      const group = ctx.group('noack');
      const publisher = await ctx.publisher();
      await publisher.publish(topic, numbered('noack', 0), numbered('noack', 1));
      const first = ctx.reader(await ctx.subscriber(), topic, group);
      const held = await first.next(ctx.waitMs);
      await first.stop(ctx.waitMs);
      const second = ctx.reader(await ctx.subscriber(), topic, group);
      const again = await second.next(ctx.waitMs, 'the unacked message at the next member');
      expect(again.id).toBe(held.id);
      expect(again.ack()).toBe(true);
      const next = await second.next(ctx.waitMs);
      expect(next.id).not.toBe(held.id);
      next.ack();
    },
    ctx.testTimeout(),
  );

  itWhen(consumerGroups && persistent)(
    'continues after a subscriber closes, losing nothing',
    async () => {
      const topic = await ctx.topic(2);
      const group = ctx.group('resume');
      const publisher = await ctx.publisher();
      const messages = series('resume', 100);
      await publishAll(publisher, topic, messages, 25);
      const firstSubscriber = await ctx.subscriber();
      const firstPart = await ctx.reader(firstSubscriber, topic, group).take(40, ctx.waitMs);
      await firstSubscriber.close();
      const seen = new Set(idsOf(firstPart));
      const reader = ctx.reader(await ctx.subscriber(), topic, group);
      await reader.until(
        (message) => {
          seen.add(message.id);
          return seen.size === messages.length;
        },
        ctx.waitMs,
        'the rest of the messages after the first subscriber closed',
      );
      expect(seen).toEqual(new Set(idsOf(messages)));
    },
    ctx.testTimeout(),
  );

  itWhen(consumerGroups)(
    'commits only the contiguous acked prefix (out-of-order acks)',
    async () => {
      const topic = await ctx.topic(1);
      const group = ctx.group('prefix');
      const publisher = await ctx.publisher();
      const messages = series('prefix', 4);
      await publisher.publish(topic, ...messages);
      const firstSubscriber = await ctx.subscriber();
      const first = ctx.reader(firstSubscriber, topic, group);
      const held = await first.take(4, ctx.waitMs, 'none');
      expect(idsOf(held)).toEqual(idsOf(messages));
      for (const index of [0, 2, 3]) expect(held[index]?.ack()).toBe(true);
      await first.stop(ctx.waitMs);
      await firstSubscriber.close();
      const second = ctx.reader(await ctx.subscriber(), topic, group);
      const redelivered = await second.take(3, ctx.waitMs);
      expect(idsOf(redelivered)).toEqual(['prefix-1', 'prefix-2', 'prefix-3']);
    },
    ctx.testTimeout(),
  );

  itWhen(consumerGroups)(
    'loses nothing when one of several held messages is nacked, and commits everything acked',
    async () => {
      const topic = await ctx.topic(1);
      const group = ctx.group('held-nack');
      const publisher = await ctx.publisher();
      const messages = series('held', 6, () => 'same-key');
      await publisher.publish(topic, ...messages);
      const subscriber = await ctx.subscriber();
      const reader = ctx.reader(subscriber, topic, group);
      const [m0, m1, m2] = await reader.take(3, ctx.waitMs, 'none');
      expect(m1?.nack()).toBe(true);
      const acked = new Set<string>();
      for (const message of [m0, m2]) if (message?.ack()) acked.add(message.id);
      await reader.until(
        () => messages.every((m) => acked.has(m.id)),
        ctx.waitMs,
        'every message acked after the nack',
        (message) => {
          if (message.ack()) acked.add(message.id);
        },
      );
      await reader.stop(ctx.waitMs);
      await subscriber.close();
      // Everything was acked, so the group's next member starts after all of it.
      await publisher.publish(topic, numbered('held-after', 0));
      const next = ctx.reader(await ctx.subscriber(), topic, group);
      const first = await next.next(ctx.waitMs, 'the message published after everything was acked');
      expect(first.id).toBe('held-after-0');
      first.ack();
    },
    ctx.testTimeout(),
  );

  itWhen(consumerGroups)(
    "hands a leaving member's unacked messages to another member",
    async () => {
      const topic = await ctx.topic(1);
      const group = ctx.group('handover');
      const publisher = await ctx.publisher();
      const messages = series('handover', 10);
      await publisher.publish(topic, ...messages);
      const leaving = ctx.reader(await ctx.subscriber(), topic, group);
      const held = await leaving.take(5, ctx.waitMs, 'none');
      held[0]?.ack();
      held[1]?.ack();
      const staying = ctx.reader(await ctx.subscriber(), topic, group);
      await leaving.stop(ctx.waitMs);
      const expected = new Set(idsOf(messages.slice(2)));
      const seen = new Set<string>();
      const received = await staying.until(
        (message) => {
          if (expected.has(message.id)) seen.add(message.id);
          return seen.size === expected.size;
        },
        ctx.waitMs * 2,
        'the unacked and unread messages at the remaining member',
      );
      if (ctx.options.features.guaranteedOrderPerKey) {
        const firstNew = received.findIndex((m) => expected.has(m.id));
        expect(received[firstNew]?.id).toBe('handover-2');
      }
    },
    ctx.testTimeout(60_000),
  );
}

/** Reads from every reader until `total` distinct messages arrived in all, acking each. */
async function drain(
  readers: Reader[],
  perMember: ReceivedMessage[][],
  total: number,
  deadline: number,
): Promise<void> {
  const seen = new Set(perMember.flat().map((m) => m.id));
  let done = seen.size >= total;
  await Promise.all(
    readers.map(async (reader, index) => {
      while (!done) {
        const left = deadline - Date.now();
        if (left <= 0) throw new DeadlineError(`${total} messages across the group (got ${seen.size})`, 0);
        let message: ReceivedMessage;
        try {
          message = await reader.next(Math.min(left, 250), 'a message');
        } catch (error) {
          if (error instanceof DeadlineError) continue;
          throw error;
        }
        message.ack();
        perMember[index]?.push(message);
        seen.add(message.id);
        if (seen.size >= total) done = true;
      }
    }),
  );
}
