/**
 * @bus/core/testing: the conformance suites. Run them against a transport's Publisher/Subscriber and
 * its DeadLetterQueue to check they keep bus's contract. Requires vitest (an optional peer dependency).
 */
export type {
  DeadLetterQueueConformanceFeatures,
  DeadLetterQueueConformanceOptions,
} from './dead-letter-queue-options.js';
export { runDeadLetterQueueSuite } from './dead-letter-queue-suite.js';
export type { ConformanceFeatures, ConformanceOptions } from './options.js';
export { runConformanceSuite } from './suite.js';
