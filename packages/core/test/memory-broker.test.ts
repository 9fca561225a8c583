import {
  ClosedError,
  ConfigError,
  createMessage,
  kafkaPartitionForKey,
  type Logger,
  MemoryBroker,
  PublishError,
  type ReadyTaker,
  type ReceivedMessage,
  takeReady,
  textMessage,
} from '@bus/core';
import { afterEach, describe, expect, it, vi } from 'vitest';

const PENDING = Symbol('pending');

/** The value of `promise` if it is already settled, else PENDING (no waiting: memory delivery is synchronous). */
function peek<T>(promise: Promise<T>): Promise<T | typeof PENDING> {
  return Promise.race([promise, Promise.resolve(PENDING)]);
}

function member(broker: MemoryBroker, topic: string, group: string): AsyncIterator<ReceivedMessage> {
  return broker.subscriber().subscribe(topic, { group })[Symbol.asyncIterator]();
}

async function take(iterator: AsyncIterator<ReceivedMessage>): Promise<ReceivedMessage> {
  const result = await iterator.next();
  if (result.done) throw new Error('subscription ended');
  return result.value;
}

function text(message: ReceivedMessage): string {
  return new TextDecoder().decode(message.payload);
}

/** A key that lands on `partition` of `partitions`, found with Kafka's partitioner. */
function keyFor(partition: number, partitions: number): string {
  for (let i = 0; ; i++) if (kafkaPartitionForKey(`k${i}`, partitions) === partition) return `k${i}`;
}

function recordingLogger(): Logger & { warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const noop = () => {};
  return {
    warnings,
    debug: noop,
    info: noop,
    error: noop,
    warn: (fields: Record<string, unknown> | string) => {
      if (typeof fields === 'object') warnings.push(fields);
    },
  };
}

let broker: MemoryBroker;
afterEach(async () => {
  vi.useRealTimers();
  await broker?.close();
});

describe('MemoryBroker options', () => {
  it('reports every invalid option at once', () => {
    let error: unknown;
    try {
      broker = new MemoryBroker({
        defaultPartitions: 0,
        maxInFlight: 1.5,
        rebalanceTimeoutMs: -1,
        retention: { messages: 0, bytes: -1, ageMs: Number.NaN },
        logger: {} as Logger,
      });
    } catch (thrown) {
      error = thrown;
    }
    expect(ConfigError.isInstance(error)).toBe(true);
    const paths = (error as ConfigError).issues.map((issue) => issue.path).sort();
    expect(paths).toEqual([
      'defaultPartitions',
      'logger',
      'maxInFlight',
      'rebalanceTimeoutMs',
      'retention.ageMs',
      'retention.bytes',
      'retention.messages',
    ]);
    broker = new MemoryBroker();
  });

  it('creates topics idempotently and rejects a conflicting partition count or a bad name', () => {
    broker = new MemoryBroker();
    broker.createTopic('orders', { partitions: 3 });
    broker.createTopic('orders', { partitions: 3 });
    expect(broker.describeTopic('orders')).toHaveLength(3);
    expect(() => broker.createTopic('orders', { partitions: 2 })).toThrow(/already exists with 3 partitions/);
    expect(() => broker.createTopic('bad name!', { partitions: 0 })).toThrow(ConfigError);
    expect(broker.describeTopic('missing')).toBeUndefined();
  });
});

describe('MemoryBroker partitioning', () => {
  it("places keys with Kafka's murmur2 partitioner", async () => {
    // Kafka's UtilsTest vectors: with 2^31-1 partitions the partition is toPositive(murmur2(key)).
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
      ['', 275646681],
    ];
    for (const [key, hash] of vectors) expect(kafkaPartitionForKey(key, 0x7fffffff), key).toBe(hash & 0x7fffffff);
    expect(kafkaPartitionForKey(new TextEncoder().encode('foobar'), 7)).toBe(kafkaPartitionForKey('foobar', 7));

    broker = new MemoryBroker();
    broker.createTopic('keyed', { partitions: 6 });
    const keys = Array.from({ length: 30 }, (_, i) => `customer-${i}`);
    await broker.publisher().publish('keyed', ...keys.map((key) => textMessage(key, { key })));
    const iterator = member(broker, 'keyed', 'g');
    for (let i = 0; i < keys.length; i++) {
      const message = await take(iterator);
      expect(message.partition).toBe(kafkaPartitionForKey(text(message), 6));
      message.ack();
    }
  });

  it('spreads keyless messages round-robin', async () => {
    broker = new MemoryBroker({ defaultPartitions: 3 });
    await broker.publisher().publish('rr', ...Array.from({ length: 9 }, (_, i) => textMessage(String(i))));
    expect(broker.describeTopic('rr')?.map((p) => p.end)).toEqual([3, 3, 3]);
  });
});

describe('MemoryBroker publishing', () => {
  it('rejects invalid topics and messages with typed errors, storing nothing of a bad batch', async () => {
    broker = new MemoryBroker();
    const publisher = broker.publisher();
    const badTopic = await publisher.publish('no spaces', textMessage('x')).catch((error: unknown) => error);
    expect(PublishError.isInstance(badTopic) && badTopic.code).toBe('INVALID_TOPIC');
    const bad = { id: 'b', payload: 'not bytes', headers: { secret: 42 } } as unknown as ReturnType<typeof textMessage>;
    const badMessage = await publisher.publish('t', textMessage('ok'), bad).catch((error: unknown) => error);
    expect(PublishError.isInstance(badMessage) && badMessage.code).toBe('INVALID_MESSAGE');
    expect(String((badMessage as Error).message)).toContain('messages[1].payload');
    expect(String((badMessage as Error).message)).not.toContain('42');
    expect(broker.describeTopic('t')).toBeUndefined();
  });

  it('isolates stored bytes from later changes by the producer or a consumer', async () => {
    broker = new MemoryBroker();
    const payload = new Uint8Array([1, 2, 3]);
    const key = new Uint8Array([9, 9]);
    await broker.publisher().publish('iso', createMessage({ payload, key }));
    payload[0] = 100;
    key[0] = 100;
    const first = await take(member(broker, 'iso', 'a'));
    expect([...first.payload]).toEqual([1, 2, 3]);
    expect([...(first.key as Uint8Array)]).toEqual([9, 9]);
    first.payload[1] = 100;
    const second = await take(member(broker, 'iso', 'b'));
    expect([...second.payload]).toEqual([1, 2, 3]);
  });

  it('rejects publish and subscribe after the broker closes, and ends running subscriptions', async () => {
    broker = new MemoryBroker();
    const subscriber = broker.subscriber();
    const iterator = subscriber.subscribe('c', { group: 'g' })[Symbol.asyncIterator]();
    const pending = iterator.next();
    const publisher = broker.publisher();
    await broker.close();
    expect(await pending).toEqual({ done: true, value: undefined });
    await expect(publisher.publish('c', textMessage('late'))).rejects.toSatisfy(ClosedError.isInstance);
    expect(() => subscriber.subscribe('c', { group: 'g' })).toThrow(ClosedError);
    expect(broker.closed).toBe(true);
  });

  it('rejects invalid subscribe options with every problem listed', () => {
    broker = new MemoryBroker();
    const subscriber = broker.subscriber();
    let error: unknown;
    try {
      subscriber.subscribe('', { group: '', signal: 'nope' as unknown as AbortSignal });
    } catch (thrown) {
      error = thrown;
    }
    expect((error as ConfigError).issues.map((issue) => issue.path)).toEqual(['topic', 'group', 'signal']);
  });
});

describe('MemoryBroker retention', () => {
  it('keeps at most `messages` per partition, so late groups start at the oldest retained', async () => {
    broker = new MemoryBroker({ retention: { messages: 5 } });
    await broker.publisher().publish('r', ...Array.from({ length: 10 }, (_, i) => textMessage(String(i))));
    expect(broker.describeTopic('r')).toEqual([{ start: 5, end: 10 }]);
    const iterator = member(broker, 'r', 'late');
    const first = await take(iterator);
    expect([first.offset, text(first)]).toEqual([5, '5']);
  });

  it('keeps at most `bytes` per partition, but always the newest message', async () => {
    broker = new MemoryBroker({ retention: { bytes: 100 } });
    const publisher = broker.publisher();
    await publisher.publish('b', ...Array.from({ length: 5 }, () => createMessage({ payload: new Uint8Array(30) })));
    expect(broker.describeTopic('b')).toEqual([{ start: 2, end: 5 }]);
    await publisher.publish('b', createMessage({ payload: new Uint8Array(500) }));
    expect(broker.describeTopic('b')).toEqual([{ start: 5, end: 6 }]);
  });

  it('drops messages older than `ageMs`', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    broker = new MemoryBroker({ retention: { ageMs: 1000 } });
    const publisher = broker.publisher();
    await publisher.publish('a', textMessage('old-1'), textMessage('old-2'));
    vi.setSystemTime(1_000_500);
    await publisher.publish('a', textMessage('recent'));
    vi.setSystemTime(1_001_200);
    expect(broker.describeTopic('a')).toEqual([{ start: 2, end: 3 }]);
    expect(text(await take(member(broker, 'a', 'g')))).toBe('recent');
  });

  it('warns when a group loses messages it had not consumed', async () => {
    const logger = recordingLogger();
    broker = new MemoryBroker({ retention: { messages: 3 }, logger });
    const iterator = member(broker, 'lag', 'slow');
    const publisher = broker.publisher();
    await publisher.publish('lag', textMessage('0'));
    const first = await take(iterator);
    await publisher.publish('lag', ...Array.from({ length: 9 }, (_, i) => textMessage(String(i + 1))));
    first.ack();
    const next = await take(iterator);
    expect(text(next)).toBe('7');
    expect(logger.warnings).toEqual([expect.objectContaining({ topic: 'lag', group: 'slow', partition: 0, count: 6 })]);
  });
  it('skips, with a warning, a nacked message that retention dropped before its redelivery', async () => {
    const logger = recordingLogger();
    broker = new MemoryBroker({ retention: { messages: 2 }, logger });
    const publisher = broker.publisher();
    await publisher.publish('gone', textMessage('0'));
    const iterator = member(broker, 'gone', 'g');
    const first = await take(iterator);
    await publisher.publish('gone', ...['1', '2', '3', '4'].map((t) => textMessage(t)));
    first.nack();
    const next = await take(iterator);
    expect([next.offset, text(next)]).toEqual([3, '3']);
    const lost = logger.warnings.reduce((sum, fields) => sum + (fields.count as number), 0);
    expect(lost).toBe(3);
  });
});

describe('MemoryBroker delivery', () => {
  it('never gives a member more than maxInFlight unsettled messages', async () => {
    broker = new MemoryBroker({ maxInFlight: 3 });
    await broker.publisher().publish('bp', ...Array.from({ length: 10 }, (_, i) => textMessage(String(i))));
    const iterator = member(broker, 'bp', 'g');
    const held = [await take(iterator), await take(iterator), await take(iterator)];
    const fourth = iterator.next();
    expect(await peek(fourth)).toBe(PENDING);
    held[1]?.ack();
    const result = await peek(fourth);
    expect(result !== PENDING && !result.done && text(result.value)).toBe('3');
  });

  it('commits only the contiguous acked prefix', async () => {
    broker = new MemoryBroker();
    await broker.publisher().publish('c', ...Array.from({ length: 5 }, (_, i) => textMessage(String(i))));
    const iterator = member(broker, 'c', 'g');
    const messages = await Promise.all(Array.from({ length: 5 }, () => take(iterator)));
    messages[1]?.ack();
    messages[2]?.ack();
    expect(broker.committedOffsets('c', 'g')).toEqual([0]);
    messages[0]?.ack();
    expect(broker.committedOffsets('c', 'g')).toEqual([3]);
    messages[4]?.ack();
    expect(broker.committedOffsets('c', 'g')).toEqual([3]);
    messages[3]?.ack();
    expect(broker.committedOffsets('c', 'g')).toEqual([5]);
  });

  it('seeks back on nack: the nacked message comes next, acked or held ones are not repeated', async () => {
    broker = new MemoryBroker();
    await broker.publisher().publish('s', ...Array.from({ length: 5 }, (_, i) => textMessage(String(i), { key: 'k' })));
    const iterator = member(broker, 's', 'g');
    const [m0, m1, m2] = [await take(iterator), await take(iterator), await take(iterator)];
    m1?.ack();
    expect(m0?.nack()).toBe(true);
    const again = await take(iterator);
    expect([text(again), again.deliveryAttempt]).toEqual(['0', 2]);
    // m1 was acked and m2 is still held: delivery resumes after them.
    expect(text(await take(iterator))).toBe('3');
    expect(m2?.nack()).toBe(true);
    expect(text(await take(iterator))).toBe('2');
    // 3 is still held, so the member moves on to 4.
    expect(text(await take(iterator))).toBe('4');
  });

  it('delays redelivery by delayMs without holding up other partitions', async () => {
    broker = new MemoryBroker();
    broker.createTopic('d', { partitions: 2 });
    const publisher = broker.publisher();
    await publisher.publish('d', textMessage('slow', { key: keyFor(0, 2) }));
    const iterator = member(broker, 'd', 'g');
    const slow = await take(iterator);
    const nackedAt = performance.now();
    slow.nack({ delayMs: 60 });
    await publisher.publish('d', textMessage('other', { key: keyFor(1, 2) }));
    const other = await take(iterator);
    expect(text(other)).toBe('other');
    other.ack();
    const redelivered = await take(iterator);
    expect(text(redelivered)).toBe('slow');
    expect(performance.now() - nackedAt).toBeGreaterThanOrEqual(55);
    expect(redelivered.deliveryAttempt).toBe(2);
    expect(() => redelivered.nack({ delayMs: -1 })).toThrow(ConfigError);
    expect(() => redelivered.nack({ delayMs: 2 ** 31 })).toThrow(/delayMs/);
    expect(redelivered.settlement).toBe('pending');
  });

  it('fans out to subscriptions without a group, and shares among a subscriber default group', async () => {
    broker = new MemoryBroker();
    const publisher = broker.publisher();
    await publisher.publish('f', textMessage('one'));
    const anonymous = broker.subscriber();
    const a = anonymous.subscribe('f')[Symbol.asyncIterator]();
    const b = anonymous.subscribe('f')[Symbol.asyncIterator]();
    expect(text(await take(a))).toBe('one');
    expect(text(await take(b))).toBe('one');
    const shared = broker.subscriber({ group: 'team' });
    const first = shared.subscribe('f')[Symbol.asyncIterator]();
    const second = shared.subscribe('f')[Symbol.asyncIterator]();
    expect(text(await take(first))).toBe('one');
    expect(await peek(second.next())).toBe(PENDING);
  });
});

describe('MemoryBroker rebalancing', () => {
  it('assigns partition p to member p mod n and takes partitions back when a member leaves', async () => {
    broker = new MemoryBroker();
    broker.createTopic('rb', { partitions: 4 });
    const publisher = broker.publisher();
    const publishRound = (round: number) =>
      publisher.publish('rb', ...[0, 1, 2, 3].map((p) => textMessage(`${round}-${p}`, { key: keyFor(p, 4) })));
    const a = member(broker, 'rb', 'g');
    const b = member(broker, 'rb', 'g');
    const pendingA = a.next();
    const pendingB = b.next();
    await publishRound(1);
    const partitionsOf = async (
      iterator: AsyncIterator<ReceivedMessage>,
      first: Promise<IteratorResult<ReceivedMessage>>,
      count: number,
    ) => {
      const got: number[] = [];
      let next = first;
      for (let i = 0; i < count; i++) {
        const result = await next;
        if (result.done) throw new Error('ended');
        got.push(result.value.partition);
        result.value.ack();
        if (i < count - 1) next = iterator.next();
      }
      return got.sort();
    };
    expect(await partitionsOf(a, pendingA, 2)).toEqual([0, 2]);
    expect(await partitionsOf(b, pendingB, 2)).toEqual([1, 3]);
    await b.return?.();
    await publishRound(2);
    expect(await partitionsOf(a, a.next(), 4)).toEqual([0, 1, 2, 3]);
  });

  it('moves a partition to a joining member only after the old owner settled what it holds', async () => {
    broker = new MemoryBroker();
    broker.createTopic('h', { partitions: 2 });
    const publisher = broker.publisher();
    const key1 = keyFor(1, 2);
    await publisher.publish('h', textMessage('p1-a', { key: key1 }));
    const a = member(broker, 'h', 'g');
    const held = await take(a);
    expect(held.partition).toBe(1);
    const b = member(broker, 'h', 'g');
    const pendingB = b.next();
    await publisher.publish('h', textMessage('p1-b', { key: key1 }));
    expect(await peek(pendingB)).toBe(PENDING);
    held.ack();
    const result = await pendingB;
    expect(!result.done && text(result.value)).toBe('p1-b');
  });

  it('moves a partition anyway when its old owner holds messages past rebalanceTimeoutMs', async () => {
    const logger = recordingLogger();
    broker = new MemoryBroker({ rebalanceTimeoutMs: 50, maxInFlight: 1, logger });
    broker.createTopic('t', { partitions: 2 });
    const publisher = broker.publisher();
    await publisher.publish('t', textMessage('held', { key: keyFor(1, 2) }));
    const a = member(broker, 't', 'g');
    const held = await take(a);
    const b = member(broker, 't', 'g');
    const startedAt = performance.now();
    const redelivered = await take(b);
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(45);
    expect([text(redelivered), redelivered.deliveryAttempt]).toEqual(['held', 2]);
    expect(held.ack()).toBe(false);
    expect(logger.warnings).toEqual([expect.objectContaining({ topic: 't', partition: 1, group: 'g', held: 1 })]);
    // The old owner got its capacity back: with maxInFlight 1 it can take its own partition's next message.
    await publisher.publish('t', textMessage('mine', { key: keyFor(0, 2) }));
    expect(text(await take(a))).toBe('mine');
  });

  it('gives a leaving member’s unsettled messages to another member; its late acks no longer count', async () => {
    broker = new MemoryBroker();
    await broker.publisher().publish('l', textMessage('x'), textMessage('y'));
    const a = member(broker, 'l', 'g');
    const x = await take(a);
    const b = member(broker, 'l', 'g');
    const pendingB = b.next();
    await a.return?.();
    expect(x.ack()).toBe(false);
    expect(x.settlement).toBe('pending');
    const result = await pendingB;
    expect(!result.done && [text(result.value), result.value.deliveryAttempt]).toEqual(['x', 2]);
  });

  it('ends a subscription when its signal aborts, handing its partitions on', async () => {
    broker = new MemoryBroker();
    await broker.publisher().publish('ab', textMessage('x'));
    const controller = new AbortController();
    const a = broker.subscriber().subscribe('ab', { group: 'g', signal: controller.signal })[Symbol.asyncIterator]();
    await take(a);
    const pending = a.next();
    controller.abort();
    expect((await pending).done).toBe(true);
    expect(text(await take(member(broker, 'ab', 'g')))).toBe('x');
  });
});

describe('MemoryBroker takeReady', () => {
  it('hands ready messages out synchronously once joined, after readers waiting in next(), and none after the end', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 1 });
    const iterator = member(broker, 'ready', 'g') as AsyncIterator<ReceivedMessage> & ReadyTaker;
    // Not joined before the first next(): nothing to take, and no partition is claimed.
    expect(iterator[takeReady]()).toBeUndefined();
    const waiting = iterator.next();
    expect(iterator[takeReady]()).toBeUndefined();
    await broker.publisher().publish('ready', textMessage('a'), textMessage('b'), textMessage('c'));
    const first = await waiting;
    expect(first.done).toBe(false);
    expect(text(first.value as ReceivedMessage)).toBe('a');
    const rest = [iterator[takeReady](), iterator[takeReady]()];
    expect(rest.map((m) => (m === undefined ? undefined : text(m)))).toEqual(['b', 'c']);
    expect(iterator[takeReady]()).toBeUndefined();
    for (const message of [first.value as ReceivedMessage, ...rest]) message?.ack();
    await iterator.return?.();
    await broker.publisher().publish('ready', textMessage('d'));
    expect(iterator[takeReady]()).toBeUndefined();
  });
});
