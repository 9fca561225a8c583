import { expect, it } from 'vitest';
import { itWhen } from '../internal/feature-gate.js';
import { ClosedError } from '../../errors.js';
import type { Message } from '../../pubsub.js';
import { createMessage, headerBytes } from '../../message-helpers.js';
import { idsOf, keyBytes, numbered, publishAll, type SuiteContext, series } from '../internal/context.js';
import { within } from '../internal/deadline.js';

/** Volume, binary fidelity, large payloads, concurrent close and broker restarts. */
export function robustnessCases(ctx: SuiteContext): void {
  it(
    'delivers 10,000 small messages with no loss and no duplicates',
    async () => {
      const topic = await ctx.topic(4);
      const count = ctx.volume(10_000, 100);
      const messages = series('volume', count, (i) => `key-${i % 64}`);
      const publisher = await ctx.publisher();
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const started = performance.now();
      await publishAll(publisher, topic, messages, 500);
      const received = await reader.take(count, ctx.waitMs * 6);
      const elapsedMs = performance.now() - started;
      expect(new Set(idsOf(received)).size).toBe(count);
      expect(received).toHaveLength(count);
      console.info(`[${ctx.options.name}] ${count} messages published and consumed in ${elapsedMs.toFixed(0)} ms`);
    },
    ctx.testTimeout(120_000),
  );

  it(
    'round-trips headers, binary payloads, binary keys and timestamps exactly',
    async () => {
      const topic = await ctx.topic(2);
      const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const binaryKey = Uint8Array.from([0, 255, 1, 254, 127, 128, 0x80, 0xc3]);
      const headers = {
        'x-plain': 'value',
        'x-empty': '',
        'x-unicode': 'größe 🚀 ключ',
        'x-long': 'h'.repeat(4096),
        'content-type': 'application/octet-stream',
      };
      const sent: Message[] = [
        createMessage({ id: 'binary-0', payload: allBytes, headers, key: binaryKey }),
        createMessage({ id: 'binary-1', payload: new Uint8Array(0), headers: {}, key: 'text-key' }),
        createMessage({
          id: 'binary-2',
          payload: allBytes.slice().reverse(),
          headers: { 'x-only': '1' },
          timestamp: 1_700_000_000_123,
        }),
      ];
      const publisher = await ctx.publisher();
      await publisher.publish(topic, ...sent);
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const received = await reader.take(sent.length, ctx.waitMs);
      for (const original of sent) {
        const got = received.find((m) => m.id === original.id);
        expect(got, original.id).toBeDefined();
        expect(Buffer.from(got!.payload).equals(Buffer.from(original.payload))).toBe(true);
        for (const [name, value] of Object.entries(original.headers)) expect(got!.headers[name]).toBe(value);
        if (original.timestamp !== undefined) expect(got!.timestamp).toBe(original.timestamp);
        const sentKey = keyBytes(original.key);
        const gotKey = keyBytes(got!.key);
        if (sentKey === undefined) expect(gotKey === undefined || gotKey.length === 0).toBe(true);
        else expect(Buffer.from(gotKey ?? []).equals(Buffer.from(sentKey))).toBe(true);
      }
    },
    ctx.testTimeout(),
  );

  it(
    'carries binary header values exactly: those not valid UTF-8 in binaryHeaders, the others as text',
    async () => {
      const topic = await ctx.topic(1);
      const uuidBytes = Uint8Array.from([
        0x9f, 0x1c, 0xe0, 0x00, 0xff, 0x80, 0x41, 0xc3, 0x28, 0, 1, 2, 0xfe, 0xed, 0xfa, 0xce,
      ]);
      const partitionZero = new Uint8Array(4);
      const utf8Bytes = new TextEncoder().encode('ok ✓');
      const sent = createMessage({
        id: 'binary-headers-0',
        payload: new Uint8Array([1]),
        headers: { 'x-text': 'plain' },
        binaryHeaders: {
          'x-uuid': uuidBytes,
          'x-partition': partitionZero,
          'x-utf8': utf8Bytes,
          'x-none': new Uint8Array(0),
        },
      });
      const publisher = await ctx.publisher();
      await publisher.publish(topic, sent, createMessage({ id: 'binary-headers-1', payload: new Uint8Array(0) }));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const [got, plain] = await reader.take(2, ctx.waitMs);
      expect(got?.id).toBe('binary-headers-0');
      // Not valid UTF-8: bytes. Valid UTF-8 (NULs, text, empty): text, whoever produced it.
      expect(Object.keys(got?.binaryHeaders ?? {})).toEqual(['x-uuid']);
      expect(Buffer.from(got?.binaryHeaders?.['x-uuid'] ?? []).equals(Buffer.from(uuidBytes))).toBe(true);
      expect(got?.headers).toMatchObject({
        'x-text': 'plain',
        'x-partition': '\u0000'.repeat(4),
        'x-utf8': 'ok ✓',
        'x-none': '',
      });
      for (const [name, bytes] of Object.entries(sent.binaryHeaders ?? {})) {
        expect(Buffer.from(headerBytes(got!, name) ?? [1]).equals(Buffer.from(bytes)), name).toBe(true);
      }
      // A message without binary headers has none.
      expect(plain?.binaryHeaders).toBeUndefined();
    },
    ctx.testTimeout(),
  );

  it(
    'carries a 1 MiB payload',
    async () => {
      const topic = await ctx.topic(1);
      const payload = new Uint8Array(1024 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919 + (i >>> 11)) & 0xff;
      const publisher = await ctx.publisher();
      await publisher.publish(topic, createMessage({ id: 'large-0', payload }));
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group());
      const [received] = await reader.take(1, ctx.waitMs);
      expect(received?.payload.byteLength).toBe(payload.byteLength);
      expect(Buffer.from(received!.payload).equals(Buffer.from(payload))).toBe(true);
    },
    ctx.testTimeout(),
  );

  it(
    'closes cleanly while iterating and publishing',
    async () => {
      const topic = await ctx.topic(2);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      try {
        const publisher = await ctx.options.createPublisher();
        const subscriber = await ctx.options.createSubscriber();
        let consumed = 0;
        let resolveTen: () => void = () => {};
        const tenConsumed = new Promise<void>((resolve) => {
          resolveTen = resolve;
        });
        const consuming = (async () => {
          for await (const message of subscriber.subscribe(topic, { group: ctx.group('close') })) {
            message.ack();
            if (++consumed === 10) resolveTen();
          }
        })();
        let stop = false;
        const publishErrors: unknown[] = [];
        const publishing = (async () => {
          for (let i = 0; !stop; i++) {
            try {
              await publisher.publish(topic, numbered('closing', i));
            } catch (error) {
              publishErrors.push(error);
              return;
            }
          }
        })();
        await within(tenConsumed, ctx.waitMs, '10 messages before closing');
        await within(
          Promise.all([subscriber.close(), publisher.close()]),
          ctx.waitMs,
          'the subscriber and publisher to close',
        );
        stop = true;
        await within(consuming, ctx.waitMs, 'the consuming loop to end after close');
        await within(publishing, ctx.waitMs, 'the publishing loop to end after close');
        for (const error of publishErrors) expect(ClosedError.isInstance(error)).toBe(true);
        // Let any stray rejection surface before checking.
        await new Promise<void>((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    },
    ctx.testTimeout(),
  );

  itWhen(ctx.options.features.canRestartBroker)(
    'keeps going across a broker restart without losing messages',
    async () => {
      const restart = ctx.options.restartBroker;
      if (restart === undefined) throw new Error('features.canRestartBroker is set but restartBroker() is missing');
      const topic = await ctx.topic(2);
      const publisher = await ctx.publisher();
      const before = series('restart-before', 50);
      const after = series('restart-after', 50);
      await publishAll(publisher, topic, before, 10);
      const reader = ctx.reader(await ctx.subscriber(), topic, ctx.group('restart'));
      const seen = new Set(idsOf(await reader.take(25, ctx.waitMs)));
      await within(restart.call(ctx.options), ctx.waitMs * 6, 'the broker to restart');
      await publishAll(publisher, topic, after, 10);
      const expected = new Set([...idsOf(before), ...idsOf(after)]);
      await reader.until(
        (message) => {
          seen.add(message.id);
          return [...expected].every((id) => seen.has(id));
        },
        ctx.waitMs * 6,
        'every message published before and after the restart',
      );
      expect(seen).toEqual(expected);
    },
    ctx.testTimeout(180_000),
  );
}
