import { textMessage } from '@bus/core';
import { type KafkaConnectionOptions, KafkaErrorCode, KafkaPublisher, KafkaTransportError } from '@bus/kafka';
import { testInfra } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic, readBack } from './publisher-helpers.ts';

const infra = () => testInfra().kafka;
const fastFail = { connectionTimeoutMs: 2_000, retry: { retries: 2, initialRetryTimeMs: 100, maxRetryTimeMs: 300 } };

async function publishAndReadBack(connection: KafkaConnectionOptions, label: string): Promise<void> {
  const topic = await createTopic(`sec-${label}`);
  await using publisher = new KafkaPublisher({ ...connection, ...fastFail });
  await publisher.publish(topic, textMessage(`via ${label}`, { id: label }));
  const [record] = await readBack(topic, 1);
  expect(record?.value?.toString()).toBe(`via ${label}`);
  expect(record?.headers['bus-message-id']).toBe(label);
}

describe('security (real broker listeners)', () => {
  // The shared infra always provides these listeners; a missing one is a setup failure, not a skip.
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`test infra has no ${what}`);
    return value;
  };

  it('SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 with the right credentials publish', async () => {
    const s = need(infra().sasl, 'SASL listener');
    await publishAndReadBack({ brokers: s.brokers, sasl: { mechanism: 'plain', ...s.plain } }, 'plain');
    await publishAndReadBack({ brokers: s.brokers, sasl: { mechanism: 'scram-sha-512', ...s.scram512 } }, 'scram512');
    // Never narrowed silently: an infra without a SCRAM-SHA-256 user fails here, naming what is missing.
    const scram256 = need(
      s.scram256,
      'SCRAM-SHA-256 user on the SASL listener (scripts/infra/infra.sh creates one; an older infra home lacks it: re-create it)',
    );
    await publishAndReadBack({ brokers: s.brokers, sasl: { mechanism: 'scram-sha-256', ...scram256 } }, 'scram256');
  });

  it('a wrong password fails fast with a non-retryable KAFKA_AUTHENTICATION_FAILED', async () => {
    const sasl = need(infra().sasl, 'SASL listener');
    const wrong = 'definitely-not-the-password';
    for (const mechanism of ['plain', 'scram-sha-512'] as const) {
      await using publisher = new KafkaPublisher({
        brokers: sasl.brokers,
        sasl: { mechanism, username: sasl.scram512.username, password: wrong },
        // Generous retries: an authentication failure must not be retried at all.
        retry: { retries: 10, initialRetryTimeMs: 300, maxRetryTimeMs: 2_000 },
      });
      const started = Date.now();
      const error = await publisher.publish('sec-never', textMessage('x')).catch((e: unknown) => e);
      expect(Date.now() - started, mechanism).toBeLessThan(10_000);
      expect(KafkaTransportError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: KafkaErrorCode.AUTHENTICATION_FAILED, isRetryable: false });
      expect((error as Error).message).not.toContain(wrong);
      expect(String((error as Error).stack)).not.toContain(wrong);
    }
  });

  it('TLS with the generated CA publishes', async () => {
    const ssl = need(infra().ssl, 'SSL listener');
    await publishAndReadBack({ brokers: ssl.brokers, ssl: { ca: ssl.caPem } }, 'tls');
  });

  it('mutual TLS with the client certificate publishes; without it the broker refuses', async () => {
    const s = need(infra().ssl, 'SSL listener');
    await publishAndReadBack(
      {
        brokers: need(s.mtlsBrokers, 'mTLS listener'),
        ssl: { ca: s.caPem, cert: need(s.clientCertPem, 'client cert'), key: need(s.clientKeyPem, 'client key') },
      },
      'mtls',
    );
    await using noCert = new KafkaPublisher({
      brokers: need(s.mtlsBrokers, 'mTLS listener'),
      ssl: { ca: s.caPem },
      ...fastFail,
    });
    const error = await noCert.publish('sec-never', textMessage('x')).catch((e: unknown) => e);
    expect(KafkaTransportError.isInstance(error)).toBe(true);
  });

  it('TLS without the right CA is refused with a typed connection error', async () => {
    const ssl = need(infra().ssl, 'SSL listener');
    await using publisher = new KafkaPublisher({ brokers: ssl.brokers, ssl: true, ...fastFail });
    const error = await publisher.publish('sec-never', textMessage('x')).catch((e: unknown) => e);
    expect(KafkaTransportError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: KafkaErrorCode.CONNECTION_FAILED });
  });
});
