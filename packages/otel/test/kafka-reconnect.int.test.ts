// The consumer-error and reconnection metrics of an instrumented KafkaSubscriber, on a broker of the
// test's own that it stops and starts again (restarting the shared broker would disturb other files).
import { BusError, payloadText, textMessage } from '@bus/core';
import { KafkaAdmin, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { instrumentSubscriber } from '@bus/otel';
import { startDedicatedKafka, uniqueName } from '@bus/test-infra';
import { expect, it } from 'vitest';
import { startTestSdk } from './support/sdk.ts';
import { waitFor } from './support/wait.ts';

it('a broker outage counts each consumer crash and failed commit in bus.consumer.errors, and each restart in bus.consumer.reconnections', async () => {
  const sdk = startTestSdk();
  // A generous start deadline: on a loaded shared machine the broker's start alone took over 90 s.
  await using kafka = await startDedicatedKafka({ startTimeoutMs: 180_000 });
  try {
    const connection = {
      brokers: kafka.brokers,
      connectionTimeoutMs: 1_000,
      // Short retries, so the consumer gives up on the stopped broker (a crash) within seconds.
      retry: { retries: 3, initialRetryTimeMs: 200, maxRetryTimeMs: 1_000 },
    };
    const topic = uniqueName('otel-reconnect');
    const group = uniqueName('otel-reconnect-group');
    {
      await using admin = new KafkaAdmin(connection);
      await admin.ensureTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
    }
    const subscriber = instrumentSubscriber(
      new KafkaSubscriber({ ...connection, fromBeginning: true, heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000 }),
      { meterProvider: sdk.meterProvider },
    );
    // What the transport reported, heard through the instrumented subscriber's own `on`.
    const reported: string[] = [];
    subscriber.on('crash', ({ error }) => reported.push(error.code));
    subscriber.on('error', ({ error }) => reported.push(error.code));
    const seen = new Set<string>();
    const controller = new AbortController();
    const consuming = (async () => {
      for await (const message of subscriber.subscribe(topic, { group, signal: controller.signal })) {
        seen.add(payloadText(message));
        message.ack();
      }
    })();

    const publisher = new KafkaPublisher({ ...connection, acks: 'all', timeoutMs: 10_000 });
    const publish = async (from: number) => {
      const batch = Array.from({ length: 10 }, (_, i) => textMessage(`m${from + i}`));
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          return await publisher.publish(topic, ...batch);
        } catch (error) {
          // Right after the restart a publish may still fail, retryably: try again until the deadline.
          if (!BusError.isInstance(error) || !error.isRetryable || Date.now() > deadline) throw error;
        }
      }
    };
    await publish(0);
    await waitFor(() => seen.size === 10, 'the first 10 messages', 60_000, 50);

    await kafka.stop();
    await waitFor(() => subscriber.stats().reconnections > 0, 'the consumer to crash and restart', 90_000, 100);
    await kafka.start();
    await publish(10);
    await waitFor(() => seen.size === 20, 'the 10 messages published after the restart', 120_000, 100);
    controller.abort();
    await consuming;

    const reconnections = subscriber.stats().reconnections;
    const reconnectionPoints = await sdk.points('bus.consumer.reconnections');
    expect(reconnectionPoints.map((p) => p.value)).toEqual([reconnections]);
    expect(reconnections).toBeGreaterThan(0);

    // One count per reported crash or error, by error.type (the error's code).
    const expected = new Map<string, number>();
    for (const code of reported) expected.set(code, (expected.get(code) ?? 0) + 1);
    const errorPoints = await sdk.points('bus.consumer.errors');
    const counted = new Map(errorPoints.map((p) => [String(p.attributes['error.type']), p.value as number]));
    expect(reported.length).toBeGreaterThanOrEqual(reconnections);
    expect(counted).toEqual(expected);
    for (const point of errorPoints) {
      expect(point.attributes).toMatchObject({
        'messaging.system': 'kafka',
        'messaging.destination.name': topic,
        'messaging.consumer.group.name': group,
      });
    }
    console.log(
      `[otel reconnect] ${reconnections} consumer restarts, ${reported.length} errors reported: ${[...expected]
        .map(([code, n]) => `${code}×${n}`)
        .join(', ')}`,
    );
    await publisher.close();
    await subscriber.close();
    // A closed subscriber's restarts stay in the (monotonic) counter.
    expect((await sdk.points('bus.consumer.reconnections')).map((p) => p.value)).toEqual([reconnections]);
  } finally {
    await sdk.shutdown();
  }
}, 600_000);
