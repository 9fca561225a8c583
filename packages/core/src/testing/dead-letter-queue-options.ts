import type { DeadLetterQueue } from '../middleware/dead-letter-queue.js';
import type { Publisher, Subscriber } from '../pubsub.js';

/** What a transport's dead-letter queue supports; the suite runs only the cases its features allow. */
export interface DeadLetterQueueConformanceFeatures {
  /** Topics have more than one partition, so letters are listed and paged partition by partition. */
  partitions: boolean;
  /** Replayed messages with the same key arrive in their original topic in the order they were replayed. */
  guaranteedOrderPerKey: boolean;
}

/** How {@link runDeadLetterQueueSuite} reaches the dead-letter queue under test and its transport. */
export interface DeadLetterQueueConformanceOptions {
  /** Shown in describe() titles. */
  name: string;
  features: DeadLetterQueueConformanceFeatures;
  /** A new queue of `topic` (which may not exist), on the same broker as the publishers. The suite closes it. */
  createQueue(topic: string): Promise<DeadLetterQueue>;
  /** A fresh publisher: writes dead letters as `deadLetter` does. The suite closes it. */
  createPublisher(): Promise<Publisher>;
  /** A fresh subscriber, which reads replays from the original topics. The suite closes it. */
  createSubscriber(): Promise<Subscriber>;
  /** Creates a new, empty, uniquely named topic with `partitions` partitions and returns its name. */
  createTopic(options: { partitions: number }): Promise<string>;
  /** Scales every wait deadline in the suite (Kafka group joins take seconds). Default 1. */
  timeoutScale?: number;
}
