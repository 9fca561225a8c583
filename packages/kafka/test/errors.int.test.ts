import { TimeoutError, textMessage } from '@bus/core';
import { KafkaErrorCode, KafkaPublisher, KafkaTransportError } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';

describe('KafkaPublisher failures (real broker / real sockets)', () => {
  it('an unreachable broker gives a retryable KAFKA_CONNECTION_FAILED within the connection budget', async () => {
    await using publisher = new KafkaPublisher({
      brokers: '127.0.0.1:1',
      connectionTimeoutMs: 500,
      retry: { retries: 1, initialRetryTimeMs: 50, maxRetryTimeMs: 100 },
    });
    const started = Date.now();
    const error = await publisher.publish('any-topic', textMessage('x')).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(KafkaTransportError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: KafkaErrorCode.CONNECTION_FAILED, isRetryable: true });
    expect(publisher.stats()).toMatchObject({ connected: false, messagesFailed: 1 });
  });

  it('a publish that cannot complete in timeoutMs rejects with a TimeoutError', async () => {
    await using publisher = new KafkaPublisher({
      brokers: '127.0.0.1:1',
      timeoutMs: 300,
      connectionTimeoutMs: 200,
      retry: { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 200 },
    });
    const started = Date.now();
    const error = await publisher.publish('any-topic', textMessage('x')).catch((e: unknown) => e);
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'TIMEOUT', timeoutMs: 300, isRetryable: true });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a missing topic with auto-creation off gives KAFKA_UNKNOWN_TOPIC', async () => {
    await using publisher = new KafkaPublisher({
      brokers: testInfra().kafka.brokers,
      allowAutoTopicCreation: false,
      retry: { retries: 1, initialRetryTimeMs: 50, maxRetryTimeMs: 100 },
    });
    const topic = uniqueName('missing');
    const error = await publisher.publish(topic, textMessage('x')).catch((e: unknown) => e);
    expect(KafkaTransportError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: KafkaErrorCode.UNKNOWN_TOPIC, topic });
  });
});
