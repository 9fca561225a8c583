/**
 * kill -9 of the consumer group's coordinator mid-stream: consumption resumes within 10 s (default
 * subscriber settings), nothing acknowledged is lost, per-key order holds.
 */
import { describe, expect, it } from 'vitest';
import { CLUSTER_DRIVERS, groupCoordinator } from './cluster-helpers.ts';
import { expectNothingAckedLostAndOrderKept } from './expectations.ts';
import { runScenario, until } from './scenario.ts';

const MAX_STALL_S = 10;

describe.each(CLUSTER_DRIVERS)('cluster: group coordinator kill -9, on %s', (driver) => {
  it('resumes consumption within 10 s and loses no acknowledged message', async () => {
    const figures = await runScenario(
      'coordinator-kill',
      async ({ cluster, stream, group, extra }) => {
        await stream.untilMoreAcked(3_000);
        const coordinator = await groupCoordinator(group);
        extra.killedNode = coordinator;
        stream.mark(`kill -9 coordinator node ${coordinator}`);
        await cluster.kill9(coordinator);
        await until(
          async () => (await groupCoordinator(group)) !== coordinator,
          'the group coordinator to move',
          180_000,
        );
        extra.newCoordinator = await groupCoordinator(group);
        stream.mark('coordinator moved');
        await stream.untilMoreAcked(5_000);
        await cluster.start(coordinator);
        stream.mark(`node ${coordinator} restarted`);
        await stream.untilMoreAcked(2_000);
      },
      { driver },
    );
    expectNothingAckedLostAndOrderKept(figures);
    expect.soft(figures.maxStallS, `longest stall of a key (s), bound ${MAX_STALL_S}`).toBeLessThanOrEqual(MAX_STALL_S);
  }, 420_000);
});
