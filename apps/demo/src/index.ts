/** @example/demo: the three example apps running together, with a live summary. */
export { main } from './cli.js';
export { type DemoOptions, runDemo } from './demo.js';
export { type DemoSummary, formatSummary } from './summary.js';
