import { ConfigError, type ConfigIssue, createMessage, TimeoutError, textMessage } from '@bus/core';
import { KafkaPublisher, type KafkaPublisherOptions, type KafkaPublisherStats } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic, endOffsetTotal, readBack } from './publisher-helpers.ts';

const brokers = () => testInfra().kafka.brokers;

/** Tracks the highest pending figures seen in `stats()` samples, taken by the caller at chosen moments. */
function pendingSampler(publisher: KafkaPublisher) {
  const seen = { samples: 0, maxPendingMessages: 0, maxPendingBytes: 0, maxWaitingCalls: 0 };
  const sample = (): KafkaPublisherStats => {
    const stats = publisher.stats();
    seen.samples++;
    seen.maxPendingMessages = Math.max(seen.maxPendingMessages, stats.pendingMessages);
    seen.maxPendingBytes = Math.max(seen.maxPendingBytes, stats.pendingBytes);
    seen.maxWaitingCalls = Math.max(seen.maxWaitingCalls, stats.waitingCalls);
    return stats;
  };
  publisher.on('batch', () => sample());
  return { seen, sample };
}

/** The problems a `ConfigError` from the constructor lists, or none. */
function configIssues(options: Omit<KafkaPublisherOptions, 'brokers'>): readonly ConfigIssue[] {
  try {
    new KafkaPublisher({ brokers: brokers(), ...options });
    return [];
  } catch (error) {
    if (!ConfigError.isInstance(error)) throw error;
    return error.issues;
  }
}

describe('KafkaPublisher pending bound (backpressure)', () => {
  it('rejects bounds that are invalid or smaller than a batch, listing every problem', () => {
    const invalid = configIssues({ maxPendingMessages: 0, maxPendingBytes: 'lots' as unknown as number });
    expect(invalid.map((i) => i.path).sort()).toEqual(['maxPendingBytes', 'maxPendingMessages']);

    expect(configIssues({ maxPendingMessages: 10, batchMaxMessages: 20, batchMaxBytes: 128 * 1024 * 1024 })).toEqual([
      { path: 'maxPendingMessages', message: 'must be at least batchMaxMessages (20)' },
      {
        path: 'batchMaxBytes',
        message: 'must be at most maxPendingBytes (default 67108864); raise maxPendingBytes too',
      },
    ]);
    expect(configIssues({ maxPendingMessages: 20, batchMaxMessages: 20, maxPendingBytes: 1_024 * 1_024 })).toEqual([]);
  });

  it('1,000 un-awaited publishes never exceed maxPendingMessages; every one is sent exactly once', async () => {
    const topic = await createTopic('bp-bound', 3);
    await using publisher = new KafkaPublisher({
      brokers: brokers(),
      lingerMs: 500,
      batchMaxMessages: 25,
      maxPendingMessages: 50,
      maxInFlightBatches: 2,
    });
    await publisher.connect();
    const { seen, sample } = pendingSampler(publisher);
    const total = 1_000;
    const publishes: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      publishes.push(publisher.publish(topic, textMessage(`m${i}`, { key: `k${i % 7}` })));
      if (i % 50 === 0) sample();
    }
    const afterFiring = sample();
    // Everything beyond the bound (and the in-flight batches) waits instead of piling up.
    expect(afterFiring.waitingCalls).toBeGreaterThan(800);
    expect(afterFiring.pendingMessages).toBeLessThanOrEqual(50);

    const results = await Promise.allSettled(publishes);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const stats = sample();
    expect(seen.maxPendingMessages).toBeLessThanOrEqual(50);
    expect(stats.peakPendingMessages).toBeGreaterThan(0);
    expect(stats.peakPendingMessages).toBeLessThanOrEqual(50);
    expect(seen.samples).toBeGreaterThan(total / 25);
    expect(stats).toMatchObject({
      publishCalls: total,
      messagesPublished: total,
      messagesFailed: 0,
      pendingMessages: 0,
      pendingBytes: 0,
      waitingCalls: 0,
    });

    const records = await readBack(topic, total);
    const values = records.map((r) => r.value?.toString()).sort();
    expect(values).toEqual(Array.from({ length: total }, (_, i) => `m${i}`).sort());
    expect(await endOffsetTotal(topic)).toBe(total);
  });

  it('bounds pending bytes the same way', async () => {
    const topic = await createTopic('bp-bytes');
    await using publisher = new KafkaPublisher({
      brokers: brokers(),
      lingerMs: 500,
      batchMaxBytes: 2_048,
      maxPendingBytes: 8_192,
      maxInFlightBatches: 1,
    });
    await publisher.connect();
    const { seen, sample } = pendingSampler(publisher);
    const payload = new Uint8Array(500).fill(66);
    const total = 200;
    const publishes = Array.from({ length: total }, () => publisher.publish(topic, createMessage({ payload })));
    expect(sample().waitingCalls).toBeGreaterThan(0);
    await Promise.all(publishes);
    const stats = sample();
    expect(seen.maxPendingBytes).toBeLessThanOrEqual(8_192);
    expect(stats.peakPendingBytes).toBeGreaterThan(2_048);
    expect(stats.peakPendingBytes).toBeLessThanOrEqual(8_192);
    expect(stats.messagesPublished).toBe(total);
    expect(await endOffsetTotal(topic)).toBe(total);
  });

  it('admits a single call larger than the bound once nothing else is pending, keeping call order', async () => {
    const topic = await createTopic('bp-oversized');
    await using publisher = new KafkaPublisher({
      brokers: brokers(),
      lingerMs: 50,
      batchMaxMessages: 10,
      maxPendingMessages: 10,
      maxInFlightBatches: 1,
    });
    await publisher.connect();
    const before = Array.from({ length: 5 }, (_, i) => publisher.publish(topic, textMessage(`a${i}`)));
    const big = publisher.publish(topic, ...Array.from({ length: 25 }, (_, i) => textMessage(`b${i}`)));
    const after = Array.from({ length: 5 }, (_, i) => publisher.publish(topic, textMessage(`c${i}`)));
    // Small calls that would fit wait behind the big one rather than overtaking it.
    expect(publisher.stats().waitingCalls).toBe(5);

    await Promise.all([...before, big, ...after]);
    expect(publisher.stats()).toMatchObject({ messagesPublished: 35, peakPendingMessages: 25, waitingCalls: 0 });
    const records = await readBack(topic, 35);
    expect(records.map((r) => r.value?.toString())).toEqual([
      ...Array.from({ length: 5 }, (_, i) => `a${i}`),
      ...Array.from({ length: 25 }, (_, i) => `b${i}`),
      ...Array.from({ length: 5 }, (_, i) => `c${i}`),
    ]);
  });

  it('calls stuck behind a full buffer time out with a TimeoutError and are withdrawn unsent', async () => {
    const topic = await createTopic('bp-timeout');
    await using publisher = new KafkaPublisher({
      brokers: brokers(),
      timeoutMs: 1_000,
      lingerMs: 0,
      batchMaxMessages: 1,
      maxPendingMessages: 1,
      maxInFlightBatches: 1,
      allowAutoTopicCreation: false,
      // Keeps the only in-flight slot busy (kafkajs retries the unknown topic) well past timeoutMs.
      retry: { retries: 20, initialRetryTimeMs: 200, maxRetryTimeMs: 300 },
    });
    await publisher.connect();
    const stuck = publisher.publish(uniqueName('bp-missing'), textMessage('stuck'));
    const pending = publisher.publish(topic, textMessage('pending'));
    const waiting = [publisher.publish(topic, textMessage('w1')), publisher.publish(topic, textMessage('w2'))];
    expect(publisher.stats()).toMatchObject({ inFlightBatches: 1, pendingMessages: 1, waitingCalls: 2 });

    const outcomes = await Promise.allSettled([stuck, pending, ...waiting]);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect(TimeoutError.isInstance((outcome as PromiseRejectedResult).reason)).toBe(true);
    }
    // Only the stuck batch was ever handed to kafkajs; the others were withdrawn before sending.
    expect(publisher.stats()).toMatchObject({
      batches: 1,
      messagesFailed: 4,
      pendingMessages: 0,
      waitingCalls: 0,
    });
    expect(await endOffsetTotal(topic)).toBe(0);
  });

  it('close() sends the callers still waiting for room instead of rejecting them', async () => {
    const topic = await createTopic('bp-close');
    const publisher = new KafkaPublisher({
      brokers: brokers(),
      lingerMs: 60_000,
      batchMaxMessages: 10,
      maxPendingMessages: 20,
      maxInFlightBatches: 1,
    });
    await publisher.connect();
    const total = 300;
    const publishes = Array.from({ length: total }, (_, i) => publisher.publish(topic, textMessage(`m${i}`)));
    expect(publisher.stats().waitingCalls).toBeGreaterThan(0);
    await publisher.close();
    const results = await Promise.allSettled(publishes);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(publisher.stats()).toMatchObject({ messagesPublished: total, waitingCalls: 0, pendingMessages: 0 });
    const records = await readBack(topic, total);
    expect(records.map((r) => r.value?.toString())).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
  });
});
