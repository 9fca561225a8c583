import { runDeadLetterQueueSuite } from '@bus/core/testing';
import { KafkaDeadLetterQueue, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { brokers, createTopic } from './subscriber-helpers.js';

// The shared dead-letter queue suite against the real broker (the subscribers' group joins take
// seconds, hence the timeout scale). The kafka-platformatic project runs it on @platformatic/kafka.
runDeadLetterQueueSuite({
  name: 'KafkaDeadLetterQueue',
  features: { partitions: true, guaranteedOrderPerKey: true },
  createQueue: async (topic) => new KafkaDeadLetterQueue({ brokers: brokers(), topic }),
  createPublisher: async () => new KafkaPublisher({ brokers: brokers() }),
  createSubscriber: async () => new KafkaSubscriber({ brokers: brokers(), heartbeatIntervalMs: 500 }),
  createTopic: ({ partitions }) => createTopic('dlq-conformance', partitions),
  timeoutScale: 3,
});
