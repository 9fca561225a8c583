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

  it('a subscription whose retries run out during the outage restarts its consumer and delivers everything', async () => {
    // A broker of its own again: a broker the test before left down must not fail this one.
    await using kafka = await startDedicatedKafka();
    const topic = await createTopic('outage', 3, kafka.brokers);
    const group = uniqueName('outage');
    // Retries that give up within about two seconds, so the outage below outlasts them.
    const retry = { retries: 4, initialRetryTimeMs: 200, maxRetryTimeMs: 500 };
    const subscriber = new KafkaSubscriber({ brokers: kafka.brokers, connectionTimeoutMs: 1_000, retry });
    const events: string[] = [];
    const t0 = Date.now();
    const at = () => ((Date.now() - t0) / 1000).toFixed(1);
    const crashes: { code: string; willRestart: boolean }[] = [];
    subscriber.on('crash', ({ willRestart, error }) => {
      crashes.push({ code: error.code, willRestart });
      events.push(`${at()} crash:${error.code}:${willRestart}`);
    });
    subscriber.on('rebalance', ({ assigned }) => events.push(`${at()} assigned:${assigned.join(',')}`));
    const seen = new Set<string>();
    let lastSeenAt = 0;
    let failure: unknown;
    const controller = new AbortController();
    const consuming = (async () => {
      for await (const message of subscriber.subscribe(topic, { group, signal: controller.signal })) {
        seen.add(payloadText(message));
        lastSeenAt = Date.now();
        message.ack();
      }
    })().catch((error: unknown) => {
      failure = error;
    });
    const publisher = new KafkaPublisher({ brokers: kafka.brokers, acks: 'all', timeoutMs: 60_000 });
    const publish = (from: number, count: number) =>
      publisher.publish(
        topic,
        ...Array.from({ length: count }, (_, i) => textMessage(`m${from + i}`, { key: `k${i % 5}` })),
      );
    await publish(0, 300);
    await waitFor(() => seen.size >= 300 || failure !== undefined, 'consumption before the outage', 120_000);
    expect(failure, events.join(' | ')).toBeUndefined();
    const crashesBefore = crashes.length;
    await kafka.kill();
    events.push(`${at()} killed`);
    // The subscription must notice the outage and say it restarts (its retries ran out), not end.
    await waitFor(
      () => crashes.length > crashesBefore || failure !== undefined,
      'the subscription to report the outage',
      60_000,
    );
    await kafka.start();
    const answering = Date.now();
    events.push(`${at()} answering`);
    await publish(300, 300);
    await waitFor(() => seen.size >= 600 || failure !== undefined, 'consumption after the outage', 120_000);
    const recoveryS = ((lastSeenAt - answering) / 1000).toFixed(1);
    controller.abort();
    await consuming;
    const stats = subscriber.stats();
    await subscriber.close();
    await publisher.close();
    console.log(
      `[outage] consuming again ${recoveryS} s after the broker answered; ${stats.reconnections} consumer restarts; ` +
        events.join(' | '),
    );
    expect(failure, events.join(' | ')).toBeUndefined();
    expect(crashes.length, events.join(' | ')).toBeGreaterThan(crashesBefore);
    expect(crashes.every((c) => c.willRestart)).toBe(true);
    expect(stats.reconnections).toBeGreaterThan(0);
    expect(seen.size).toBe(600);
  }, 300_000);
});
