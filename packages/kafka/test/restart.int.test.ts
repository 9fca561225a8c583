import { BusError, payloadText, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { startDedicatedKafka, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic, waitFor } from './subscriber-helpers.js';

const TOTAL = 3_000;
const BATCH = 100;

describe('broker restart', () => {
  it('publishers with acks=all lose nothing and subscribers resume and deliver everything', async () => {
    // A broker of its own, so stopping it never disturbs the shared one.
    await using kafka = await startDedicatedKafka();
    const topic = await createTopic('restart', 3, kafka.brokers);
    const group = uniqueName('restart');
    const connection = {
      brokers: kafka.brokers,
      connectionTimeoutMs: 1_000,
      retry: { retries: 5, initialRetryTimeMs: 200, maxRetryTimeMs: 2_000 },
    };

    const subscriber = new KafkaSubscriber({ ...connection, heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000 });
    const events: string[] = [];
    subscriber.on('crash', ({ willRestart, error }) => events.push(`crash:${error.code}:${willRestart}`));
    subscriber.on('connect', () => events.push('connect'));
    const seen = new Set<string>();
    let deliveries = 0;
    const controller = new AbortController();
    const consuming = (async () => {
      for await (const message of subscriber.subscribe(topic, { group, signal: controller.signal })) {
        deliveries++;
        seen.add(payloadText(message));
        message.ack();
      }
    })();

    const publisher = new KafkaPublisher({ ...connection, acks: 'all', timeoutMs: 10_000 });
    const publishErrors: BusError[] = [];
    const publishBatch = async (start: number) => {
      const batch = Array.from({ length: BATCH }, (_, i) =>
        textMessage(`m${start + i}`, { key: `k${(start + i) % 11}` }),
      );
      const deadline = Date.now() + 120_000;
      for (;;) {
        try {
          await publisher.publish(topic, ...batch);
          return;
        } catch (error) {
          // During the outage a publish may fail; it must say so with a typed, retryable error.
          expect(BusError.isInstance(error), String(error)).toBe(true);
          expect((error as BusError).isRetryable, (error as BusError).code).toBe(true);
          publishErrors.push(error as BusError);
          if (Date.now() > deadline) throw error;
        }
      }
    };

    let published = 0;
    for (; published < TOTAL / 3; published += BATCH) await publishBatch(published);
    await waitFor(() => seen.size >= 500, 'the subscriber to consume before the outage', 60_000);

    await kafka.stop();
    // Publishes issued while the broker is down either succeed after it is back or are retried.
    const duringOutage = (async () => {
      for (; published < (2 * TOTAL) / 3; published += BATCH) await publishBatch(published);
    })();
    await kafka.start();
    await duringOutage;
    for (; published < TOTAL; published += BATCH) await publishBatch(published);
    await publisher.close();

    await waitFor(() => seen.size >= TOTAL, `all ${TOTAL} messages after the restart`, 120_000);
    controller.abort();
    await consuming;
    const stats = subscriber.stats();
    await subscriber.close();
    console.log(
      `[restart] ${TOTAL} published (${publishErrors.length} retried publish errors: ` +
        `${[...new Set(publishErrors.map((e) => e.code))].join(', ') || 'none'}), ${deliveries} deliveries ` +
        `(${deliveries - seen.size} duplicates), ${stats.reconnections} consumer restarts, events: ${events.join(' ')}`,
    );
    expect(seen.size).toBe(TOTAL);
    for (let i = 0; i < TOTAL; i++) expect(seen.has(`m${i}`)).toBe(true);
  }, 300_000);
});
