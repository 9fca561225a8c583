import { MemoryBroker } from '@bus/core';
import { runDeadLetterQueueSuite } from '@bus/core/testing';
import { afterAll } from 'vitest';

const broker = new MemoryBroker();
afterAll(() => broker.close());

let topics = 0;

runDeadLetterQueueSuite({
  name: 'MemoryBroker',
  features: { partitions: true, guaranteedOrderPerKey: true },
  createQueue: async (topic) => broker.deadLetterQueue(topic),
  createPublisher: async () => broker.publisher(),
  createSubscriber: async () => broker.subscriber(),
  createTopic: async ({ partitions }) => {
    const name = `dlq-conformance-${++topics}`;
    broker.createTopic(name, { partitions });
    return name;
  },
});
