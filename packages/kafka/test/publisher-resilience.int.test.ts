import { TimeoutError, textMessage } from '@bus/core';
import { KafkaPublisher } from '@bus/kafka';
import { startDedicatedKafka, uniqueName } from '@bus/test-infra';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { readBack } from './publisher-helpers.ts';

describe('KafkaPublisher across a broker restart (dedicated broker)', () => {
  it('a publish made while the broker is down completes once it is back; short deadlines fail typed', async () => {
    await using kafka = await startDedicatedKafka();
    const raw = new kafkajs.Kafka({ brokers: kafka.brokers, logLevel: kafkajs.logLevel.NOTHING });
    const topic = uniqueName('pub-restart');
    const admin = raw.admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1, replicationFactor: 1 }] });
    await admin.disconnect();

    // Patient: rides out the restart. Impatient: must fail with a typed timeout, not hang.
    await using patient = new KafkaPublisher({
      brokers: kafka.brokers,
      timeoutMs: 120_000,
      retry: { retries: 100, initialRetryTimeMs: 200, maxRetryTimeMs: 1_000 },
    });
    await using impatient = new KafkaPublisher({
      brokers: kafka.brokers,
      timeoutMs: 1_000,
      retry: { retries: 100, initialRetryTimeMs: 200, maxRetryTimeMs: 1_000 },
    });
    await patient.publish(topic, textMessage('before'));
    await impatient.publish(topic, textMessage('impatient-before'));

    await kafka.stop();
    const during = patient.publish(topic, textMessage('during'));
    const tooLate = await impatient.publish(topic, textMessage('never-awaited')).catch((e: unknown) => e);
    expect(TimeoutError.isInstance(tooLate)).toBe(true);

    await kafka.start();
    await during;
    await patient.publish(topic, textMessage('after'));

    // The timed-out publish may still have been stored once the broker came back (at-least-once).
    const admin2 = raw.admin();
    await admin2.connect();
    const [end] = await admin2.fetchTopicOffsets(topic);
    await admin2.disconnect();
    const records = await readBack(topic, Number(end?.high), { kafka: raw, timeoutMs: 60_000 });
    const counts = new Map<string, number>();
    for (const r of records) counts.set(r.value?.toString() ?? '', (counts.get(r.value?.toString() ?? '') ?? 0) + 1);
    for (const value of ['before', 'impatient-before', 'during', 'after']) expect(counts.get(value), value).toBe(1);
    expect(counts.get('never-awaited') ?? 0).toBeLessThanOrEqual(1);
    expect(patient.stats()).toMatchObject({ messagesPublished: 3, messagesFailed: 0 });
    expect(impatient.stats()).toMatchObject({ messagesPublished: 1, messagesFailed: 1 });
  });
});
