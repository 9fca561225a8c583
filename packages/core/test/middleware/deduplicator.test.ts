import { ConfigError, deduplicator, memoryDeduplicationStore, PublishError, Router, textMessage } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { context, received } from '../support/received.ts';
import { TestPubSub, until } from '../support/test-pubsub.ts';

describe('deduplicator', () => {
  it('calls the handler once per message id within the TTL', async () => {
    const handled: string[] = [];
    const handler = deduplicator({ ttlMs: 60_000 })((m) => {
      handled.push(m.id);
      return [textMessage('out')];
    });
    const first = await handler(received({ id: 'a' }), context());
    const duplicate = await handler(received({ id: 'a' }), context());
    await handler(received({ id: 'b' }), context());
    expect(handled).toEqual(['a', 'b']);
    expect(first).toHaveLength(1);
    expect(duplicate).toBeUndefined();
  });

  it('forgets the key when the handler fails, so the redelivery is handled', async () => {
    let calls = 0;
    const handler = deduplicator({ key: (m) => m.headers['order-id'] ?? m.id })(() => {
      if (++calls === 1) throw new Error('db down');
    });
    const message = { headers: { 'order-id': 'o-1' } };
    await expect(handler(received(message), context())).rejects.toThrow('db down');
    await handler(received(message), context());
    await handler(received(message), context());
    expect(calls).toBe(2);
  });

  it('handles the redelivery when forwarding failed after the handler returned (no loss through the router)', async () => {
    const bus = new TestPubSub();
    let failForward = true;
    bus.beforePublish = (topic) => {
      if (topic === 'out' && failForward) {
        failForward = false;
        throw new PublishError('out', 'not leader');
      }
    };
    let calls = 0;
    const router = new Router();
    router.addHandler({
      name: 'dedup',
      subscribeTopic: 'in',
      subscriber: bus,
      publishTopic: 'out',
      publisher: bus,
      middleware: [deduplicator()],
      handle: (m) => {
        calls++;
        return [textMessage(`copy of ${m.id}`)];
      },
    });
    const run = router.run();
    await bus.publish('in', textMessage('x', { id: 'once' }));
    await until(() => bus.eventsOf('ack', 'in').length === 1, 'acked after the second attempt');
    await bus.publish('in', textMessage('x', { id: 'once' }));
    await until(() => bus.eventsOf('ack', 'in').length === 2, 'duplicate acked');
    await router.close();
    await run;
    expect(calls).toBe(2);
    expect(bus.published('out')).toHaveLength(1);
  });

  it('memory store: expires keys and stays within maxKeys', () => {
    let now = 0;
    const store = memoryDeduplicationStore({ maxKeys: 3, now: () => now });
    expect(store.seen('a', 100)).toBe(false);
    expect(store.seen('a', 100)).toBe(true);
    now = 100;
    expect(store.seen('a', 100)).toBe(false);
    for (const key of ['b', 'c', 'd', 'e']) store.seen(key, 1_000);
    expect(store.size).toBe(3);
    expect(store.seen('e', 1_000)).toBe(true);
    expect(store.seen('a', 1_000)).toBe(false);
    now = 5_000;
    store.seen('z', 10);
    expect(store.size).toBe(1);
  });

  it('validates its options, including a store without forget', () => {
    expect(() => deduplicator({ ttlMs: 0, store: { seen: () => false } as never, key: 1 as never })).toThrow(
      expect.objectContaining({
        issues: [
          expect.objectContaining({ path: 'ttlMs' }),
          expect.objectContaining({ path: 'store.forget' }),
          expect.objectContaining({ path: 'key' }),
        ],
      }),
    );
    expect(() => memoryDeduplicationStore({ maxKeys: 0 })).toThrow(ConfigError);
  });
});
