import { jsonCodec } from '@bus/codecs/json';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { subscribeTyped } from '@bus/rpc';
import { expect, it } from 'vitest';
import { brokers, createTopics, uniquePrefix } from './support/kafka.ts';

it('a typed stream on the real broker: one type out of two, bounded queue, count commits, nothing lost across a restart', async () => {
  const prefix = uniquePrefix('typed');
  const topic = `${prefix}.ticks`;
  await createTopics([topic], 3);
  await using publisher = new KafkaPublisher({ brokers: brokers() });
  const encoder = new TextEncoder();
  const messages = Array.from({ length: 500 }, (_, n) => ({
    id: `m${n}`,
    key: `k${n % 7}`,
    payload: encoder.encode(JSON.stringify({ n })),
    headers: { 'bus-type': n % 2 === 0 ? 'Price' : 'Trade' },
  }));
  await publisher.publish(topic, ...messages);

  await using subscriber = new KafkaSubscriber({ brokers: brokers(), fetchMaxWaitMs: 20 });
  const open = () =>
    subscribeTyped({
      subscriber,
      topics: [topic],
      group: `${prefix}.g`,
      type: 'Price',
      queueMaxSize: 10,
      commit: { everyMessages: 50 },
      parse: jsonCodec<{ n: number }>(),
    });
  const seen = new Set<number>();
  const first = open();
  for await (const { n } of first) {
    expect(n % 2).toBe(0);
    seen.add(n);
    if (seen.size === 100) break;
  }
  expect(first.stats.acked).toBe(99);
  const second = open();
  for await (const { n } of second) {
    seen.add(n);
    if (seen.size === 250) break;
  }
  await second.close();
  expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 250 }, (_, i) => i * 2));
});
