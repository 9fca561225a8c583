import { expect, it } from 'vitest';
import { BusError, ClosedError } from '../../errors.js';
import { idsOf, numbered, payloadMatchesId, publishAll, type SuiteContext, series } from '../internal/context.js';
import { within } from '../internal/deadline.js';

/** Publish/subscribe basics every transport must pass. */
export function basicCases(ctx: SuiteContext): void {
  it(
    'publishes and subscribes',
    async () => {
      const topic = await ctx.topic(3);
      const publisher = await ctx.publisher();
      const messages = series('basic', 50);
      await publishAll(publisher, topic, messages, 10);
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const received = await reader.take(messages.length, ctx.waitMs);
      expect(new Set(idsOf(received))).toEqual(new Set(idsOf(messages)));
      for (const message of received) {
        expect(payloadMatchesId(message)).toBe(true);
        expect(message.headers['x-seq']).toBe(message.id.slice('basic-'.length));
        expect(message.topic).toBe(topic);
        expect(message.deliveryAttempt).toBeGreaterThanOrEqual(1);
      }
    },
    ctx.testTimeout(),
  );

  it(
    'delivers everything to concurrent subscribers of different groups',
    async () => {
      const topic = await ctx.topic(2);
      const subscribers = await Promise.all([ctx.subscriber(), ctx.subscriber(), ctx.subscriber()]);
      const readers = subscribers.map((subscriber, index) => ctx.reader(subscriber, topic, ctx.group(`c${index}`)));
      const publisher = await ctx.publisher();
      const messages = series('concurrent', 30);
      await publishAll(publisher, topic, messages, 5);
      const all = await Promise.all(readers.map((reader) => reader.take(messages.length, ctx.waitMs)));
      for (const received of all) expect(new Set(idsOf(received))).toEqual(new Set(idsOf(messages)));
    },
    ctx.testTimeout(),
  );

  it(
    'keeps many topics apart',
    async () => {
      const topics = await Promise.all(Array.from({ length: 6 }, () => ctx.topic(1)));
      const publisher = await ctx.publisher();
      await Promise.all(topics.map((topic, t) => publishAll(publisher, topic, series(`topic${t}`, 10))));
      const subscriber = await ctx.subscriber();
      const received = await Promise.all(
        topics.map((topic) => ctx.reader(subscriber, topic, ctx.group()).take(10, ctx.waitMs)),
      );
      received.forEach((messages, t) => {
        expect(idsOf(messages).sort()).toEqual(idsOf(series(`topic${t}`, 10)).sort());
        for (const message of messages) expect(message.topic).toBe(topics[t]);
      });
    },
    ctx.testTimeout(),
  );

  it(
    'delivers only the subscribed topic',
    async () => {
      const [mine, other] = await Promise.all([ctx.topic(1), ctx.topic(1)]);
      const publisher = await ctx.publisher();
      await publishAll(publisher, other as string, series('other', 10));
      await publishAll(publisher, mine as string, series('mine', 10));
      await publisher.publish(mine as string, numbered('mine-end', 0));
      const reader = ctx.reader(await ctx.subscriber(), mine as string, ctx.group());
      const received = await reader.until((m) => m.id === 'mine-end-0', ctx.waitMs, 'the end marker');
      expect(received).toHaveLength(11);
      for (const message of received) expect(message.id.startsWith('mine')).toBe(true);
    },
    ctx.testTimeout(),
  );

  it(
    'redelivers a nacked message with a higher deliveryAttempt',
    async () => {
      const topic = await ctx.topic(1);
      const publisher = await ctx.publisher();
      await publisher.publish(topic, numbered('nack', 0));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const first = await reader.next(ctx.waitMs);
      expect(first.nack()).toBe(true);
      const second = await reader.next(ctx.waitMs, 'the redelivery');
      expect(second.id).toBe(first.id);
      expect(second.offset).toBe(first.offset);
      expect(second.deliveryAttempt).toBeGreaterThan(first.deliveryAttempt);
      expect(second.ack()).toBe(true);
    },
    ctx.testTimeout(),
  );

  it(
    'continues after handler errors (nacks) and keeps the key order',
    async () => {
      const topic = await ctx.topic(1);
      const publisher = await ctx.publisher();
      await publisher.publish(topic, numbered('retry', 0, 'k'), numbered('retry', 1, 'k'));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const attempts: number[] = [];
      const acked: string[] = [];
      await reader.until(
        () => acked.length === 2,
        ctx.waitMs,
        'the failing message to succeed on its 4th delivery',
        (message) => {
          if (message.id === 'retry-0') attempts.push(message.deliveryAttempt);
          if (message.id === 'retry-0' && attempts.length <= 3) {
            message.nack();
          } else if (message.ack()) {
            acked.push(message.id);
          }
        },
      );
      expect(attempts).toHaveLength(4);
      for (let i = 1; i < attempts.length; i++) expect(attempts[i]).toBeGreaterThan(attempts[i - 1] as number);
      if (ctx.options.features.guaranteedOrderPerKey) expect(acked).toEqual(['retry-0', 'retry-1']);
    },
    ctx.testTimeout(),
  );

  it(
    'flushes on publisher close',
    async () => {
      const topic = await ctx.topic(2);
      const publisher = await ctx.options.createPublisher();
      const messages = series('flush', 100);
      const publishes = messages.map((message) => publisher.publish(topic, message));
      await within(publisher.close(), ctx.waitMs, 'the publisher to close');
      await within(Promise.all(publishes), ctx.waitMs, 'the publishes to resolve');
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const received = await reader.take(messages.length, ctx.waitMs);
      expect(new Set(idsOf(received))).toEqual(new Set(idsOf(messages)));
    },
    ctx.testTimeout(),
  );

  it(
    'rejects publish after close with a ClosedError, and close is idempotent',
    async () => {
      const topic = await ctx.topic(1);
      const publisher = await ctx.options.createPublisher();
      await publisher.publish(topic, numbered('closed', 0));
      await publisher.close();
      const error = await publisher.publish(topic, numbered('closed', 1)).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(ClosedError.isInstance(error)).toBe(true);
      expect(BusError.isInstance(error) && error.code).toBe('CLOSED');
      await within(publisher.close(), ctx.waitMs, 'a second close');
    },
    ctx.testTimeout(),
  );

  it(
    'makes ack and nack idempotent',
    async () => {
      const topic = await ctx.topic(1);
      const publisher = await ctx.publisher();
      await publisher.publish(topic, numbered('idem', 0), numbered('idem', 1));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const first = await reader.next(ctx.waitMs);
      expect(first.settlement).toBe('pending');
      expect(first.ack()).toBe(true);
      expect(first.settlement).toBe('acked');
      expect(first.ack()).toBe(false);
      expect(first.nack()).toBe(false);
      expect(first.settlement).toBe('acked');
      const second = await reader.next(ctx.waitMs);
      expect(second.id).not.toBe(first.id);
      expect(second.nack()).toBe(true);
      expect(second.settlement).toBe('nacked');
      expect(second.ack()).toBe(false);
      expect(second.nack()).toBe(false);
      expect(second.settlement).toBe('nacked');
      const again = await reader.next(ctx.waitMs, 'the redelivery of the nacked message');
      expect(again.id).toBe(second.id);
      expect(again.settlement).toBe('pending');
      expect(again.ack()).toBe(true);
    },
    ctx.testTimeout(),
  );

  it(
    'waits at least delayMs before redelivering a message nacked with a delay',
    async () => {
      const topic = await ctx.topic(1);
      const publisher = await ctx.publisher();
      await publisher.publish(topic, numbered('delay', 0));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const first = await reader.next(ctx.waitMs);
      const delayMs = 300;
      const nackedAt = performance.now();
      expect(first.nack({ delayMs })).toBe(true);
      const again = await reader.next(ctx.waitMs + delayMs, 'the delayed redelivery');
      // A little slack for timer granularity.
      expect(performance.now() - nackedAt).toBeGreaterThanOrEqual(delayMs - 20);
      expect(again.id).toBe(first.id);
      again.ack();
    },
    ctx.testTimeout(),
  );

  it(
    'resolves a publish of no messages',
    async () => {
      const topic = await ctx.topic(1);
      const publisher = await ctx.publisher();
      await within(publisher.publish(topic), ctx.waitMs, 'an empty publish');
    },
    ctx.testTimeout(),
  );

  it(
    'ends every subscription of a closed subscriber, and settling afterwards never throws',
    async () => {
      const [first, second] = await Promise.all([ctx.topic(1), ctx.topic(1)]);
      const publisher = await ctx.publisher();
      await publisher.publish(first as string, numbered('sub-close', 0), numbered('sub-close', 1));
      const subscriber = await ctx.subscriber();
      const reading = ctx.reader(subscriber, first as string, ctx.group());
      const waiting = ctx.reader(subscriber, second as string, ctx.group());
      const [held, nackLater] = await reading.take(2, ctx.waitMs, 'none');
      await within(subscriber.close(), ctx.waitMs, 'the subscriber to close');
      await reading.ended(ctx.waitMs);
      await waiting.ended(ctx.waitMs);
      // Whether a late settlement still counts is the transport's business; it must not throw.
      expect(typeof held?.ack()).toBe('boolean');
      expect(typeof nackLater?.nack()).toBe('boolean');
    },
    ctx.testTimeout(),
  );

  it(
    'ends the subscription when its signal aborts',
    async () => {
      const topic = await ctx.topic(1);
      const publisher = await ctx.publisher();
      await publisher.publish(topic, numbered('abort', 0));
      const controller = new AbortController();
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group(), controller.signal);
      const message = await reader.next(ctx.waitMs);
      message.ack();
      controller.abort();
      await reader.ended(ctx.waitMs);
    },
    ctx.testTimeout(),
  );
}
