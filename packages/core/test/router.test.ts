import {
  ClosedError,
  ConfigError,
  HandlerError,
  InvalidOutputError,
  MemoryBroker,
  type Message,
  type Middleware,
  PublishError,
  type Publisher,
  type ReceivedMessage,
  Router,
  type Subscriber,
  TimeoutError,
  textMessage,
  UnroutableOutputError,
  payloadText,
} from '@bus/core';
import { describe, expect, it } from 'vitest';
import { gate } from './support/deferred.ts';
import { TestPubSub, until } from './support/test-pubsub.ts';

function started(router: Router): { run: Promise<void> } {
  const run = router.run();
  return { run };
}

describe('Router forwarding and settlement', () => {
  it('publishes returned messages to publishTopic before acking the input', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    router.addHandler({
      name: 'upper',
      subscribeTopic: 'in',
      subscriber: bus,
      publishTopic: 'out',
      publisher: bus,
      handle: (message) => [textMessage(payloadText(message).toUpperCase(), { id: `out-${message.id}` })],
    });
    const { run } = started(router);
    await router.running;
    await bus.publish('in', textMessage('a', { id: '1' }), textMessage('b', { id: '2' }));
    await until(() => bus.eventsOf('ack', 'in').length === 2, 'both inputs acked');
    await router.close();
    await run;

    expect(bus.published('out').map(payloadText)).toEqual(['A', 'B']);
    for (const id of ['1', '2']) {
      const forwarded = bus.events.findIndex((e) => e.type === 'publish' && e.id === `out-${id}`);
      const acked = bus.events.findIndex((e) => e.type === 'ack' && e.id === id);
      expect(forwarded).toBeGreaterThanOrEqual(0);
      expect(forwarded).toBeLessThan(acked);
    }
    expect(bus.eventsOf('nack')).toEqual([]);
  });

  it('nacks a failed message (wrapping non-Error throws) and acks its redelivery once it succeeds', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    let calls = 0;
    router.addConsumerHandler({
      name: 'flaky',
      subscribeTopic: 'in',
      subscriber: bus,
      handle: () => {
        calls++;
        if (calls === 1) throw 'boom';
        if (calls === 2) throw new Error('second failure');
      },
    });
    const run = router.run();
    await bus.publish('in', textMessage('x', { id: 'm' }));
    await until(() => bus.eventsOf('ack').length === 1, 'redelivery acked');
    await router.close();
    await run;

    const nacks = bus.eventsOf('nack');
    expect(nacks.map((n) => n.attempt)).toEqual([1, 2]);
    expect(HandlerError.isInstance(nacks[0]?.reason)).toBe(true);
    expect((nacks[0]?.reason as HandlerError).thrown).toBe('boom');
    expect((nacks[1]?.reason as Error).message).toBe('second failure');
    expect(bus.eventsOf('ack')[0]?.attempt).toBe(3);
  });

  it('nacks the input, never acks it, when forwarding fails', async () => {
    const bus = new TestPubSub();
    let failures = 1;
    bus.beforePublish = (topic) => {
      if (topic === 'out' && failures-- > 0) throw new PublishError('out', 'broker unavailable');
    };
    const router = new Router();
    router.addHandler({
      name: 'fwd',
      subscribeTopic: 'in',
      subscriber: bus,
      publishTopic: 'out',
      publisher: bus,
      handle: (m) => [textMessage(payloadText(m))],
    });
    const run = router.run();
    await bus.publish('in', textMessage('x', { id: 'm' }));
    await until(() => bus.eventsOf('ack', 'in').length === 1, 'retried forward acked');
    await router.close();
    await run;

    const inEvents = bus.events.filter((e) => e.topic === 'in' && e.type !== 'publish');
    expect(inEvents.map((e) => e.type)).toEqual(['nack', 'ack']);
    expect(PublishError.isInstance((inEvents[0] as { reason: unknown }).reason)).toBe(true);
    expect(bus.published('out')).toHaveLength(1);
  });

  it('nacks with UnroutableOutputError when a consumer handler returns messages', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    let attempts = 0;
    router.addConsumerHandler({
      name: 'consumer',
      subscribeTopic: 'in',
      subscriber: bus,
      handle: () => (++attempts === 1 ? [textMessage('lost?')] : undefined),
    });
    const run = router.run();
    await bus.publish('in', textMessage('x'));
    await until(() => bus.eventsOf('ack').length === 1, 'second attempt acked');
    await router.close();
    await run;
    expect(UnroutableOutputError.isInstance(bus.eventsOf('nack')[0]?.reason)).toBe(true);
  });

  it('nacks with InvalidOutputError when a handler returns something other than an array', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    let attempts = 0;
    router.addHandler({
      name: 'sloppy',
      subscribeTopic: 'in',
      subscriber: bus,
      publishTopic: 'out',
      publisher: bus,
      // A JavaScript caller returning a single message instead of an array.
      handle: (() => (++attempts === 1 ? textMessage('not in an array') : undefined)) as never,
    });
    const run = router.run();
    await bus.publish('in', textMessage('x'));
    await until(() => bus.eventsOf('ack', 'in').length === 1, 'second attempt acked');
    await router.close();
    await run;
    expect(InvalidOutputError.isInstance(bus.eventsOf('nack')[0]?.reason)).toBe(true);
    expect(bus.published('out')).toHaveLength(0);
  });

  it('rejects run() with the error of a subscribe() that refuses the topic', async () => {
    const refusing: Subscriber = {
      specVersion: 1,
      subscribe: () => {
        throw new ConfigError('topic', [{ path: 'name', message: 'invalid topic name' }]);
      },
      close: async () => {},
      [Symbol.asyncDispose]: async () => {},
    };
    const router = new Router();
    router.addConsumerHandler({ name: 'h', subscribeTopic: 'bad topic', subscriber: refusing, handle: () => {} });
    await expect(router.run()).rejects.toSatisfy((e) => ConfigError.isInstance(e));
    expect(router.state).toBe('closed');
  });

  it('honours retryAfterMs on a handler error as the nack delay', async () => {
    const bus = new TestPubSub();
    const nacks: { delayMs?: number }[] = [];
    const spy: Subscriber = {
      specVersion: bus.specVersion,
      async *subscribe(topic, options) {
        for await (const m of bus.subscribe(topic, options)) {
          const original = m.nack.bind(m);
          yield Object.assign(Object.create(m) as ReceivedMessage, {
            nack: (o: { delayMs?: number } = {}) => {
              nacks.push(o);
              return original(o);
            },
            ack: () => m.ack(),
          });
        }
      },
      close: () => bus.close(),
      [Symbol.asyncDispose]: () => bus.close(),
    };
    const router = new Router();
    let calls = 0;
    router.addConsumerHandler({
      name: 'later',
      subscribeTopic: 'in',
      subscriber: spy,
      handle: () => {
        if (++calls === 1) throw Object.assign(new Error('busy'), { retryAfterMs: 5 });
      },
    });
    const run = router.run();
    await bus.publish('in', textMessage('x'));
    await until(() => bus.eventsOf('ack').length === 1, 'delayed redelivery acked');
    await router.close();
    await run;
    expect(nacks[0]?.delayMs).toBe(5);
  });
});

describe('Router configuration', () => {
  const bus = new TestPubSub();

  it('lists every handler problem in one ConfigError', () => {
    const router = new Router();
    router.addConsumerHandler({ name: 'a', subscribeTopic: 't', subscriber: bus, handle: () => {} });
    let error: unknown;
    try {
      router.addHandler({
        name: 'a',
        subscribeTopic: '',
        subscriber: bus,
        publishTopic: 'out',
        handle: () => {},
        concurrency: 0,
        orderBy: 'random' as 'key',
      });
    } catch (e) {
      error = e;
    }
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues.map((i) => i.path).sort()).toEqual(
      ['concurrency', 'name', 'orderBy', 'publisher', 'subscribeTopic'].sort(),
    );
    expect(router.handlerNames).toEqual(['a']);
  });

  it('rejects invalid router options all at once, and transports of another contract version', () => {
    expect(() => new Router({ closeTimeoutMs: -1, middleware: ['x' as never], logger: {} as never })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        issues: expect.arrayContaining([
          expect.objectContaining({ path: 'closeTimeoutMs' }),
          expect.objectContaining({ path: 'middleware[0]' }),
          expect.objectContaining({ path: 'logger.info' }),
        ]),
      }),
    );
    const oldSubscriber = { ...bus, specVersion: 0, subscribe: bus.subscribe.bind(bus) } as unknown as Subscriber;
    expect(() =>
      new Router().addConsumerHandler({ name: 'x', subscribeTopic: 't', subscriber: oldSubscriber, handle: () => {} }),
    ).toThrow(ConfigError);
  });

  it('rejects run() without handlers, and addHandler after close', async () => {
    const router = new Router();
    await expect(router.run()).rejects.toSatisfy((e) => ConfigError.isInstance(e));
    await expect(router.running).rejects.toBeInstanceOf(ConfigError);
    const closed = new Router();
    await closed.close();
    expect(() =>
      closed.addConsumerHandler({ name: 'x', subscribeTopic: 't', subscriber: bus, handle: () => {} }),
    ).toThrow(ClosedError);
  });
});

describe('Router concurrency and ordering', () => {
  it('keeps per-key order while running different keys in parallel up to the limit', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    const concurrency = 4;
    let active = 0;
    let maxActive = 0;
    const seen = new Map<string, number[]>();
    const activeKeys = new Set<string>();
    let overlapSameKey = false;
    router.addConsumerHandler({
      name: 'ordered',
      subscribeTopic: 'in',
      subscriber: bus,
      concurrency,
      handle: async (message) => {
        const key = message.key as string;
        if (activeKeys.has(key)) overlapSameKey = true;
        activeKeys.add(key);
        active++;
        maxActive = Math.max(maxActive, active);
        // Yield a few turns so other lanes get a chance to overlap.
        for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
        const list = seen.get(key) ?? [];
        list.push(Number(payloadText(message)));
        seen.set(key, list);
        active--;
        activeKeys.delete(key);
      },
    });
    const run = router.run();
    const messages: Message[] = [];
    for (let i = 0; i < 400; i++) messages.push(textMessage(String(i), { key: `k${i % 10}` }));
    await bus.publish('in', ...messages);
    await until(() => bus.eventsOf('ack').length === 400, 'all acked', 10_000);
    await router.close();
    await run;

    expect(overlapSameKey).toBe(false);
    expect(maxActive).toBe(concurrency);
    for (const [key, values] of seen) {
      expect(values, key).toEqual([...values].sort((a, b) => a - b));
      expect(values).toHaveLength(40);
    }
  });

  it('does not let a waiting message overtake the redelivery of a failed one with the same key', async () => {
    await using broker = new MemoryBroker();
    let delivered = 0;
    const counting = (inner: Subscriber): Subscriber => ({
      specVersion: inner.specVersion,
      async *subscribe(topic, options) {
        for await (const message of inner.subscribe(topic, options)) {
          delivered++;
          yield message;
        }
      },
      close: () => inner.close(),
      [Symbol.asyncDispose]: () => inner.close(),
    });
    const router = new Router({ subscriberDecorators: [counting] });
    const handled: string[] = [];
    const bothDelivered = gate();
    let failedOnce = false;
    router.addConsumerHandler({
      name: 'keyed',
      subscribeTopic: 'lanes',
      subscriber: broker.subscriber(),
      group: 'g',
      concurrency: 4,
      handle: async (message) => {
        const label = payloadText(message);
        if (label === 'first' && !failedOnce) {
          await bothDelivered.promise;
          failedOnce = true;
          handled.push('first (failed)');
          throw new Error('transient');
        }
        handled.push(label);
      },
    });
    const run = router.run();
    await router.running;
    const publisher = broker.publisher();
    await publisher.publish('lanes', textMessage('first', { key: 'k' }), textMessage('second', { key: 'k' }));
    // The second message reaches the router while the first is still being handled.
    await until(() => delivered === 2, 'both delivered');
    bothDelivered.resolve();
    await until(() => handled.length === 3, 'all handled');
    await router.close();
    await run;
    expect(handled).toEqual(['first (failed)', 'first', 'second']);
    expect(broker.committedOffsets('lanes', 'g')).toEqual([2]);
  });

  it('never holds more than concurrency + maxBuffered unsettled messages', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    router.addConsumerHandler({
      name: 'slow',
      subscribeTopic: 'in',
      subscriber: bus,
      concurrency: 3,
      maxBuffered: 5,
      orderBy: 'none',
      handle: async () => {
        await new Promise<void>((r) => setImmediate(r));
      },
    });
    const run = router.run();
    const batch = Array.from({ length: 500 }, (_, i) => textMessage(String(i)));
    await bus.publish('in', ...batch);
    await until(() => bus.eventsOf('ack').length === 500, 'all acked', 10_000);
    await router.close();
    await run;
    expect(bus.maxOutstanding).toBeLessThanOrEqual(3 + 5);
    expect(bus.maxOutstanding).toBeGreaterThanOrEqual(3);
  });
});

describe('Router close (draining)', () => {
  it('lets in-flight handlers finish, then runs the waiting messages in order, then closes transports', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    const release = gate();
    const entered: string[] = [];
    let signalAborted = false;
    router.addConsumerHandler({
      name: 'drain',
      subscribeTopic: 'in',
      subscriber: bus,
      orderBy: 'key',
      handle: async (message, { signal }) => {
        entered.push(message.id);
        await release.promise;
        signalAborted ||= signal.aborted;
      },
    });
    const run = router.run();
    await bus.publish('in', textMessage('1', { id: 'first', key: 'k' }), textMessage('2', { id: 'second', key: 'k' }));
    await until(() => entered.length === 1 && bus.outstanding === 2, 'first started, second buffered');
    const closing = router.close({ timeoutMs: 5_000 });
    await until(() => router.state === 'closing', 'closing');
    expect(bus.eventsOf('nack')).toEqual([]);
    expect(bus.eventsOf('ack')).toEqual([]);
    release.resolve();
    const report = await closing;
    await run;
    expect(report).toEqual({ finished: 2, nacked: 0, uncommitted: 0, deadlineReached: false });
    expect(entered).toEqual(['first', 'second']);
    expect(bus.eventsOf('ack').map((e) => e.id)).toEqual(['first', 'second']);
    expect(bus.eventsOf('nack')).toEqual([]);
    expect(signalAborted).toBe(false);
    expect(bus.closeCalls).toBe(1);
    expect(router.state).toBe('closed');
  });

  it('aborts handlers still running at the deadline and nacks (never acks) their messages', async () => {
    const bus = new TestPubSub();
    const router = new Router({ closeTransports: false });
    let abortReason: unknown;
    const finished = gate();
    let entered = false;
    router.addConsumerHandler({
      name: 'stuck',
      subscribeTopic: 'in',
      subscriber: bus,
      handle: async (_message, { signal }) => {
        entered = true;
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        abortReason = signal.reason;
        finished.resolve();
        // Returns normally after the abort: the router must not ack it any more.
      },
    });
    const run = router.run();
    await bus.publish('in', textMessage('x', { id: 'stuck-1' }));
    await until(() => entered, 'handler started');
    expect(await router.close({ timeoutMs: 20 })).toEqual({
      finished: 0,
      nacked: 1,
      uncommitted: 0,
      deadlineReached: true,
    });
    await run;
    await finished.promise;
    expect(TimeoutError.isInstance(abortReason)).toBe(true);
    const [nack] = bus.eventsOf('nack');
    expect(nack).toMatchObject({ id: 'stuck-1', attempt: 1 });
    expect(TimeoutError.isInstance(nack?.reason)).toBe(true);
    expect(bus.outstanding).toBe(0);
    expect(bus.eventsOf('ack')).toEqual([]);
    expect(bus.closeCalls).toBe(0);
  });

  it('gives a handler that first reads its signal after the deadline an aborted signal, also through a spread context', async () => {
    const bus = new TestPubSub();
    const router = new Router({ closeTransports: false });
    const release = gate();
    let entered = false;
    let seen: { aborted: boolean; reason: unknown } | undefined;
    // Spreads the context to replace the logger, as correlation-id middleware does: the signal must survive.
    const spreading: Middleware = (next) => (message, context) => next(message, { ...context, logger: context.logger });
    router.addConsumerHandler({
      name: 'late-reader',
      subscribeTopic: 'in',
      subscriber: bus,
      middleware: [spreading],
      handle: async (_message, context) => {
        entered = true;
        await release.promise;
        seen = { aborted: context.signal.aborted, reason: context.signal.reason };
      },
    });
    const run = router.run();
    await bus.publish('in', textMessage('x', { id: 'late-1' }));
    await until(() => entered, 'handler started');
    await router.close({ timeoutMs: 20 });
    await run;
    release.resolve();
    await until(() => seen !== undefined, 'handler read its signal');
    expect(seen?.aborted).toBe(true);
    expect(TimeoutError.isInstance(seen?.reason)).toBe(true);
    expect(bus.eventsOf('ack')).toEqual([]);
    const [nack] = bus.eventsOf('nack');
    expect(nack).toMatchObject({ id: 'late-1', attempt: 1 });
    expect(TimeoutError.isInstance(nack?.reason)).toBe(true);
  });

  it('leaves nothing unsettled when closed while messages are arriving', async () => {
    const bus = new TestPubSub();
    const router = new Router({ closeTransports: false });
    const handled = new Set<string>();
    router.addConsumerHandler({
      name: 'busy',
      subscribeTopic: 'in',
      subscriber: bus,
      concurrency: 2,
      handle: async (message) => {
        await new Promise<void>((r) => setImmediate(r));
        handled.add(message.id);
      },
    });
    const run = router.run();
    await router.running;
    const publishing = bus.publish(
      'in',
      ...Array.from({ length: 50 }, (_, i) => textMessage(String(i), { key: `k${i % 3}` })),
    );
    await router.close({ timeoutMs: 1_000 });
    await run;
    await publishing;
    expect(bus.outstanding).toBe(0);
    for (const ack of bus.eventsOf('ack')) expect(handled.has(ack.id)).toBe(true);
  });

  it('closes when the run signal aborts, and supports await using', async () => {
    const bus = new TestPubSub();
    const controller = new AbortController();
    let run: Promise<void>;
    {
      await using router = new Router();
      router.addConsumerHandler({ name: 'h', subscribeTopic: 'in', subscriber: bus, handle: () => {} });
      run = router.run({ signal: controller.signal });
      await router.running;
      controller.abort();
      await run;
      expect(router.state).toBe('closed');
    }
    await expect(run).resolves.toBeUndefined();
  });

  it('stops at once for an already aborted signal, and rejects run() when a plugin fails to start', async () => {
    const bus = new TestPubSub();
    const aborted = new Router();
    let calls = 0;
    aborted.addConsumerHandler({ name: 'h', subscribeTopic: 'in', subscriber: bus, handle: () => void calls++ });
    await bus.publish('in', textMessage('x'));
    await aborted.run({ signal: AbortSignal.abort() });
    expect(aborted.state).toBe('closed');
    expect(calls).toBe(0);
    await expect(aborted.running).rejects.toSatisfy((e) => ClosedError.isInstance(e));

    const broken = new Router({
      plugins: [
        () => {
          throw new Error('plugin exploded');
        },
      ],
    });
    broken.addConsumerHandler({ name: 'h', subscribeTopic: 'in', subscriber: new TestPubSub(), handle: () => {} });
    await expect(broken.run()).rejects.toThrow('plugin exploded');
    expect(broken.state).toBe('closed');
  });

  it('rejects run() and closes when a middleware factory throws while wrapping a handler', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    router.addConsumerHandler({ name: 'fine', subscribeTopic: 'a', subscriber: bus, handle: () => {} });
    router.addConsumerHandler({
      name: 'broken',
      subscribeTopic: 'b',
      subscriber: bus,
      middleware: [
        () => {
          throw new Error('bad middleware');
        },
      ],
      handle: () => {},
    });
    await expect(router.run()).rejects.toThrow('bad middleware');
    expect(router.state).toBe('closed');
    expect(bus.closeCalls).toBe(1);
  });

  it('starts handlers added while it runs', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    router.addConsumerHandler({ name: 'first', subscribeTopic: 'a', subscriber: bus, handle: () => {} });
    const run = router.run();
    await router.running;
    const seen: string[] = [];
    router.addConsumerHandler({
      name: 'late',
      subscribeTopic: 'b',
      subscriber: bus,
      handle: (m) => void seen.push(m.id),
    });
    await bus.publish('b', textMessage('x', { id: 'late-1' }));
    await until(() => bus.eventsOf('ack', 'b').length === 1, 'late handler acked');
    await router.close();
    await run;
    expect(seen).toEqual(['late-1']);
    expect(router.handlerNames).toEqual(['first', 'late']);
  });

  it('rejects run() with the subscription error after closing', async () => {
    const failing: Subscriber = {
      specVersion: 1,
      subscribe: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('connection lost')) }),
      }),
      close: async () => {},
      [Symbol.asyncDispose]: async () => {},
    };
    const router = new Router();
    router.addConsumerHandler({ name: 'h', subscribeTopic: 'in', subscriber: failing, handle: () => {} });
    await expect(router.run()).rejects.toThrow('connection lost');
    expect(router.state).toBe('closed');
  });
});

describe('Router middleware', () => {
  it('runs router-wide middleware outside the handler middleware, each list first-listed outermost', async () => {
    const bus = new TestPubSub();
    const order: string[] = [];
    const tag =
      (label: string): Middleware =>
      (next) =>
      async (message, context) => {
        order.push(`${label}>`);
        const output = await next(message, context);
        order.push(`<${label}`);
        return output;
      };
    const router = new Router({ middleware: [tag('r1'), tag('r2')] });
    router.addConsumerHandler({
      name: 'h',
      subscribeTopic: 'in',
      subscriber: bus,
      middleware: [tag('h1'), tag('h2')],
      handle: () => void order.push('handle'),
    });
    const run = router.run();
    await bus.publish('in', textMessage('x'));
    await until(() => bus.eventsOf('ack').length === 1, 'acked');
    await router.close();
    await run;
    expect(order).toEqual(['r1>', 'r2>', 'h1>', 'h2>', 'handle', '<h2', '<h1', '<r2', '<r1']);
  });
});

describe('Router decorators and plugins', () => {
  it('decorates each transport once, starts plugins and runs their cleanup on close', async () => {
    const bus = new TestPubSub();
    const published: string[] = [];
    const decoratePublisher = (p: Publisher): Publisher => ({
      specVersion: p.specVersion,
      publish: (topic, ...messages) => {
        published.push(topic);
        return p.publish(topic, ...messages);
      },
      close: () => p.close(),
      [Symbol.asyncDispose]: () => p.close(),
    });
    let subscriberDecorations = 0;
    const events: string[] = [];
    const router = new Router({
      publisherDecorators: [decoratePublisher],
      subscriberDecorators: [
        (s) => {
          subscriberDecorations++;
          return s;
        },
      ],
      plugins: [
        () => {
          events.push('start');
          return () => events.push('cleanup');
        },
      ],
    });
    for (const name of ['a', 'b']) {
      router.addHandler({
        name,
        subscribeTopic: `in-${name}`,
        subscriber: bus,
        publishTopic: 'out',
        publisher: bus,
        handle: (m) => [textMessage(payloadText(m))],
      });
    }
    const run = router.run();
    await router.running;
    await bus.publish('in-a', textMessage('x'));
    await until(() => bus.eventsOf('ack').length === 1, 'acked');
    expect(events).toEqual(['start']);
    await router.close();
    await run;
    expect(published).toEqual(['out']);
    expect(subscriberDecorations).toBe(1);
    expect(events).toEqual(['start', 'cleanup']);
  });
});
