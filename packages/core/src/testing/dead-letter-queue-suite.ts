import { afterEach, describe } from 'vitest';
import type { DeadLetterQueueConformanceOptions } from './dead-letter-queue-options.js';
import { closeCases } from './dead-letters/close-cases.js';
import { DeadLetterSuiteContext } from './dead-letters/context.js';
import { readCases } from './dead-letters/read-cases.js';
import { replayCases } from './dead-letters/replay-cases.js';

/**
 * Registers the dead-letter queue conformance suite's describe/it blocks with vitest: the rules of
 * {@link DeadLetterQueue} (list, count, replay, purge, close) that every implementation keeps. Call it
 * at the top level of a test file. Every case makes its own topics and closes what it opened.
 *
 * @example
 * const broker = new MemoryBroker();
 * let topics = 0;
 * runDeadLetterQueueSuite({
 *   name: 'MemoryBroker',
 *   features: { partitions: true, guaranteedOrderPerKey: true },
 *   createQueue: async (topic) => broker.deadLetterQueue(topic),
 *   createPublisher: async () => broker.publisher(),
 *   createSubscriber: async () => broker.subscriber(),
 *   createTopic: async ({ partitions }) => {
 *     const name = `dlq-${++topics}`;
 *     broker.createTopic(name, { partitions });
 *     return name;
 *   },
 * });
 */
export function runDeadLetterQueueSuite(options: DeadLetterQueueConformanceOptions): void {
  const ctx = new DeadLetterSuiteContext(options);
  describe(`${options.name}: dead-letter queue conformance`, () => {
    afterEach(() => ctx.cleanup(), ctx.testTimeout());
    describe('list and count', () => readCases(ctx));
    describe('replay and purge', () => replayCases(ctx));
    describe('close', () => closeCases(ctx));
  });
}
