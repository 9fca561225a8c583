import { ClosedError, ConfigError, DeadLetterHeaders, MemoryBroker, Router } from '@bus/core';
import {
  CommandBus,
  CommandProcessor,
  CqrsError,
  type Envelope,
  EventBus,
  type EventOf,
  EventProcessor,
  topics,
} from '@bus/cqrs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CancelOrder, OrderPlaced, OrderShipped, PlaceOrder } from './fixtures.ts';
import { readMessages } from './support/read.ts';

let broker: MemoryBroker;
afterEach(async () => {
  await broker?.close();
});

function setup(strategy = topics.stream('shop')) {
  broker = new MemoryBroker({ defaultPartitions: 4 });
  const events = new EventBus({ publisher: broker.publisher(), topics: strategy, source: 'urn:shop:test' });
  const commands = new CommandBus({ publisher: broker.publisher(), topics: strategy, source: 'urn:shop:test' });
  return { events, commands };
}

describe('EventBus and EventProcessor on the in-memory broker', () => {
  it('round-trips a typed event with its envelope, keyed by aggregate id', async () => {
    const { events } = setup();
    await using processor = new EventProcessor({ subscriber: broker.subscriber(), topics: events.topics, events });
    const seen: EventOf<typeof OrderPlaced>[] = [];
    processor.on(OrderPlaced, (event) => {
      seen.push(event);
    });
    void processor.run();
    const [published] = await events.publish(
      OrderPlaced.create(
        { orderId: 'o-1', total: 9.5 },
        { aggregateId: 'o-1', tenant: 't-1', metadata: { via: 'web' } },
      ),
    );
    await vi.waitFor(() => expect(seen).toHaveLength(1), { timeout: 5_000 });
    expect(seen[0]?.data).toEqual({ orderId: 'o-1', total: 9.5 });
    expect(seen[0]?.type).toBe('shop.OrderPlaced');
    expect(seen[0]?.envelope).toEqual(published);
    expect(published).toMatchObject({
      type: 'shop.OrderPlaced',
      version: 1,
      source: 'urn:shop:test',
      aggregateId: 'o-1',
      aggregateType: 'order',
      tenant: 't-1',
      metadata: { via: 'web' },
      contentType: 'application/json',
    });
    const [raw] = await readMessages(broker.subscriber(), 'shop.stream', 1);
    expect(raw?.key).toBe('o-1');
    expect(raw?.id).toBe(published?.id);
    expect(raw?.headers.ce_type).toBe('shop.OrderPlaced');
    expect(processor.stats()).toMatchObject({ handled: 1, failed: 0, inFlight: 0 });
  });

  it('routes by every topic strategy', async () => {
    const custom = topics.custom((t) => `custom-${t.kind}-${t.name.replace('shop.', '')}`);
    const cases = [
      [topics.perType('p'), 'p.shop.OrderPlaced', 'p.shop.PlaceOrder'],
      [topics.stream('s'), 's.stream', 's.commands'],
      [topics.perAggregateType('a'), 'a.order', 'a.order.commands'],
      [custom, 'custom-event-OrderPlaced', 'custom-command-PlaceOrder'],
    ] as const;
    for (const [strategy, eventTopic, commandTopic] of cases) {
      const { events, commands } = setup(strategy);
      await events.publish(OrderPlaced.create({ orderId: 'o-1', total: 1 }, { aggregateId: 'o-1' }));
      await commands.send(PlaceOrder.create({ orderId: 'o-1', total: 1 }, { aggregateId: 'o-1' }));
      expect(broker.describeTopic(eventTopic)?.reduce((n, p) => n + p.end, 0)).toBe(1);
      expect(broker.describeTopic(commandTopic)?.reduce((n, p) => n + p.end, 0)).toBe(1);
      await broker.close();
    }
    // Strategies remember the topics they gave, never a refusal: a bad name fails on every call.
    for (const strategy of [topics.perType('p'), topics.custom((t) => `c.${t.name}`)]) {
      for (let call = 0; call < 2; call++) {
        expect(strategy({ kind: 'event', name: 'Ok', aggregateType: undefined })).toMatch(/^[pc]\.Ok$/);
        expect(() => strategy({ kind: 'event', name: 'a/b', aggregateType: undefined })).toThrow(ConfigError);
      }
    }
    const byAggregate = topics.perAggregateType('p');
    for (let call = 0; call < 2; call++) {
      expect(byAggregate({ kind: 'event', name: 'x', aggregateType: 'order' })).toBe('p.order');
      expect(byAggregate({ kind: 'command', name: 'x', aggregateType: 'order' })).toBe('p.order.commands');
      expect(() => byAggregate({ kind: 'event', name: 'x', aggregateType: undefined })).toThrow(/has no aggregateType/);
      expect(() => byAggregate({ kind: 'event', name: 'x', aggregateType: 'a b' })).toThrow(ConfigError);
    }
  });

  it('fans out to handlers with groups of their own, and a handler group shares one consumer in aggregate order', async () => {
    const { events } = setup();
    await using processor = new EventProcessor({ subscriber: broker.subscriber(), topics: events.topics });
    const audit: string[] = [];
    const mail: string[] = [];
    const timeline = new Map<string, string[]>();
    processor.on(OrderPlaced, (e) => void audit.push(e.data.orderId));
    processor.on(OrderPlaced, (e) => void mail.push(e.data.orderId), { name: 'mail' });
    processor
      .group('timeline')
      .on(OrderPlaced, async (e) => {
        await new Promise((resolve) => setImmediate(resolve));
        timeline.set(e.data.orderId, [...(timeline.get(e.data.orderId) ?? []), 'placed']);
      })
      .on(OrderShipped, (e) => {
        timeline.set(e.data.orderId, [...(timeline.get(e.data.orderId) ?? []), `shipped:${e.data.carrier}`]);
      });
    expect(() => processor.on(OrderPlaced, () => {})).toThrow(/already registered/);
    expect(processor.router.handlerNames).toEqual(['cqrs:shop.OrderPlaced', 'cqrs:mail', 'cqrs:timeline']);
    void processor.run();
    const ids = Array.from({ length: 20 }, (_, i) => `o-${i}`);
    await events.publish(ids.map((id) => OrderPlaced.create({ orderId: id, total: 1 }, { aggregateId: id })));
    await events.publish(ids.map((id) => OrderShipped.create({ orderId: id, carrier: 'ups' }, { aggregateId: id })));
    await vi.waitFor(
      () => expect(timeline.size === 20 && [...timeline.values()].every((t) => t.length === 2)).toBe(true),
      {
        timeout: 5_000,
      },
    );
    for (const steps of timeline.values()) expect(steps).toEqual(['placed', 'shipped:ups']);
    expect(audit.sort()).toEqual([...ids].sort());
    expect(mail.sort()).toEqual([...ids].sort());
  });

  it('handler context publishes and sends with the correlation id propagated and the causation id set', async () => {
    const { events, commands } = setup();
    await using processor = new EventProcessor({
      subscriber: broker.subscriber(),
      topics: events.topics,
      events,
      commands,
    });
    const seen: Envelope[] = [];
    processor.on(OrderPlaced, async (event, ctx) => {
      await ctx.publish(OrderShipped.create({ orderId: event.data.orderId, carrier: 'dhl' }, { aggregateId: 'o-1' }));
      // Destructured, as handlers often take it: still bound to this message.
      const { send, signal } = ctx;
      expect(signal.aborted).toBe(false);
      await send(CancelOrder.create({ orderId: event.data.orderId }, { aggregateId: 'o-1' }));
    });
    processor.on(OrderShipped, (event) => void seen.push(event.envelope));
    await using commandProcessor = new CommandProcessor({ subscriber: broker.subscriber(), topics: events.topics });
    commandProcessor.on(CancelOrder, (command) => void seen.push(command.envelope));
    void processor.run();
    void commandProcessor.run();
    const [first] = await events.publish(
      OrderPlaced.create({ orderId: 'o-1', total: 1 }, { aggregateId: 'o-1', correlationId: 'req-42', actor: 'bob' }),
    );
    await vi.waitFor(() => expect(seen).toHaveLength(2), { timeout: 5_000 });
    for (const envelope of seen) {
      expect(envelope).toMatchObject({ correlationId: 'req-42', causationId: first?.id, actor: 'bob' });
    }
    // Without a correlation id, the cause's id becomes one.
    const { envelope } = { envelope: first as Envelope };
    const caused = await events.publish(OrderShipped.create({ orderId: 'x', carrier: 'c' }), {
      causedBy: { ...envelope, correlationId: undefined },
    });
    expect(caused[0]).toMatchObject({ correlationId: first?.id, causationId: first?.id });
  });

  it('retries a poison event with backoff, dead-letters it to <topic>.dlq, and never blocks other aggregates', async () => {
    const { events } = setup();
    await using processor = new EventProcessor({
      subscriber: broker.subscriber(),
      topics: events.topics,
      retry: { maxRetries: 2, initialIntervalMs: 5, randomizationFactor: 0.5 },
      deadLetter: { publisher: broker.publisher() },
    });
    const handled: string[] = [];
    processor.on(OrderPlaced, (event) => {
      if (event.data.orderId === 'poison') throw new TypeError('cannot bill poison');
      handled.push(event.data.orderId);
    });
    void processor.run();
    await events.publish([
      OrderPlaced.create({ orderId: 'poison', total: 1 }, { aggregateId: 'poison' }),
      ...Array.from({ length: 10 }, (_, i) =>
        OrderPlaced.create({ orderId: `ok-${i}`, total: 1 }, { aggregateId: `ok-${i}` }),
      ),
    ]);
    const [letter] = await readMessages(broker.subscriber(), 'shop.stream.dlq', 1);
    expect(letter?.headers).toMatchObject({
      ce_type: 'shop.OrderPlaced',
      ce_subject: 'poison',
      [DeadLetterHeaders.originalTopic]: 'shop.stream',
      [DeadLetterHeaders.errorClass]: 'TypeError',
      [DeadLetterHeaders.errorMessage]: 'cannot bill poison',
      [DeadLetterHeaders.retryCount]: '2',
    });
    await vi.waitFor(() => expect(handled).toHaveLength(10), { timeout: 5_000 });
    const stats = processor.stats();
    expect(stats).toMatchObject({ handled: 10, failed: 3, retried: 2, deadLettered: 1, inFlight: 0 });
    expect(stats.lastError).toMatchObject({ name: 'TypeError', message: 'cannot bill poison' });
    expect(stats.lastError?.at).toBeInstanceOf(Date);
  });

  it('counts asynchronous handlers as synchronous ones: handled, failed and retried, nothing left in flight', async () => {
    const { events } = setup();
    await using processor = new EventProcessor({
      subscriber: broker.subscriber(),
      topics: events.topics,
      retry: { maxRetries: 1, initialIntervalMs: 1 },
      deadLetter: { publisher: broker.publisher() },
    });
    const handled: string[] = [];
    processor.on(OrderPlaced, async (event) => {
      await Promise.resolve();
      if (event.data.orderId === 'poison') throw new RangeError('async poison');
      handled.push(event.data.orderId);
    });
    void processor.run();
    await events.publish([
      OrderPlaced.create({ orderId: 'poison', total: 1 }, { aggregateId: 'poison' }),
      OrderPlaced.create({ orderId: 'ok', total: 1 }, { aggregateId: 'ok' }),
    ]);
    const [letter] = await readMessages(broker.subscriber(), 'shop.stream.dlq', 1);
    expect(letter?.headers).toMatchObject({ [DeadLetterHeaders.errorClass]: 'RangeError' });
    await vi.waitFor(() => expect(processor.stats()).toMatchObject({ handled: 1, deadLettered: 1, inFlight: 0 }), {
      timeout: 5_000,
    });
    expect(processor.stats()).toMatchObject({ failed: 2, retried: 1, lastError: { message: 'async poison' } });
    expect(handled).toEqual(['ok']);
  });

  it('replays a dead letter through the DeadLetterQueue the user passed in, and the healed handler takes it', async () => {
    const { events } = setup();
    let healed = false;
    const handled: string[] = [];
    await using processor = new EventProcessor({
      subscriber: broker.subscriber(),
      topics: events.topics,
      retry: { maxRetries: 1, initialIntervalMs: 1 },
      deadLetter: { publisher: broker.publisher(), queue: (topic) => broker.deadLetterQueue(topic) },
    });
    processor.on(OrderPlaced, (event) => {
      if (!healed) throw new Error('billing is down');
      handled.push(`${event.data.orderId} ${event.envelope.id}`);
    });
    expect(() =>
      new EventProcessor({ subscriber: broker.subscriber(), topics: events.topics }).deadLetterQueue(OrderPlaced),
    ).toThrow(ConfigError);
    void processor.run();
    const [published] = await events.publish(OrderPlaced.create({ orderId: 'o-1', total: 1 }, { aggregateId: 'o-1' }));
    const queue = processor.deadLetterQueue(OrderPlaced);
    expect(queue.topic).toBe('shop.stream.dlq');
    expect(processor.deadLetterQueue('shop.stream')).toBe(queue);
    await vi.waitFor(async () => expect(await queue.count()).toBe(1), { timeout: 5_000 });
    const [letter] = await queue.list();
    expect(letter?.failure).toMatchObject({
      originalTopic: 'shop.stream',
      errorMessage: 'billing is down',
      attempts: 2,
    });
    healed = true;
    const report = await queue.replay(() => true);
    expect(report.replayed).toHaveLength(1);
    await vi.waitFor(() => expect(handled).toEqual([`o-1 ${published?.id}`]), { timeout: 5_000 });
    // The processor made the queue (through the factory), so its close() closes it.
    await processor.close();
    await expect(queue.count()).rejects.toSatisfy(ClosedError.isInstance);
  });

  it('unknown types: acked and logged by default, dead-lettered or nacked by policy', async () => {
    const { events } = setup();
    const warnings: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (_: unknown, msg?: string) => void warnings.push(msg ?? ''),
      error() {},
    };
    await using acking = new EventProcessor({ subscriber: broker.subscriber(), topics: events.topics, logger });
    acking.group('g').on(OrderShipped, () => {});
    await using dead = new EventProcessor({
      subscriber: broker.subscriber(),
      topics: events.topics,
      groupPrefix: 'dead',
      unknownType: 'dead-letter',
      deadLetter: { publisher: broker.publisher(), topicOf: (topic) => `${topic}.unknown` },
    });
    dead.group('g').on(OrderShipped, () => {});
    await using nacking = new EventProcessor({
      subscriber: broker.subscriber(),
      topics: events.topics,
      groupPrefix: 'nack',
      unknownType: 'nack',
      unknownTypeNackDelayMs: 60_000,
      deadLetter: { publisher: broker.publisher() },
    });
    nacking.group('g').on(OrderShipped, () => {});
    void acking.run();
    void dead.run();
    void nacking.run();
    await events.publish(OrderPlaced.create({ orderId: 'o-1', total: 1 }, { aggregateId: 'o-1' }));
    await vi.waitFor(() => expect(acking.stats().skipped).toBe(1), { timeout: 5_000 });
    expect(warnings).toContain('acking unknown type "shop.OrderPlaced"');
    const [letter] = await readMessages(broker.subscriber(), 'shop.stream.unknown', 1);
    expect(letter?.headers[DeadLetterHeaders.errorCode]).toBe('UNKNOWN_TYPE');
    expect(dead.stats()).toMatchObject({ deadLettered: 1, retried: 0 });
    await vi.waitFor(() => expect(nacking.stats().lastError?.code).toBe('UNKNOWN_TYPE'), { timeout: 5_000 });
    expect(nacking.stats()).toMatchObject({ deadLettered: 0, retried: 0, handled: 0 });
    expect(broker.committedOffsets('shop.stream', 'nack.g')?.reduce((a, b) => a + b, 0) ?? 0).toBe(0);
  });

  it('onAny gets every type of the stream: known ones decoded, unknown ones as bytes', async () => {
    const { events } = setup();
    await using processor = new EventProcessor({ subscriber: broker.subscriber(), topics: events.topics });
    const seen: unknown[] = [];
    processor.group('known').on(OrderShipped, () => {});
    processor.onAny((event) => void seen.push([event.type, event.data]));
    expect(() =>
      new EventProcessor({ subscriber: broker.subscriber(), topics: topics.perType('x') }).onAny(() => {}),
    ).toThrow(ConfigError);
    void processor.run();
    await events.publish([
      OrderShipped.create({ orderId: 'o-1', carrier: 'ups' }, { aggregateId: 'o-1' }),
      OrderPlaced.create({ orderId: 'o-1', total: 2 }, { aggregateId: 'o-1' }),
    ]);
    await vi.waitFor(() => expect(seen).toHaveLength(2), { timeout: 5_000 });
    expect(seen[0]).toEqual(['shop.OrderShipped', { orderId: 'o-1', carrier: 'ups' }]);
    expect(seen[1]).toEqual(['shop.OrderPlaced', new TextEncoder().encode('{"orderId":"o-1","total":2}')]);
  });

  it('runs on a router of the caller, so its middleware applies, and close drains', async () => {
    const { events } = setup();
    const calls: string[] = [];
    const router = new Router({
      middleware: [
        (next) => (m, c) => {
          calls.push(m.headers.ce_type ?? '');
          return next(m, c);
        },
      ],
    });
    const processor = new EventProcessor({ subscriber: broker.subscriber(), topics: events.topics, router });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let finished = 0;
    processor.on(OrderPlaced, async () => {
      await gate;
      finished++;
    });
    void router.run();
    await events.publish(OrderPlaced.create({ orderId: 'o-1', total: 1 }, { aggregateId: 'o-1' }));
    await vi.waitFor(() => expect(processor.stats().inFlight).toBe(1), { timeout: 5_000 });
    const closing = processor.close();
    release();
    const report = await closing;
    expect(report).toMatchObject({ finished: 1, nacked: 0, deadlineReached: false });
    expect(finished).toBe(1);
    expect(calls).toEqual(['shop.OrderPlaced']);
  });

  it('refuses what is not an event, and invalid processor options all at once', async () => {
    const { events } = setup();
    const error = await events.publish({} as never).catch((e: unknown) => e);
    expect(CqrsError.isInstance(error) && error.code).toBe('NOT_A_MESSAGE');
    const sent = await events.publish(PlaceOrder.create({ orderId: 'o', total: 1 }) as never).catch((e: unknown) => e);
    expect(CqrsError.isInstance(sent) && sent.code).toBe('NOT_A_MESSAGE');
    const config = (() => {
      try {
        new EventProcessor({
          subscriber: {} as never,
          topics: 'x' as never,
          concurrency: 0,
          unknownType: 'dead-letter',
        });
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(config)).toBe(true);
    expect((config as ConfigError).issues.map((i) => i.path)).toEqual([
      'subscriber',
      'topics',
      'concurrency',
      'unknownType',
    ]);
  });
});

describe('CommandBus and CommandProcessor', () => {
  it('delivers a command to its one handler', async () => {
    const { commands } = setup(topics.perType('cmd'));
    await using processor = new CommandProcessor({
      subscriber: broker.subscriber(),
      topics: commands.topics,
      expects: [PlaceOrder],
    });
    const seen: number[] = [];
    processor.on(PlaceOrder, (command) => void seen.push(command.data.total));
    void processor.run();
    const envelope = await commands.send(PlaceOrder.create({ orderId: 'o-1', total: 7 }, { aggregateId: 'o-1' }));
    await vi.waitFor(() => expect(seen).toEqual([7]), { timeout: 5_000 });
    expect(envelope.type).toBe('shop.PlaceOrder');
  });

  it('a second handler of a command type is a typed error', () => {
    const { commands } = setup();
    const processor = new CommandProcessor({ subscriber: broker.subscriber(), topics: commands.topics });
    processor.on(PlaceOrder, () => {});
    const error = (() => {
      try {
        processor.on(PlaceOrder, () => {});
      } catch (e) {
        return e;
      }
    })();
    expect(CqrsError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'DUPLICATE_HANDLER', type: 'shop.PlaceOrder' });
  });

  it('an expected command with no handler fails at startup with a typed error, before consuming', async () => {
    const { commands } = setup();
    const processor = new CommandProcessor({
      subscriber: broker.subscriber(),
      topics: commands.topics,
      expects: [PlaceOrder, CancelOrder],
    });
    processor.on(PlaceOrder, () => {});
    const error = await processor.run().catch((e: unknown) => e);
    expect(CqrsError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'NO_HANDLER', type: 'shop.CancelOrder' });
    expect(processor.router.state).toBe('closed');
  });

  it('expects is refused on a router that already runs, since the startup check would come too early', async () => {
    const { commands } = setup();
    const router = new Router();
    router.addConsumerHandler({
      name: 'other',
      subscribeTopic: 'other',
      subscriber: broker.subscriber(),
      handle: () => {},
    });
    void router.run();
    await router.running;
    expect(
      () =>
        new CommandProcessor({
          subscriber: broker.subscriber(),
          topics: commands.topics,
          router,
          expects: [PlaceOrder],
        }),
    ).toThrow(/needs a router that has not started yet/);
    const late = new CommandProcessor({ subscriber: broker.subscriber(), topics: commands.topics, router });
    late.on(PlaceOrder, () => {});
    expect(router.state).toBe('running');
    await router.close();
  });
});
