import { payloadText, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { startDedicatedKafka, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic, waitFor } from './subscriber-helpers.js';

const CLOSE_TIMEOUT_MS = 3_000;

describe('broker crash (kill -9)', () => {
  it('a subscriber with default options comes back as the same member, and closes within its deadline while the broker is down', async () => {
    // A broker of its own, so killing it never disturbs the shared one.
    await using kafka = await startDedicatedKafka();
    const topic = await createTopic('crash', 3, kafka.brokers);
    const group = uniqueName('crash');
    // Default options, but for the close deadline measured at the end.
    const subscriber = new KafkaSubscriber({ brokers: kafka.brokers, closeTimeoutMs: CLOSE_TIMEOUT_MS });
    const events: string[] = [];
    const t0 = Date.now();
    const at = () => ((Date.now() - t0) / 1000).toFixed(1);
    const crashCauses: string[] = [];
    subscriber.on('crash', ({ willRestart, error }) => {
      const cause = error.cause instanceof Error ? error.cause.name : 'unknown';
      crashCauses.push(cause);
      events.push(`${at()} crash:${error.code}:${cause}:${willRestart}`);
    });
    subscriber.on('rebalance', ({ assigned }) => events.push(`${at()} assigned:${assigned.join(',')}`));
    subscriber.on('stall', ({ reason }) => events.push(`${at()} stall:${reason}`));
    const seen = new Set<string>();
    let lastSeenAt = 0;
    const consuming = (async () => {
      for await (const message of subscriber.subscribe(topic, { group })) {
        seen.add(payloadText(message));
        lastSeenAt = Date.now();
        message.ack();
      }
    })();

    const publisher = new KafkaPublisher({ brokers: kafka.brokers, acks: 'all', timeoutMs: 120_000 });
    let published = 0;
    let publishing = true;
    const publishLoop = (async () => {
      while (publishing) {
        // One message at a time, so a publish that failed during the outage is simply sent again.
        await publisher
          .publish(topic, textMessage(`m${published}`, { key: `k${published % 7}` }))
          .then(() => published++)
          .catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    await waitFor(() => seen.size >= 100, 'consumption before the crash', 60_000);
    const restartsBefore = subscriber.stats().reconnections;
    await kafka.kill();
    events.push(`${at()} killed`);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await kafka.start();
    const answering = Date.now();
    events.push(`${at()} answering`);
    await waitFor(() => lastSeenAt > answering, 'consumption after the restart', 120_000);
    const recoverySeconds = (lastSeenAt - answering) / 1000;
    publishing = false;
    await publishLoop;
    await publisher.close();
    await waitFor(() => seen.size >= published, `all ${published} messages`, 60_000);
    const stats = subscriber.stats();
    // kafkajs rode the outage out with the same group member: no restart as a new member, which
    // the group would only take after the old member's session (30 s) expired. One kafkajs 2.2.4 path
    // escapes us: when the dying broker closes a fetch's socket cleanly, kafkajs drops it from its pool,
    // and with a single broker it then finds none and restarts the consumer as a new member (seen once
    // in CI; docs/kafka.md). Only that cause may restart, once, and the figures say so.
    const restarts = stats.reconnections - restartsBefore;
    const lostOnlyBroker = crashCauses.includes('KafkaJSNoBrokerAvailableError');
    expect(restarts, events.join(' | ')).toBe(lostOnlyBroker ? 1 : 0);
    expect(seen.size).toBe(published);

    // Now the broker dies for good, with acks the final commit cannot deliver: close() still ends
    // within its deadline.
    await kafka.kill();
    const closing = Date.now();
    await subscriber.close();
    const closeMs = Date.now() - closing;
    await consuming;
    console.log(
      `[broker-crash] consuming again ${recoverySeconds.toFixed(1)} s after the broker answered; ` +
        `${restarts} consumer restarts; close() with the broker down took ${closeMs} ms; ${events.join(' | ')}`,
    );
    expect(closeMs).toBeLessThanOrEqual(CLOSE_TIMEOUT_MS + 500);
  }, 300_000);
});
