import { KAFKA_DRIVERS, type KafkaDriverName } from '@bus/kafka';
import { type TestCluster, testCluster, uniqueName } from '@bus/test-infra';
import kafkajs, { type Admin } from 'kafkajs';

/**
 * The drivers every scenario runs on, one after the other on the same cluster (the scenarios kill its
 * nodes, so they never overlap). `BUS_CLUSTER_DRIVERS=platformatic` (a comma-separated list) narrows a
 * local run; CI runs them all.
 */
export const CLUSTER_DRIVERS: readonly KafkaDriverName[] = (() => {
  const only = process.env.BUS_CLUSTER_DRIVERS?.split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  if (only === undefined || only.length === 0) return KAFKA_DRIVERS;
  const unknown = only.filter((d) => !KAFKA_DRIVERS.includes(d as KafkaDriverName));
  if (unknown.length > 0) throw new Error(`BUS_CLUSTER_DRIVERS names unknown drivers: ${unknown.join(', ')}`);
  return only as KafkaDriverName[];
})();

/** A silent raw kafkajs client on the test cluster (admin work and read-back, never the code under test). */
export function clusterKafka(cluster: TestCluster = testCluster()): InstanceType<typeof kafkajs.Kafka> {
  return new kafkajs.Kafka({
    brokers: cluster.brokers,
    clientId: 'bus-cluster-test',
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}

/** Runs `fn` with a connected raw admin client. */
export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>, cluster?: TestCluster): Promise<T> {
  const admin = clusterKafka(cluster).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await condition();
    } catch {
      ok = false; // a node is down: ask again
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Creates a topic with replication factor 3 (min.insync.replicas=2 from the brokers); returns its name. */
export async function createClusterTopic(prefix: string, partitions: number): Promise<string> {
  const topic = uniqueName(prefix);
  await withAdmin((admin) =>
    admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 3 }], waitForLeaders: true }),
  );
  await waitForFullIsr([topic]);
  return topic;
}

/** Per partition: leader node and in-sync replicas. */
export async function partitionStates(
  topic: string,
): Promise<Array<{ partition: number; leader: number; isr: number[]; replicas: number[] }>> {
  return withAdmin(async (admin) => {
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return (meta.topics[0]?.partitions ?? []).map((p) => ({
      partition: p.partitionId,
      leader: p.leader,
      isr: p.isr,
      replicas: p.replicas,
    }));
  });
}

/** Waits until every partition of `topics` has all its replicas in sync. */
export async function waitForFullIsr(topics: string[], timeoutMs = 120_000): Promise<void> {
  await waitFor(
    async () => {
      for (const topic of topics) {
        const states = await partitionStates(topic);
        if (states.length === 0 || states.some((p) => p.isr.length < p.replicas.length || p.leader < 0)) return false;
      }
      return true;
    },
    `full ISR on ${topics.join(', ')}`,
    timeoutMs,
    250,
  );
}

/** The node leading most partitions of `topic`. */
export async function busiestLeader(topic: string): Promise<number> {
  const counts = new Map<number, number>();
  for (const p of await partitionStates(topic)) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
}

/** Java's `String.hashCode()`, which the broker uses to place a group on a `__consumer_offsets` partition. */
function javaStringHash(value: string): number {
  let h = 0;
  for (let i = 0; i < value.length; i++) h = (Math.imul(31, h) + value.charCodeAt(i)) | 0;
  return h;
}

/**
 * The node that is the group coordinator of `groupId`: the leader of the `__consumer_offsets` partition
 * the broker assigns the group to (`Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`), which
 * is what FindCoordinator answers. kafkajs's admin does not expose FindCoordinator.
 */
export async function groupCoordinator(groupId: string): Promise<number> {
  const states = await partitionStates('__consumer_offsets');
  const partition = (javaStringHash(groupId) & 0x7fffffff) % states.length;
  const leader = states.find((p) => p.partition === partition)?.leader;
  if (leader === undefined || leader < 0) throw new Error(`no leader for __consumer_offsets-${partition}`);
  return leader;
}

/**
 * Brings the cluster back to full strength before a scenario: every node running and listed by the
 * cluster, and every partition of `__consumer_offsets` in sync (a failed scenario may leave a node down).
 */
export async function healCluster(cluster: TestCluster = testCluster()): Promise<void> {
  const running = await cluster.runningNodes();
  for (const node of cluster.connection.nodes) {
    if (!running.includes(node.id)) await cluster.start(node.id);
  }
  await waitFor(
    async () => withAdmin(async (admin) => (await admin.describeCluster()).brokers.length === 3, cluster),
    'all 3 nodes listed by the cluster',
    120_000,
    250,
  );
  const internal = await withAdmin((admin) => admin.listTopics(), cluster);
  if (internal.includes('__consumer_offsets')) await waitForFullIsr(['__consumer_offsets']);
}
