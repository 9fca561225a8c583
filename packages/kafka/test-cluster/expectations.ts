import { expect } from 'vitest';
import type { ScenarioFigures } from './scenario.ts';

/**
 * What every scenario must show, each checked softly so a failing run lists every broken promise:
 * nothing acknowledged is lost (neither from the log nor from delivery), per-key order holds, every
 * failed publish was a typed retryable error (the contract: resolve with every partition
 * acknowledged, or reject retryably), the subscription never failed, and both clients closed.
 */
export function expectNothingAckedLostAndOrderKept(f: ScenarioFigures): void {
  expect.soft(f.faultError, 'a step of the scenario failed').toBeUndefined();
  expect.soft(f.consumerError, 'the subscription failed').toBeUndefined();
  expect.soft(f.ackedMissingFromLog, 'acknowledged messages missing from the log').toBe(0);
  expect.soft(f.ackedNotDelivered, 'acknowledged messages never delivered to the subscriber').toBe(0);
  expect.soft(f.orderViolations, `per-key order violations in delivery: ${f.orderViolationSamples.join('; ')}`).toBe(0);
  expect.soft(f.logOrderViolations, 'per-key order violations in the log').toBe(0);
  const untyped = f.failedCallsByCode.UNTYPED ?? 0;
  expect.soft(untyped, 'failed publish() calls without a typed error').toBe(0);
  // A publish() either resolves with every partition acknowledged or rejects with a retryable error.
  expect.soft(f.nonRetryableFailures, 'failed publish() calls whose error was not retryable').toEqual([]);
  expect.soft(f.closeS.subscriber, 'subscriber close (s; -1 = did not finish in 60 s)').toBeGreaterThanOrEqual(0);
  expect.soft(f.closeS.publisher, 'publisher close (s; -1 = did not finish in 60 s)').toBeGreaterThanOrEqual(0);
}
