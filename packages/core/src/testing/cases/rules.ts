import { expect, it } from 'vitest';
import { ConfigError, PublishError } from '../../errors.js';
import type { NackOptions } from '../../pubsub.js';
import { InputErrorCode, MAX_NACK_DELAY_MS } from '../../validation.js';
import { itWhen } from '../internal/feature-gate.js';
import { numbered, type SuiteContext } from '../internal/context.js';

const INVALID_TOPICS: readonly unknown[] = ['', 'has space', '..', '.', 'x'.repeat(250), 'ünïcode', 42, undefined];

/** Settles with the error `run` throws or rejects with; fails when it does neither. */
async function failureOf(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, but the call succeeded');
}

/**
 * The rules core owns (`@bus/core`'s `publishInputError`, `nackDelayMs`, ...): every transport
 * refuses the same input with the same error and code, and answers a late settlement the same way.
 */
export function ruleCases(ctx: SuiteContext): void {
  it(
    'rejects a publish to an invalid topic name with a PublishError of code INVALID_TOPIC',
    async () => {
      const publisher = await ctx.publisher();
      for (const topic of INVALID_TOPICS) {
        const error = await failureOf(() => publisher.publish(topic as string, numbered('bad-topic', 0)));
        expect(PublishError.isInstance(error), String(topic)).toBe(true);
        expect((error as PublishError).code, String(topic)).toBe(InputErrorCode.INVALID_TOPIC);
        expect((error as PublishError).isRetryable).toBe(false);
      }
    },
    ctx.testTimeout(),
  );

  it(
    'rejects a subscription to an invalid topic name with a ConfigError naming the topic',
    async () => {
      const subscriber = await ctx.subscriber();
      for (const topic of INVALID_TOPICS) {
        // Either when subscribing or when iteration starts, before anything is consumed.
        const error = await failureOf(async () => {
          const iterator = subscriber
            .subscribe(topic as string, { group: ctx.group('bad-topic') })
            [Symbol.asyncIterator]();
          try {
            await iterator.next();
          } finally {
            await iterator.return?.();
          }
        });
        expect(ConfigError.isInstance(error), String(topic)).toBe(true);
        expect((error as ConfigError).issues.map((issue) => issue.path)).toContain('topic');
      }
    },
    ctx.testTimeout(),
  );

  it(
    'rejects a publish with an invalid message as a whole, with a PublishError of code INVALID_MESSAGE',
    async () => {
      const topic = await ctx.topic(1);
      const publisher = await ctx.publisher();
      const valid = numbered('invalid-call', 0);
      const invalid: unknown[] = [
        null,
        'text',
        { ...valid, id: 7 },
        { ...valid, payload: 'not bytes' },
        { ...valid, headers: { 'x-n': 1 } },
        { ...valid, headers: null },
        { ...valid, binaryHeaders: { 'x-b': 'text' } },
        { ...valid, binaryHeaders: null },
        { ...valid, headers: { 'x-both': 'a' }, binaryHeaders: { 'x-both': new Uint8Array([1]) } },
        { ...valid, key: 12 },
        { ...valid, timestamp: Number.NaN },
      ];
      for (const message of invalid) {
        const error = await failureOf(() => publisher.publish(topic, valid, message as typeof valid));
        expect(PublishError.isInstance(error), JSON.stringify(message)).toBe(true);
        expect((error as PublishError).code).toBe(InputErrorCode.INVALID_MESSAGE);
        // It names the field, never the value.
        expect((error as PublishError).message).toContain('messages[1]');
      }
      // Nothing of a refused call was stored: the first message read is the one published after.
      await publisher.publish(topic, numbered('after-invalid', 0));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group('invalid-call'));
      const [first] = await reader.take(1, ctx.waitMs);
      expect(first?.id).toBe('after-invalid-0');
    },
    ctx.testTimeout(),
  );

  it(
    'refuses nack({ delayMs }) outside 0..2^31-1 with a ConfigError and leaves the message unsettled',
    async () => {
      const topic = await ctx.topic(1);
      const publisher = await ctx.publisher();
      await publisher.publish(topic, numbered('nack-delay', 0));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group('nack-delay'));
      const [message] = await reader.take(1, ctx.waitMs, 'none');
      const bad: unknown[] = [-1, MAX_NACK_DELAY_MS + 1, 2 ** 40, Number.NaN, Number.POSITIVE_INFINITY, '10'];
      for (const delayMs of bad) {
        const error = await failureOf(() => message?.nack({ delayMs } as NackOptions));
        expect(ConfigError.isInstance(error), String(delayMs)).toBe(true);
        expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['delayMs']);
        expect(message?.settlement).toBe('pending');
      }
      expect(message?.ack()).toBe(true);
      expect(message?.settlement).toBe('acked');
    },
    ctx.testTimeout(),
  );

  itWhen(ctx.options.features.consumerGroups)(
    'returns false from ack() and nack() once the partition was revoked, and redelivers the message',
    async () => {
      const topic = await ctx.topic(1);
      const group = ctx.group('revoked');
      const publisher = await ctx.publisher();
      await publisher.publish(topic, numbered('revoked', 0));
      const first = ctx.reader(await ctx.subscriber(), topic, group);
      const [held] = await first.take(1, ctx.waitMs, 'none');
      // The member leaves the group while it holds the message: its partition is revoked.
      await first.stop(ctx.waitMs);
      expect(held?.ack()).toBe(false);
      expect(held?.nack()).toBe(false);
      expect(held?.ack()).toBe(false);
      const second = ctx.reader(await ctx.subscriber(), topic, group);
      const [again] = await second.take(1, ctx.waitMs * 3);
      expect(again?.id).toBe('revoked-0');
    },
    ctx.testTimeout(),
  );
}
