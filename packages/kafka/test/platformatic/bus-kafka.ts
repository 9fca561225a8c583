// `@bus/kafka` as the `kafka-platformatic` test project sees it: the package itself, with the
// clients that run on @platformatic/kafka defaulting to it. The suites then run unchanged on that
// driver; an explicit `driver` in a test still wins.
import {
  KafkaAdmin as Admin,
  type KafkaAdminOptions,
  KafkaDeadLetterQueue as DeadLetterQueue,
  type KafkaDeadLetterQueueOptions,
  KafkaPublisher as Publisher,
  type KafkaPublisherOptions,
  KafkaSubscriber as Subscriber,
  type KafkaSubscriberOptions,
} from '../../src/index.ts';

export * from '../../src/index.ts';

/** KafkaPublisher on @platformatic/kafka unless the test chose a driver. */
export class KafkaPublisher extends Publisher {
  constructor(options: KafkaPublisherOptions) {
    super({ driver: 'platformatic', ...options });
  }
}

/** KafkaSubscriber on @platformatic/kafka unless the test chose a driver. */
export class KafkaSubscriber extends Subscriber {
  constructor(options: KafkaSubscriberOptions) {
    super({ driver: 'platformatic', ...options });
  }
}

/** KafkaAdmin on @platformatic/kafka unless the test chose a driver. */
export class KafkaAdmin extends Admin {
  constructor(options: KafkaAdminOptions) {
    super({ driver: 'platformatic', ...options });
  }
}

/** KafkaDeadLetterQueue on @platformatic/kafka unless the test chose a driver. */
export class KafkaDeadLetterQueue extends DeadLetterQueue {
  constructor(options: KafkaDeadLetterQueueOptions) {
    super({ driver: 'platformatic', ...options });
  }
}
