import { afterEach, describe } from 'vitest';
import { basicCases } from './cases/basic.js';
import { groupCases } from './cases/groups.js';
import { orderCases } from './cases/order.js';
import { robustnessCases } from './cases/robustness.js';
import { ruleCases } from './cases/rules.js';
import { SuiteContext } from './internal/context.js';
import type { ConformanceOptions } from './options.js';

/**
 * Registers the transport conformance suite's describe/it blocks with vitest. Call it at the
 * top level of a test file. Cases a transport's features rule out are not registered.
 * Every case makes its own topics and groups, and closes what it opened.
 *
 * @example
 * const broker = new MemoryBroker();
 * let topics = 0;
 * runConformanceSuite({
 *   name: 'memory',
 *   features: { consumerGroups: true, guaranteedOrderPerKey: true, persistent: true },
 *   createPublisher: async () => broker.publisher(),
 *   createSubscriber: async () => broker.subscriber(),
 *   createTopic: async ({ partitions }) => {
 *     const name = `conformance-${++topics}`;
 *     broker.createTopic(name, { partitions });
 *     return name;
 *   },
 * });
 */
export function runConformanceSuite(options: ConformanceOptions): void {
  const ctx = new SuiteContext(options);
  describe(`${options.name}: transport conformance`, () => {
    afterEach(() => ctx.cleanup(), ctx.testTimeout());
    describe('publish and subscribe', () => basicCases(ctx));
    describe('consumer groups and commits', () => groupCases(ctx));
    describe('ordering', () => orderCases(ctx));
    describe('robustness', () => robustnessCases(ctx));
    describe("core's rules, the same on every transport", () => ruleCases(ctx));
  });
}
