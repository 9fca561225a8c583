/**
 * Two of three nodes killed: below min.insync.replicas (and without a controller quorum) no write with
 * acks=all can succeed. Publishes must fail with a typed retryable error within their deadline, never
 * hang; after both nodes are back, nothing acknowledged is lost.
 */
import { BusError, textMessage } from '@bus/core';
import { KafkaPublisher } from '@bus/kafka';
import { describe, expect, it } from 'vitest';
import { CLUSTER_DRIVERS, createClusterTopic, groupCoordinator } from './cluster-helpers.ts';
import { expectNothingAckedLostAndOrderKept } from './expectations.ts';
import { runScenario, until } from './scenario.ts';

const PROBE_TIMEOUT_MS = 5_000;
/** How late after its deadline a publish may settle (a loaded 2-core machine). */
const SETTLE_SLACK_MS = 5_000;
const STREAM_TIMEOUT_MS = 15_000;

interface ProbeOutcome {
  tookMs: number;
  outcome: 'resolved' | 'rejected' | 'hung';
  code?: string;
  retryable?: boolean;
  message?: string;
}

describe.each(CLUSTER_DRIVERS)('cluster: two nodes down, on %s', (driver) => {
  it('fails publishes with a typed retryable error within their deadline, and loses nothing acknowledged', async () => {
    let probes: ProbeOutcome[] = [];
    let outageS = 0;
    const figures = await runScenario(
      'two-nodes-down',
      async ({ cluster, stream, group, extra }) => {
        // The probes write to a topic of their own: a probe that timed out may still be written once the nodes
        // are back (at-least-once), and the stream's topic must hold only the stream's records.
        const probeTopic = await createClusterTopic('cluster-probe', 6);
        await stream.untilMoreAcked(3_000);
        const probe = new KafkaPublisher({
          brokers: cluster.brokers,
          driver,
          clientId: 'cluster-probe',
          timeoutMs: PROBE_TIMEOUT_MS,
        });
        // Connected before the outage, as a running application's publisher is.
        await probe.publish(probeTopic, textMessage('probe-warm', { key: 'probe-warm' }));
        // Where the subscriber's group was coordinated, for the figures (the outage ends differently for it).
        extra.coordinator = await groupCoordinator(group);
        const down = performance.now();
        stream.mark('kill -9 nodes 1 and 2');
        await cluster.kill9(1);
        await cluster.kill9(2);
        probes = await Promise.all(
          Array.from({ length: 6 }, (_, i) => probePublish(probe, probeTopic, `probe-${i}`, PROBE_TIMEOUT_MS + 30_000)),
        );
        stream.mark('probes settled');
        // The outage lasts until a stream publish has run out of its deadline too: how long the nodes take to
        // come back must not decide whether the stream's own publishes are seen failing.
        await until(
          () => stream.failures.length > 0,
          'a stream publish to fail during the outage',
          STREAM_TIMEOUT_MS + SETTLE_SLACK_MS + 10_000,
        );
        stream.mark('a stream publish failed');
        await cluster.start(1);
        await cluster.start(2);
        outageS = (performance.now() - down) / 1000;
        stream.mark('nodes 1 and 2 restarted');
        extra.probes = probes;
        extra.outageS = Math.round(outageS * 10) / 10;
        const closeStarted = performance.now();
        await probe.close();
        extra.probeCloseS = Math.round((performance.now() - closeStarted) / 100) / 10;
        await stream.untilMoreAcked(3_000);
      },
      { publisher: { timeoutMs: STREAM_TIMEOUT_MS }, driver },
    );
    expectNothingAckedLostAndOrderKept(figures);
    expect.soft(probes, 'probe publishes during the outage').toHaveLength(6);
    for (const [i, p] of probes.entries()) {
      expect.soft(p.outcome, `probe ${i}: ${JSON.stringify(p)}`).toBe('rejected');
      expect.soft(p.retryable, `probe ${i} error is retryable: ${JSON.stringify(p)}`).toBe(true);
      expect
        .soft(p.tookMs, `probe ${i} settled within its ${PROBE_TIMEOUT_MS} ms deadline (+${SETTLE_SLACK_MS} ms)`)
        .toBeLessThanOrEqual(PROBE_TIMEOUT_MS + SETTLE_SLACK_MS);
    }
    // The stream's own publishes failed during the outage too, each within its deadline (typed and retryable:
    // checked for every scenario).
    expect.soft(figures.failedCalls, 'stream publishes that failed during the outage').toBeGreaterThan(0);
    const late = (figures.longestFailedCallS ?? 0) * 1000;
    expect.soft(late, 'longest failed stream publish (ms)').toBeLessThanOrEqual(STREAM_TIMEOUT_MS + SETTLE_SLACK_MS);
    // Messages acknowledged before the outage wait through it; after the restart they must flow at once.
    expect.soft(figures.maxStallS, 'longest stall of a key (s) vs the outage').toBeLessThanOrEqual(outageS + 15);
  }, 480_000);
});

async function probePublish(
  publisher: KafkaPublisher,
  topic: string,
  key: string,
  hangAfterMs: number,
): Promise<ProbeOutcome> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), hangAfterMs);
  });
  const attempt = publisher.publish(topic, textMessage(key, { key })).then(
    () => ({ outcome: 'resolved' as const }),
    (error: unknown) => ({
      outcome: 'rejected' as const,
      code: BusError.isInstance(error) ? error.code : 'UNTYPED',
      retryable: BusError.isInstance(error) ? error.isRetryable : false,
      message: error instanceof Error ? error.message.slice(0, 200) : String(error),
    }),
  );
  const result = await Promise.race([attempt, hung]).finally(() => clearTimeout(timer));
  const tookMs = Math.round(performance.now() - started);
  return result === 'hung' ? { tookMs, outcome: 'hung' } : { tookMs, ...result };
}
