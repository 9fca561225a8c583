/**
 * The consumer side of a coordinator failure: kill -9 the node that coordinates the subscriber's group,
 * mid-stream, with default subscriber options. Consumption must resume within a bound (the issue asks for
 * 10 s), with no stall left unreported, and every message must arrive.
 *
 * The cluster's own failover sets a floor no client can beat: the group's new coordinator exists only
 * once the controller has fenced the dead node (broker.session.timeout.ms, 6 s on the test cluster). When
 * the killed node was also the active KRaft controller (each node is both here), a controller election
 * comes first and the coordinator moved 9-10.5 s after the kill in our runs. So the test measures when
 * the cluster named the new coordinator too, and holds the client to 10 s after the kill or 3 s after the
 * new coordinator, whichever is later.
 */
import { payloadText, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { testCluster, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { CLUSTER_DRIVERS, createClusterTopic, groupCoordinator, healCluster, waitFor } from './cluster-helpers.ts';

const cluster = testCluster();

describe.each(CLUSTER_DRIVERS)('subscriber: kill -9 of the group coordinator, on %s', (driver) => {
  it('resumes consuming within the bound, with default options, and loses nothing', async () => {
    await healCluster(cluster);
    const topic = await createClusterTopic('coordinator-kill', 6);
    const group = uniqueName('coordinator-kill');
    const t0 = Date.now();
    const subscriber = new KafkaSubscriber({ brokers: cluster.brokers, driver });
    const at = () => ((Date.now() - t0) / 1000).toFixed(1);
    const events: string[] = [];
    subscriber.on('crash', ({ willRestart, error }) => events.push(`${at()} crash:${error.code}:${willRestart}`));
    subscriber.on('rebalance', ({ assigned }) => events.push(`${at()} assigned:${assigned.join(',')}`));
    subscriber.on('stall', ({ reason }) => events.push(`${at()} stall:${reason}`));
    const seen = new Set<string>();
    let consumedAt: number[] = [];
    const controller = new AbortController();
    const consuming = (async () => {
      for await (const message of subscriber.subscribe(topic, { group, signal: controller.signal })) {
        seen.add(payloadText(message));
        consumedAt.push(Date.now());
        message.ack();
      }
    })();

    const publisher = new KafkaPublisher({ brokers: cluster.brokers, driver, acks: 'all', timeoutMs: 60_000 });
    let published = 0;
    let publishing = true;
    const publishLoop = (async () => {
      while (publishing) {
        const batch = Array.from({ length: 10 }, (_, i) => textMessage(`m${published + i}`, { key: `k${i}` }));
        await publisher
          .publish(topic, ...batch)
          .then(() => {
            published += batch.length;
          })
          .catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    await waitFor(() => seen.size >= 500, 'consumption before the kill');
    const coordinator = await groupCoordinator(group);
    consumedAt = [];
    const killedAt = Date.now();
    await cluster.kill9(coordinator);
    events.push(`${at()} killed node ${coordinator} (coordinator)`);
    let coordinatorMovedAt: number | undefined;
    const watchingCoordinator = waitFor(
      async () => (await groupCoordinator(group)) !== coordinator,
      'a new group coordinator',
      120_000,
    ).then(() => {
      coordinatorMovedAt = Date.now();
      events.push(`${at()} coordinator moved`);
    });
    // Publishing goes on, so any gap between consecutive deliveries in the 30 s after the kill is a stall.
    const windowMs = 30_000;
    await waitFor(() => consumedAt.some((t) => t > killedAt + windowMs), 'consumption after the kill', 180_000);
    let stallMs = 0;
    let previous = killedAt;
    for (const t of consumedAt) {
      if (t > killedAt + windowMs) break;
      stallMs = Math.max(stallMs, t - previous);
      previous = t;
    }
    await watchingCoordinator;
    publishing = false;
    await publishLoop;
    await publisher.close();
    await waitFor(() => seen.size >= published, `all ${published} messages`, 120_000);
    controller.abort();
    await consuming;
    const stats = subscriber.stats();
    await subscriber.close();
    await cluster.start(coordinator);
    const clusterMoveMs = (coordinatorMovedAt ?? killedAt) - killedAt;
    console.log(
      `[coordinator-kill ${driver}] stall ${(stallMs / 1000).toFixed(1)} s, the cluster moved the coordinator after ` +
        `${(clusterMoveMs / 1000).toFixed(1)} s; ${published} published, ${seen.size} consumed, ` +
        `${stats.redelivered} redelivered, ${stats.reconnections} consumer restarts; ${events.join(' | ')}`,
    );
    expect(seen.size).toBe(published);
    // The bound for a coordinator kill with default settings (before the fix: 10-27 s, unreported),
    // or 3 s after the cluster itself had a new coordinator when its failover alone took longer.
    expect(stallMs, events.join(' | ')).toBeLessThanOrEqual(Math.max(10_000, clusterMoveMs + 3_000));
  }, 240_000);
});
