import { ConfigError, Router, signalsPlugin, textMessage } from '@bus/core';
import { describe, expect, it, vi } from 'vitest';
import { gate } from './support/deferred.ts';
import { TestPubSub, until } from './support/test-pubsub.ts';

describe('signalsPlugin', () => {
  /** A running router with `plugin` whose handler holds one message until `release` resolves. */
  async function routerWithMessageInFlight(plugin: ReturnType<typeof signalsPlugin>) {
    const bus = new TestPubSub();
    const router = new Router({ plugins: [plugin] });
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
    await bus.publish('in', textMessage('x', { id: 'in-flight' }));
    await until(() => entered, 'handler started');
    return { bus, router, release, run };
  }

  it('closes the router gracefully on a signal and removes its listeners afterwards', async () => {
    const before = process.listenerCount('SIGUSR2');
    const { bus, router, release, run } = await routerWithMessageInFlight(
      // The test process outlives the router: it must not be signalled for real afterwards.
      signalsPlugin({ signals: ['SIGUSR2'], closeTimeoutMs: 1_000, exitAfterCloseMs: false }),
    );
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);

    process.emit('SIGUSR2', 'SIGUSR2');
    await until(() => router.state === 'closing', 'closing after the signal');
    release.resolve();
    await run;

    expect(bus.eventsOf('ack').map((e) => e.id)).toEqual(['in-flight']);
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });

  it('a second signal during the drain removes the listeners and raises the signal again (default exit)', async () => {
    const before = process.listenerCount('SIGUSR2');
    // Raising the signal for real would end the test process: record the call instead.
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    try {
      const { router, release, run } = await routerWithMessageInFlight(
        signalsPlugin({ signals: ['SIGUSR2'], closeTimeoutMs: 60_000, exitAfterCloseMs: false }),
      );
      process.emit('SIGUSR2', 'SIGUSR2');
      await until(() => router.state === 'closing', 'closing after the first signal');
      expect(kill).not.toHaveBeenCalled();
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(kill).toHaveBeenCalledWith(process.pid, 'SIGUSR2');
      expect(process.listenerCount('SIGUSR2')).toBe(before);
      // Had the process exited, the in-flight message would be unacked and redelivered; here it drains.
      release.resolve();
      await run;
    } finally {
      kill.mockRestore();
    }
  });

  it('raises the signal again when the process is still alive exitAfterCloseMs after the router closed', async () => {
    const before = process.listenerCount('SIGUSR2');
    // Raising the signal for real would end the test process: record the call instead.
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    try {
      const { router, release, run } = await routerWithMessageInFlight(
        signalsPlugin({ signals: ['SIGUSR2'], closeTimeoutMs: 60_000, exitAfterCloseMs: 50 }),
      );
      process.emit('SIGUSR2', 'SIGUSR2');
      await until(() => router.state === 'closing', 'closing after the signal');
      release.resolve();
      await run;
      // The drain finished first: nothing is raised before the router closed.
      expect(kill).not.toHaveBeenCalled();
      // This process stays alive (as one whose client retries an unreachable broker would), so the
      // signal is raised again with the listeners gone: the default action, exit.
      await until(() => kill.mock.calls.length > 0, 'signal raised again after the close');
      expect(kill).toHaveBeenCalledWith(process.pid, 'SIGUSR2');
      expect(process.listenerCount('SIGUSR2')).toBe(before);
    } finally {
      kill.mockRestore();
    }
  });

  it('with exitOnSecondSignal: false, further signals only wait for the drain', async () => {
    const bus = new TestPubSub();
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    try {
      const router = new Router({
        plugins: [
          signalsPlugin({
            signals: ['SIGUSR2'],
            closeTimeoutMs: 60_000,
            exitOnSecondSignal: false,
            exitAfterCloseMs: false,
          }),
        ],
      });
      router.addConsumerHandler({ name: 'h', subscribeTopic: 'in', subscriber: bus, handle: () => {} });
      const run = router.run();
      await router.running;
      process.emit('SIGUSR2', 'SIGUSR2');
      process.emit('SIGUSR2', 'SIGUSR2');
      await run;
      expect(kill).not.toHaveBeenCalled();
    } finally {
      kill.mockRestore();
    }
  });

  it('rejects an empty or malformed signal list', () => {
    expect(() => signalsPlugin({ signals: [] })).toThrow(ConfigError);
    expect(() => signalsPlugin({ exitAfterCloseMs: -1 })).toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ path: 'exitAfterCloseMs' })] }),
    );
    expect(() => signalsPlugin({ signals: ['TERM' as NodeJS.Signals], closeTimeoutMs: -5 })).toThrow(
      expect.objectContaining({
        issues: [expect.objectContaining({ path: 'signals[0]' }), expect.objectContaining({ path: 'closeTimeoutMs' })],
      }),
    );
  });
});
