import { ClosedError, ConfigError, payloadText, type ReceivedMessage, textMessage } from '@bus/core';
import { KafkaErrorCode, KafkaPublisher, KafkaSubscriber, KafkaTransportError } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import kafkajs from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { brokers, committedOffsets, createTopic, nextWithin, waitFor } from './subscriber-helpers.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

function subscriber(options: Partial<ConstructorParameters<typeof KafkaSubscriber>[0]> = {}): KafkaSubscriber {
  const sub = new KafkaSubscriber({
    brokers: brokers(),
    heartbeatIntervalMs: 500,
    sessionTimeoutMs: 10_000,
    ...options,
  });
  closers.push(() => sub.close());
  return sub;
}

async function publish(topic: string, texts: string[], key?: (i: number) => string | Uint8Array): Promise<void> {
  const publisher = new KafkaPublisher({ brokers: brokers() });
  try {
    await publisher.publish(
      topic,
      ...texts.map((text, i) => textMessage(text, key === undefined ? {} : { key: key(i) })),
    );
  } finally {
    await publisher.close();
  }
}

describe('KafkaSubscriber', () => {
  it('delivers every field of a published message and commits after ack', async () => {
    const topic = await createTopic('sub-fields', 1);
    const group = uniqueName('g');
    const publisher = new KafkaPublisher({ brokers: brokers() });
    const binaryKey = new Uint8Array([0xff, 0x00, 0x80]);
    const sent = [
      textMessage('one', {
        key: 'k-1',
        headers: { a: '1', 'content-type': 'text/plain' },
        timestamp: 1_700_000_000_000,
      }),
      textMessage('two', { key: binaryKey }),
      textMessage('three'),
    ];
    await publisher.publish(topic, ...sent);
    await publisher.close();

    const sub = subscriber();
    const commits: number[] = [];
    sub.on('commit', ({ offsets }) => commits.push(...offsets.map((o) => o.offset)));
    const received: ReceivedMessage[] = [];
    for await (const message of sub.subscribe(topic, { group })) {
      received.push(message);
      expect(message.ack()).toBe(true);
      expect(message.ack()).toBe(false);
      if (received.length === 3) break;
    }
    const [one, two, three] = received as [ReceivedMessage, ReceivedMessage, ReceivedMessage];
    expect(one.id).toBe(sent[0]?.id);
    expect(payloadText(one)).toBe('one');
    expect(one.key).toBe('k-1');
    expect(one.headers).toEqual({ a: '1', 'content-type': 'text/plain' });
    expect(one.timestamp).toBe(1_700_000_000_000);
    expect({ topic: one.topic, partition: one.partition, offset: one.offset, attempt: one.deliveryAttempt }).toEqual({
      topic,
      partition: 0,
      offset: 0,
      attempt: 1,
    });
    expect(one.settlement).toBe('acked');
    expect(two.key).toEqual(binaryKey);
    expect(three.key).toBeUndefined();
    expect(three.headers).toEqual({});
    expect(payloadText(three)).toBe('three');
    // Leaving the loop commits the acked prefix before the member leaves.
    expect((await committedOffsets(topic, group)).get(0)).toBe(3);
    expect(commits).toContain(3);
    const stats = sub.stats();
    expect(stats).toMatchObject({ consumed: 3, acked: 3, nacked: 0, inFlight: 0, subscriptions: 0 });
    expect(stats.commits).toBeGreaterThanOrEqual(1);
  });

  it('commits only the contiguous acked prefix when a member stops with unacked messages', async () => {
    const topic = await createTopic('sub-prefix', 1);
    const group = uniqueName('g');
    await publish(topic, ['m0', 'm1', 'm2', 'm3', 'm4']);
    const sub = subscriber();
    let count = 0;
    for await (const message of sub.subscribe(topic, { group })) {
      if (message.offset !== 2) message.ack();
      if (++count === 5) break;
    }
    expect((await committedOffsets(topic, group)).get(0)).toBe(2);

    // The next member of the group starts at the unacked message.
    const second = subscriber();
    const iterator = second.subscribe(topic, { group })[Symbol.asyncIterator]();
    const first = await nextWithin(iterator, 30_000, 'redelivery of m2');
    expect(payloadText(first)).toBe('m2');
    expect(first.offset).toBe(2);
    await iterator.return?.();
  });

  it('redelivers a nacked message before later messages of its partition, counting attempts', async () => {
    const topic = await createTopic('sub-nack', 1);
    const group = uniqueName('g');
    await publish(topic, ['a', 'b', 'c']);
    const sub = subscriber();
    const seen: string[] = [];
    for await (const message of sub.subscribe(topic, { group })) {
      seen.push(`${payloadText(message)}#${message.deliveryAttempt}`);
      if (payloadText(message) === 'b' && message.deliveryAttempt < 3) {
        expect(message.nack({ reason: 'try again' })).toBe(true);
        expect(message.ack()).toBe(false);
        expect(message.settlement).toBe('nacked');
      } else {
        message.ack();
      }
      if (payloadText(message) === 'c') break;
    }
    expect(seen).toEqual(['a#1', 'b#1', 'b#2', 'b#3', 'c#1']);
    expect((await committedOffsets(topic, group)).get(0)).toBe(3);
    expect(sub.stats()).toMatchObject({ nacked: 2, redelivered: 2, acked: 3 });
  });

  it('waits delayMs before redelivering a nacked message, holding back later messages of the partition', async () => {
    const topic = await createTopic('sub-delay', 1);
    const group = uniqueName('g');
    await publish(topic, ['x', 'y']);
    const sub = subscriber();
    const seen: { text: string; at: number }[] = [];
    let nackedAt = 0;
    for await (const message of sub.subscribe(topic, { group })) {
      seen.push({ text: payloadText(message), at: Date.now() });
      if (payloadText(message) === 'x' && message.deliveryAttempt === 1) {
        nackedAt = Date.now();
        message.nack({ delayMs: 300 });
        continue;
      }
      message.ack();
      if (payloadText(message) === 'y') break;
    }
    expect(seen.map((s) => s.text)).toEqual(['x', 'x', 'y']);
    expect((seen[1]?.at ?? 0) - nackedAt).toBeGreaterThanOrEqual(290);
  });

  it('keeps at most maxInFlight records in memory (backpressure on fetching)', async () => {
    const topic = await createTopic('sub-backpressure', 2);
    const group = uniqueName('g');
    await publish(
      topic,
      Array.from({ length: 400 }, (_, i) => `m${i}`),
      (i) => `k${i % 7}`,
    );
    const sub = subscriber({ maxInFlightPerPartition: 10, maxInFlight: 15 });
    let count = 0;
    let peak = 0;
    for await (const message of sub.subscribe(topic, { group })) {
      const { inFlight, buffered } = sub.stats();
      peak = Math.max(peak, inFlight + buffered);
      message.ack();
      if (++count === 400) break;
    }
    expect(peak).toBeLessThanOrEqual(15);
    expect(peak).toBeGreaterThan(1);
    const committed = await committedOffsets(topic, group);
    expect((committed.get(0) ?? 0) + (committed.get(1) ?? 0)).toBe(400);
  });

  it('ends loops on close() and on abort, and refuses new subscriptions after close', async () => {
    const topic = await createTopic('sub-close', 1);
    await publish(topic, ['only']);
    const sub = subscriber();
    const controller = new AbortController();
    const aborted = (async () => {
      let n = 0;
      for await (const message of sub.subscribe(topic, { group: uniqueName('g'), signal: controller.signal })) {
        message.ack();
        n++;
        controller.abort();
      }
      return n;
    })();
    expect(await aborted).toBe(1);

    const looping = (async () => {
      let n = 0;
      for await (const message of sub.subscribe(topic, { group: uniqueName('g') })) {
        message.ack();
        n++;
      }
      return n;
    })();
    await waitFor(() => sub.stats().acked === 2, 'second subscription to receive its message');
    await sub.close();
    expect(await looping).toBe(1);
    expect(() => sub.subscribe(topic, { group: 'x' })).toThrow(ClosedError);
    await sub.close();
  });

  it('rejects a subscription without a group, and bad options all at once', () => {
    const sub = subscriber();
    expect(() => sub.subscribe('orders')).toThrow(ConfigError);
    try {
      new KafkaSubscriber({
        brokers: [],
        maxInFlight: 0,
        commit: { mode: 'sometimes' as 'manual' },
        heartbeatIntervalMs: 50_000,
        autoOffsetReset: 'middle' as 'latest',
      });
      expect.unreachable();
    } catch (error) {
      expect(ConfigError.isInstance(error)).toBe(true);
      const paths = (error as ConfigError).issues.map((i) => i.path).sort();
      expect(paths).toEqual(['autoOffsetReset', 'brokers', 'commit.mode', 'heartbeatIntervalMs', 'maxInFlight']);
    }
  });

  it('fails with a retryable connection error when no broker answers', async () => {
    const sub = subscriber({
      brokers: ['127.0.0.1:1'],
      retry: { retries: 1, initialRetryTimeMs: 50 },
      connectionTimeoutMs: 500,
    });
    const iterator = sub.subscribe('t', { group: 'g' })[Symbol.asyncIterator]();
    const error = await iterator.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(KafkaTransportError.isInstance(error)).toBe(true);
    expect((error as KafkaTransportError).code).toBe(KafkaErrorCode.CONNECTION_FAILED);
    expect((error as KafkaTransportError).isRetryable).toBe(true);
    expect(sub.stats().lastError?.code).toBe(KafkaErrorCode.CONNECTION_FAILED);
  });

  it('manual mode never commits; auto mode commits acked prefixes on its interval', async () => {
    const topic = await createTopic('sub-modes', 1);
    await publish(topic, ['a', 'b', 'c']);
    const manualGroup = uniqueName('manual');
    const manual = subscriber({ commit: { mode: 'manual' } });
    let count = 0;
    for await (const message of manual.subscribe(topic, { group: manualGroup })) {
      message.ack();
      if (++count === 3) break;
    }
    expect(manual.stats().commits).toBe(0);
    expect((await committedOffsets(topic, manualGroup)).get(0) ?? -1).toBe(-1);

    const autoGroup = uniqueName('auto');
    const auto = subscriber({ commit: { mode: 'auto', intervalMs: 200 } });
    const commits: number[] = [];
    auto.on('commit', ({ offsets }) => commits.push(...offsets.map((o) => o.offset)));
    const iterator = auto.subscribe(topic, { group: autoGroup })[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) (await nextWithin(iterator, 30_000, `message ${i}`)).ack();
    // Committed by the interval while the subscription is still running, not by leaving the loop.
    await waitFor(() => commits.includes(3), 'the interval commit');
    expect((await committedOffsets(topic, autoGroup)).get(0)).toBe(3);
    await iterator.return?.();
  });

  it('fails fast with a non-retryable authentication error on a wrong SASL password', async () => {
    const sasl = testInfra().kafka.sasl;
    expect(sasl, 'the test infra provides a SASL listener').toBeDefined();
    if (sasl === undefined) return;
    const secret = 'definitely-wrong-password';
    const sub = subscriber({
      brokers: sasl.brokers,
      sasl: { mechanism: 'scram-sha-512', username: sasl.scram512.username, password: secret },
    });
    const started = Date.now();
    const error = await sub
      .subscribe('t', { group: 'g' })
      [Symbol.asyncIterator]()
      .next()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(KafkaTransportError.isInstance(error)).toBe(true);
    expect((error as KafkaTransportError).code).toBe(KafkaErrorCode.AUTHENTICATION_FAILED);
    expect((error as KafkaTransportError).isRetryable).toBe(false);
    expect((error as Error).message).not.toContain(secret);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('emits connect, rebalance, commit and disconnect events', async () => {
    const topic = await createTopic('sub-events', 2);
    const group = uniqueName('g');
    await publish(topic, ['e1', 'e2']);
    const sub = subscriber();
    const seen: string[] = [];
    let assigned: number[] = [];
    sub.on('connect', (e) => seen.push(`connect:${e.group === group}`));
    sub.on('rebalance', (e) => {
      seen.push('rebalance');
      assigned = e.assigned;
    });
    sub.once('commit', (e) => seen.push(`commit:${e.topic === topic}`));
    sub.on('disconnect', () => seen.push('disconnect'));
    let count = 0;
    for await (const message of sub.subscribe(topic, { group })) {
      message.ack();
      if (++count === 2) break;
    }
    expect(assigned).toEqual([0, 1]);
    expect(seen).toEqual(expect.arrayContaining(['connect:true', 'rebalance', 'commit:true', 'disconnect']));
    expect(seen.indexOf('connect:true')).toBeLessThan(seen.indexOf('rebalance'));
    expect(sub.stats().rebalances).toBe(1);
  });

  it('pauses only a partition stuck behind a delayed redelivery; the others keep flowing', async () => {
    const topic = await createTopic('sub-stuck', 2);
    const group = uniqueName('g');
    const producer = new kafkajs.Kafka({ brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING }).producer();
    await producer.connect();
    for (const partition of [0, 1]) {
      await producer.send({
        topic,
        messages: Array.from({ length: 200 }, (_, i) => ({ partition, value: `p${partition}-${i}` })),
      });
    }
    await producer.disconnect();
    const sub = subscriber({ maxInFlightPerPartition: 20, maxInFlight: 40 });
    const order: string[] = [];
    let p1Done = 0;
    for await (const message of sub.subscribe(topic, { group })) {
      const text = payloadText(message);
      order.push(text);
      if (text === 'p0-0' && message.deliveryAttempt === 1) {
        // Partition 0 waits 1.5 s for this redelivery; partition 1 must not.
        message.nack({ delayMs: 1_500 });
        continue;
      }
      message.ack();
      if (message.partition === 1) p1Done++;
      if (order.filter((t) => t.startsWith('p0-')).length === 201 && p1Done === 200) break;
    }
    const redelivery = order.lastIndexOf('p0-0');
    expect(order.indexOf('p1-199')).toBeLessThan(redelivery);
    // Nothing of partition 0 overtook its redelivered head.
    expect(order.slice(0, redelivery).filter((t) => t.startsWith('p0-') && t !== 'p0-0')).toEqual([]);
    expect(order.slice(redelivery + 1).filter((t) => t.startsWith('p0-'))).toEqual(
      Array.from({ length: 199 }, (_, i) => `p0-${i + 1}`),
    );
  });

  it("starts a new group at the end of the topic with autoOffsetReset 'latest'", async () => {
    const topic = await createTopic('sub-latest', 1);
    await publish(topic, ['old-1', 'old-2']);
    const sub = subscriber({ autoOffsetReset: 'latest' });
    const iterator = sub.subscribe(topic, { group: uniqueName('latest') })[Symbol.asyncIterator]();
    const first = iterator.next();
    // kafkajs resolves "latest" at the member's first fetch, so keep publishing until one arrives:
    // whatever arrives first must be new, never one published before the group existed.
    let received: IteratorResult<ReceivedMessage> | undefined;
    for (let i = 0; received === undefined && i < 60; i++) {
      await publish(topic, [`new-${i}`]);
      received = await Promise.race([
        first,
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 500)),
      ]);
    }
    expect(received?.done).toBe(false);
    expect(payloadText(received?.value as ReceivedMessage)).toMatch(/^new-/);
    await iterator.return?.();
  });

  it('subscribing to a topic that does not exist yet waits for the broker to create it, then consumes', async () => {
    const topic = uniqueName('not-yet');
    const sub = subscriber({ groupId: uniqueName('g') });
    const assigned = new Promise<number[]>((resolve) => sub.once('rebalance', (event) => resolve(event.assigned)));
    const iterator = sub.subscribe(topic)[Symbol.asyncIterator]();
    const first = iterator.next();
    // The group was joined with the partitions of a topic the subscription itself had auto-created.
    expect((await assigned).length).toBeGreaterThan(0);
    await publish(topic, ['hello']);
    const result = await first;
    expect(result.done).toBe(false);
    expect(payloadText(result.value as ReceivedMessage)).toBe('hello');
    (result.value as ReceivedMessage).ack();
    await iterator.return?.();
  });

  it('a missing topic that is not auto-created fails with KAFKA_UNKNOWN_TOPIC after topicWaitMs', async () => {
    const topic = uniqueName('never');
    const sub = subscriber({ groupId: uniqueName('g'), allowAutoTopicCreation: false, topicWaitMs: 300 });
    const error = await sub
      .subscribe(topic)
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(KafkaTransportError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: KafkaErrorCode.UNKNOWN_TOPIC, topic, isRetryable: false });
    // Nothing was created on the way.
    const admin = new kafkajs.Kafka({ brokers: brokers(), logLevel: kafkajs.logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      expect(await admin.listTopics()).not.toContain(topic);
    } finally {
      await admin.disconnect();
    }
  });
});
