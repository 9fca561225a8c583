/**
 * A rolling restart under load, as on every upgrade: each node in turn gets SIGTERM (controlled
 * shutdown), is started again, and the next waits until every replica is back in sync.
 */
import { describe, expect, it } from 'vitest';
import { CLUSTER_DRIVERS, waitForFullIsr } from './cluster-helpers.ts';
import { expectNothingAckedLostAndOrderKept } from './expectations.ts';
import { runScenario } from './scenario.ts';

/** Controlled shutdown moves leaderships before the node stops, so no partition should wait long. */
const MAX_STALL_S = 10;

describe.each(CLUSTER_DRIVERS)('cluster: rolling restart under load, on %s', (driver) => {
  it('loses no acknowledged message, keeps per-key order and never stalls a partition long', async () => {
    const figures = await runScenario(
      'rolling-restart',
      async ({ cluster, stream, topic }) => {
        for (const node of [1, 2, 3]) {
          stream.mark(`SIGTERM node ${node}`);
          await cluster.stop(node);
          await cluster.start(node);
          stream.mark(`node ${node} restarted`);
          await waitForFullIsr([topic, '__consumer_offsets']);
          stream.mark('full ISR');
        }
        await stream.untilMoreAcked(3_000);
      },
      { ratePerSec: 400, driver },
    );
    expectNothingAckedLostAndOrderKept(figures);
    expect.soft(figures.maxStallS, `longest stall of a key (s), bound ${MAX_STALL_S}`).toBeLessThanOrEqual(MAX_STALL_S);
  }, 480_000);
});
