import { ConfigError } from '@bus/core';
import { KafkaSubscriber } from '@bus/kafka';
import { describe, expect, it } from 'vitest';
import { resolveSubscriberOptions } from '../src/subscriber-options.js';

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (ConfigError.isInstance(error)) return error.issues.map((issue) => issue.path).sort();
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('KafkaSubscriber options', () => {
  it('applies defaults', () => {
    expect(resolveSubscriberOptions({ brokers: 'localhost:9092' })).toMatchObject({
      groupId: undefined,
      fromBeginning: true,
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 3_000,
      maxInFlightPerPartition: 5_000,
      maxInFlight: 10_000,
      commit: { mode: 'on-ack', everyAcks: 10_000, intervalMs: 100 },
      readUncommitted: false,
      messageIdHeader: 'bus-message-id',
      fetchMaxBytesPerPartition: 1024 * 1024,
      maxInFlightBytes: 64 * 1024 * 1024,
      allowAutoTopicCreation: true,
      topicWaitMs: 10_000,
    });
    expect(resolveSubscriberOptions({ brokers: 'b:1', fromBeginning: false }).fromBeginning).toBe(false);
    expect(resolveSubscriberOptions({ brokers: 'b:1', autoOffsetReset: 'latest' }).fromBeginning).toBe(false);
    expect(resolveSubscriberOptions({ brokers: 'b:1', commit: { mode: 'auto' } }).commit).toEqual({
      mode: 'auto',
      everyAcks: undefined,
      intervalMs: 5_000,
    });
    expect(resolveSubscriberOptions({ brokers: 'b:1', commit: { mode: 'manual' } }).commit.mode).toBe('manual');
  });

  it('reports every problem at once, without echoing secrets', () => {
    let message = '';
    const paths = issuesOf(() => {
      try {
        new KafkaSubscriber({
          brokers: ['nohost'],
          groupId: '',
          autoOffsetReset: 'sideways' as 'latest',
          fromBeginning: 'yes' as unknown as boolean,
          sessionTimeoutMs: 1_000,
          heartbeatIntervalMs: 2_000,
          maxInFlightPerPartition: -1,
          maxInFlight: 1.5,
          commit: { mode: 'on-ack', everyAcks: 0, intervalMs: -5 },
          isolationLevel: 'dirty' as 'read_committed',
          messageIdHeader: '',
          allowAutoTopicCreation: 'no' as unknown as boolean,
          topicWaitMs: -1,
          sasl: { mechanism: 'plain', username: 'u', password: '' },
        });
      } catch (error) {
        message = (error as Error).message;
        throw error;
      }
    });
    expect(paths).toEqual([
      'allowAutoTopicCreation',
      'autoOffsetReset',
      'brokers[0]',
      'commit.everyAcks',
      'commit.intervalMs',
      'fromBeginning',
      'groupId',
      'heartbeatIntervalMs',
      'isolationLevel',
      'maxInFlight',
      'maxInFlightPerPartition',
      'messageIdHeader',
      'sasl.password',
      'topicWaitMs',
    ]);
    expect(message).toContain('14 problems');
  });

  it('rejects contradicting fromBeginning and autoOffsetReset', () => {
    expect(
      issuesOf(() => resolveSubscriberOptions({ brokers: 'b:1', fromBeginning: true, autoOffsetReset: 'latest' })),
    ).toEqual(['fromBeginning']);
  });

  it('needs a group for a subscription and a valid topic, reporting both', () => {
    const subscriber = new KafkaSubscriber({ brokers: 'localhost:9092' });
    expect(issuesOf(() => subscriber.subscribe('bad topic!'))).toEqual(['group', 'topic']);
    // Constructing and subscribing do not connect: nothing to close but the subscriber itself.
    expect(subscriber.subscribe('orders', { group: 'billing' })).toBeDefined();
    return subscriber.close();
  });

  it('ends a subscription whose signal is already aborted without connecting', async () => {
    const subscriber = new KafkaSubscriber({ brokers: '127.0.0.1:1', groupId: 'g' });
    const received: unknown[] = [];
    for await (const message of subscriber.subscribe('orders', { signal: AbortSignal.abort() })) received.push(message);
    expect(received).toEqual([]);
    expect(subscriber.stats()).toMatchObject({ subscriptions: 0, lastError: undefined });
    await subscriber.close();
  });
});
