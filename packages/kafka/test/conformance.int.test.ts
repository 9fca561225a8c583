import { runConformanceSuite } from '@bus/core/testing';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { brokers, createTopic } from './subscriber-helpers.js';

// The shared bus conformance suite, run against the real broker with KafkaPublisher/KafkaSubscriber.
// Group joins and rebalances take seconds on Kafka, hence the timeout scale. Broker restarts are
// exercised separately (restart.int.test.ts) on a dedicated broker, so the shared one stays up.
runConformanceSuite({
  name: 'kafka',
  features: { consumerGroups: true, guaranteedOrderPerKey: true, persistent: true, canRestartBroker: false },
  createPublisher: async () => new KafkaPublisher({ brokers: brokers() }),
  createSubscriber: async () =>
    new KafkaSubscriber({
      brokers: brokers(),
      // Short heartbeats make rebalances (members joining and leaving) finish quickly.
      heartbeatIntervalMs: 500,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 20_000,
    }),
  createTopic: ({ partitions }) => createTopic('conformance', partitions),
  timeoutScale: 3,
});
