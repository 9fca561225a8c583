import { ConfigError, Router, signalsPlugin, textMessage } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { gate } from './support/deferred.ts';
import { TestPubSub, until } from './support/test-pubsub.ts';

describe('signalsPlugin', () => {
  it('closes the router gracefully on a signal and removes its listeners afterwards', async () => {
    const bus = new TestPubSub();
    const before = process.listenerCount('SIGUSR2');
    const router = new Router({ plugins: [signalsPlugin({ signals: ['SIGUSR2'], closeTimeoutMs: 1_000 })] });
    const release = gate();
    let entered = false;
    router.addConsumerHandler({
      name: 'h',
      subscribeTopic: 'in',
      subscriber: bus,
      handle: async () => {
        entered = true;
        await release.promise;
      },
    });
    const run = router.run();
    await router.running;
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    await bus.publish('in', textMessage('x', { id: 'in-flight' }));
    await until(() => entered, 'handler started');

    process.emit('SIGUSR2', 'SIGUSR2');
    await until(() => router.state === 'closing', 'closing after the signal');
    release.resolve();
    await run;

    expect(bus.eventsOf('ack').map((e) => e.id)).toEqual(['in-flight']);
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });

  it('rejects an empty or malformed signal list', () => {
    expect(() => signalsPlugin({ signals: [] })).toThrow(ConfigError);
    expect(() => signalsPlugin({ signals: ['TERM' as NodeJS.Signals], closeTimeoutMs: -5 })).toThrow(
      expect.objectContaining({
        issues: [expect.objectContaining({ path: 'signals[0]' }), expect.objectContaining({ path: 'closeTimeoutMs' })],
      }),
    );
  });
});
