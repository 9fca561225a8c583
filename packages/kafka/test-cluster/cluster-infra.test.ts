/**
 * The 3-node test cluster is what the failover scenarios need: three live brokers that are all controllers,
 * replication factor 3 and min.insync.replicas=2 (the scenarios exercise the node operations).
 */
import { testCluster } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createClusterTopic, healCluster, partitionStates, withAdmin } from './cluster-helpers.ts';

const cluster = testCluster();

describe(`3-node KRaft cluster (Kafka ${cluster.connection.version}, ${cluster.brokers.join(',')})`, () => {
  it('lists 3 brokers under the cluster id it was formatted with', async () => {
    await healCluster(cluster);
    const described = await withAdmin((admin) => admin.describeCluster());
    expect(described.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    expect(described.clusterId).toBe(cluster.connection.clusterId);
    if (cluster.startedByThisRun) {
      // The global setup formats with an id that starts with '-': the format step must take it.
      expect(described.clusterId.startsWith('-')).toBe(true);
    }
  });

  it('replicates every partition 3 times with min.insync.replicas=2, internal topics included', async () => {
    const topic = await createClusterTopic('cluster-infra', 6);
    for (const p of await partitionStates(topic)) {
      expect(p.replicas).toHaveLength(3);
      expect(p.isr).toHaveLength(3);
    }
    const configs = await withAdmin((admin) =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['min.insync.replicas'] }],
      }),
    );
    expect(configs.resources[0]?.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue).toBe(
      '2',
    );
    const broker = await withAdmin((admin) =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: 4 /* BROKER */,
            name: '1',
            configNames: ['offsets.topic.replication.factor', 'transaction.state.log.replication.factor'],
          },
        ],
      }),
    );
    const values = Object.fromEntries(
      (broker.resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]),
    );
    expect(values).toEqual({
      'offsets.topic.replication.factor': '3',
      'transaction.state.log.replication.factor': '3',
    });
  });
});
