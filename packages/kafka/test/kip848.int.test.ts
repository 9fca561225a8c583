// KIP-848 (`groupProtocol: 'consumer'`) on @platformatic/kafka, against the real Kafka 4.x broker:
// the broker assigns the partitions. Runs in the `kafka` project with the driver chosen explicitly.
import { payloadText, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic } from './publisher-helpers.ts';
import { brokers } from './subscriber-helpers.ts';

describe("groupProtocol 'consumer' (KIP-848) on driver 'platformatic'", () => {
  it('joins a group as a KIP-848 member, gets every partition from the broker and consumes every message once', async () => {
    const topic = await createTopic('kip848', 4);
    const group = uniqueName('kip848');
    await using publisher = new KafkaPublisher({ brokers: brokers(), driver: 'platformatic' });
    const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
    await publisher.publish(topic, ...sent.map((text, i) => textMessage(text, { key: `k${i % 16}` })));

    await using subscriber = new KafkaSubscriber({
      brokers: brokers(),
      driver: 'platformatic',
      groupProtocol: 'consumer',
    });
    const assigned = new Set<number>();
    subscriber.on('rebalance', (event) => {
      for (const partition of event.assigned) assigned.add(partition);
    });
    const seen: string[] = [];
    for await (const message of subscriber.subscribe(topic, { group })) {
      seen.push(payloadText(message));
      message.ack();
      if (seen.length === sent.length) break;
    }
    expect(seen.sort()).toEqual([...sent].sort());
    expect([...assigned].sort()).toEqual([0, 1, 2, 3]);
  });

  it('is refused on kafkajs, and with the options the broker owns, at construction', () => {
    expect(() => new KafkaSubscriber({ brokers: brokers(), groupProtocol: 'consumer' })).toThrow(/groupProtocol/);
    expect(
      () =>
        new KafkaSubscriber({
          brokers: brokers(),
          driver: 'platformatic',
          groupProtocol: 'consumer',
          sessionTimeoutMs: 10_000,
        }),
    ).toThrow(/sessionTimeoutMs/);
  });
});
