/**
 * @bus/core/testing: the transport conformance suite. Run it against a Publisher/Subscriber
 * implementation to check it keeps bus's contract. Requires vitest (an optional peer dependency).
 */
export type { ConformanceFeatures, ConformanceOptions } from './options.js';
export { runConformanceSuite } from './suite.js';
