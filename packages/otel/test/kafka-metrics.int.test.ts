// The Kafka-fed metrics on the real broker: the consumer-lag gauge of @bus/otel/kafka (from
// KafkaAdmin.consumerLag) and the rebalance count an instrumented KafkaSubscriber takes from stats().
import { createMessage } from '@bus/core';
import { KafkaAdmin, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { instrumentSubscriber } from '@bus/otel';
import { consumerLagGauge } from '@bus/otel/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startTestSdk, type TestSdk } from './support/sdk.ts';
import { waitFor } from './support/wait.ts';

let sdk: TestSdk;
beforeEach(() => {
  sdk = startTestSdk();
});
afterEach(async () => {
  await sdk.shutdown();
});

it('consumerLagGauge reports each partition’s lag and follows the group’s commits; subscriber stats feed rebalances', async () => {
  const brokers = testInfra().kafka.brokers;
  const topic = uniqueName('otel-lag');
  const group = uniqueName('otel-lag-group');
  await using admin = new KafkaAdmin({ brokers });
  await admin.ensureTopics([{ name: topic, partitions: 1, replicationFactor: 1 }]);
  const publisher = new KafkaPublisher({ brokers });
  const payload = new TextEncoder().encode('x');
  await publisher.publish(topic, ...Array.from({ length: 5 }, () => createMessage({ payload })));
  await publisher.close();

  await using gauge = consumerLagGauge({
    admin,
    groups: [{ group, topics: [topic] }],
    intervalMs: 200,
    meterProvider: sdk.meterProvider,
  });
  const lagPoints = async () =>
    (await sdk.points('bus.consumer.lag')).map((p) => [
      p.attributes['messaging.consumer.group.name'],
      p.attributes['messaging.destination.name'],
      p.attributes['messaging.destination.partition.id'],
      p.value,
    ]);
  await gauge.refresh();
  // Nothing committed yet: the whole partition is lag.
  expect(await lagPoints()).toEqual([[group, topic, '0', 5]]);

  const subscriber = instrumentSubscriber(new KafkaSubscriber({ brokers, fromBeginning: true }), {
    meterProvider: sdk.meterProvider,
  });
  let acked = 0;
  for await (const message of subscriber.subscribe(topic, { group })) {
    message.ack();
    if (++acked === 2) break; // leaving the loop commits what was acked
  }
  const rebalances = await sdk.points('bus.consumer.rebalances');
  expect(rebalances.map((p) => p.value)).toEqual([1]);
  const consumed = await sdk.points('messaging.client.consumed.messages');
  expect(consumed.map((p) => p.value)).toEqual([2]);
  await subscriber.close();

  // The gauge polls in the background: it follows the commit without a refresh() call.
  await waitFor(
    async () => JSON.stringify(await lagPoints()) === JSON.stringify([[group, topic, '0', 3]]),
    'the lag after two commits',
    15_000,
    100,
  );
});

it('consumerLagGauge validates its options, listing every problem', () => {
  expect(() =>
    consumerLagGauge({ admin: {} as KafkaAdmin, groups: [], intervalMs: 5, metricPrefix: 'Bad Prefix' }),
  ).toThrowError(/4 problems[\s\S]*admin[\s\S]*groups[\s\S]*intervalMs[\s\S]*metricPrefix/);
});
