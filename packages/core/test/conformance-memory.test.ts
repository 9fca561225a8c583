import { MemoryBroker } from '@bus/core';
import { runConformanceSuite } from '@bus/core/testing';
import { afterAll } from 'vitest';

const broker = new MemoryBroker();
afterAll(() => broker.close());

let topics = 0;

runConformanceSuite({
  name: 'MemoryBroker',
  features: { consumerGroups: true, guaranteedOrderPerKey: true, persistent: true },
  createPublisher: async () => broker.publisher(),
  createSubscriber: async () => broker.subscriber(),
  createTopic: async ({ partitions }) => {
    const name = `conformance-${++topics}`;
    broker.createTopic(name, { partitions });
    return name;
  },
});
