import { createMessage, textMessage } from '@bus/core';
import { KafkaErrorCode, KafkaPublisher, KafkaTransportError } from '@bus/kafka';
import { testInfra } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic, readBack } from './publisher-helpers.ts';

const brokers = () => testInfra().kafka.brokers;

describe('KafkaPublisher batching (real broker)', () => {
  it('coalesces concurrent publish() calls into few batches, each caller settling', async () => {
    const topic = await createTopic('batch-coalesce', 3);
    await using publisher = new KafkaPublisher({ brokers: brokers(), lingerMs: 20 });
    await publisher.connect();
    const calls = 300;
    const results = await Promise.allSettled(
      Array.from({ length: calls }, (_, i) => publisher.publish(topic, textMessage(`m${i}`, { key: `k${i % 17}` }))),
    );
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
    const stats = publisher.stats();
    expect(stats.publishCalls).toBe(calls);
    expect(stats.messagesPublished).toBe(calls);
    expect(stats.batches).toBeLessThan(calls / 10);
    const records = await readBack(topic, calls);
    expect(new Set(records.map((r) => r.value?.toString())).size).toBe(calls);
  });

  it('coalesces calls of one tick even with lingerMs 0, and respects batchMaxMessages', async () => {
    const topic = await createTopic('batch-linger0');
    await using publisher = new KafkaPublisher({ brokers: brokers(), lingerMs: 0, batchMaxMessages: 25 });
    await publisher.connect();
    const sizes: number[] = [];
    publisher.on('batch', (b) => sizes.push(b.messages));
    await Promise.all(Array.from({ length: 100 }, (_, i) => publisher.publish(topic, textMessage(`m${i}`))));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(25);
    expect(sizes.length).toBeLessThan(100);
  });

  it('flush() sends lingering publishes at once and waits for them', async () => {
    const topic = await createTopic('batch-flush');
    await using publisher = new KafkaPublisher({ brokers: brokers(), lingerMs: 60_000 });
    let settled = 0;
    const publishes = Array.from({ length: 5 }, (_, i) =>
      publisher.publish(topic, textMessage(`m${i}`)).then(() => settled++),
    );
    await publisher.flush();
    expect(settled).toBe(5);
    await Promise.all(publishes);
    expect(publisher.stats()).toMatchObject({ batches: 1, pendingMessages: 0, inFlightBatches: 0 });
  });

  it('keeps at most maxInFlightBatches batches in flight', async () => {
    const topic = await createTopic('batch-inflight');
    await using publisher = new KafkaPublisher({
      brokers: brokers(),
      lingerMs: 0,
      batchMaxMessages: 5,
      maxInFlightBatches: 2,
    });
    await publisher.connect();
    let maxSeen = 0;
    const sample = () => {
      maxSeen = Math.max(maxSeen, publisher.stats().inFlightBatches);
    };
    publisher.on('batch', sample);
    const publishes = Array.from({ length: 60 }, (_, i) => publisher.publish(topic, textMessage(`m${i}`)));
    sample();
    await Promise.all(publishes);
    expect(maxSeen).toBeGreaterThan(0);
    expect(maxSeen).toBeLessThanOrEqual(2);
    expect(publisher.stats().batches).toBeGreaterThanOrEqual(12);
  });

  it('rejects only the callers whose messages fail; others in the same batch succeed', async () => {
    const small = await createTopic('batch-small', 1, { 'max.message.bytes': '1024' });
    const other = await createTopic('batch-other');
    await using publisher = new KafkaPublisher({ brokers: brokers(), lingerMs: 50 });
    await publisher.connect();
    let batchErrors = 0;
    publisher.on('batchError', () => batchErrors++);
    const oversized = createMessage({ payload: new Uint8Array(2048).fill(65) });
    const [okSmall, tooLarge, okOther, badTopic] = await Promise.allSettled([
      publisher.publish(small, textMessage('fits')),
      publisher.publish(small, oversized),
      publisher.publish(other, textMessage('other topic')),
      publisher.publish('bad topic name!', textMessage('x')),
    ]);
    expect(okSmall.status).toBe('fulfilled');
    expect(okOther.status).toBe('fulfilled');
    expect(tooLarge.status).toBe('rejected');
    const error = (tooLarge as PromiseRejectedResult).reason;
    expect(KafkaTransportError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: KafkaErrorCode.MESSAGE_TOO_LARGE, isRetryable: false, limitBytes: 1024 });
    expect(error.message).toContain('1024 bytes');
    expect(badTopic.status).toBe('rejected');
    expect((badTopic as PromiseRejectedResult).reason).toMatchObject({ code: KafkaErrorCode.INVALID_TOPIC });
    expect(batchErrors).toBe(1);
    expect((await readBack(small, 1))[0]?.value?.toString()).toBe('fits');
    expect(publisher.stats()).toMatchObject({ messagesPublished: 2, messagesFailed: 1 });
  });
});
