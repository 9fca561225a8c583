import type { Publisher, Subscriber } from '../pubsub.js';

/** What a transport supports; the suite runs only the cases its features allow. */
export interface ConformanceFeatures {
  /** Subscribers with the same group share partitions; different groups each get everything. */
  consumerGroups: boolean;
  /** Messages with the same key arrive in publish order. */
  guaranteedOrderPerKey: boolean;
  /** A subscriber that joins later (new group, earliest reset) reads messages published before it. */
  persistent: boolean;
  /** The suite may call `restartBroker()` mid-stream. */
  canRestartBroker?: boolean;
}

/** How {@link runConformanceSuite} reaches the transport under test. */
export interface ConformanceOptions {
  /** Shown in describe() titles. */
  name: string;
  features: ConformanceFeatures;
  /** A fresh publisher connected to the shared broker. The suite closes it. */
  createPublisher(): Promise<Publisher>;
  /** A fresh subscriber (one group member per subscription) connected to the same broker. The suite closes it. */
  createSubscriber(): Promise<Subscriber>;
  /** Creates a new, empty, uniquely named topic with `partitions` partitions and returns its name. */
  createTopic(options: { partitions: number }): Promise<string>;
  /** Restarts the broker (only with features.canRestartBroker). */
  restartBroker?(): Promise<void>;
  /** Scales every wait deadline in the suite (Kafka group joins take seconds). Default 1. */
  timeoutScale?: number;
  /** Scales message counts of the large cases (e.g. 10,000 messages) down for slow transports; default 1. */
  volumeScale?: number;
}
