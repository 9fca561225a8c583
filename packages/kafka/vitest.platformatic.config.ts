import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';
import { workspaceAliases } from '../../vitest.shared.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The `kafka-platformatic` project: Kafka suites run again with the clients on @platformatic/kafka
 * (`@bus/kafka` resolves to test/platformatic/bus-kafka.ts, which makes it their default driver).
 * It runs beside the `kafka` project, which runs the same files on kafkajs.
 *
 * Every Kafka integration test of the `kafka` project runs here too, the dedicated-broker restarts
 * (restart, broker-crash) included, each test on a broker of its own; kip848.int picks platformatic
 * itself and runs in the `kafka` project. The cluster failover scenarios run
 * on both drivers inside the `cluster` project (one cluster, the scenarios one after the other: see
 * test-cluster/cluster-helpers.ts, CLUSTER_DRIVERS).
 */
export default defineProject({
  resolve: {
    alias: [
      { find: /^@bus\/kafka$/, replacement: `${repoRoot}packages/kafka/test/platformatic/bus-kafka.ts` },
      ...workspaceAliases,
    ],
  },
  test: {
    name: 'kafka-platformatic',
    include: [
      'test/publisher.int.test.ts',
      'test/publisher-acks.int.test.ts',
      'test/publisher-backpressure.int.test.ts',
      'test/publisher-close.int.test.ts',
      'test/publisher-resilience.int.test.ts',
      'test/batching.int.test.ts',
      'test/errors.int.test.ts',
      'test/transaction.int.test.ts',
      'test/security.int.test.ts',
      'test/conformance.int.test.ts',
      'test/subscriber.int.test.ts',
      'test/rebalance.int.test.ts',
      'test/revoked-ack.int.test.ts',
      'test/router-drain.int.test.ts',
      'test/shutdown.int.test.ts',
      'test/admin.int.test.ts',
      'test/admin-inspect.int.test.ts',
      'test/dead-letter-queue.int.test.ts',
      'test/dead-letter-queue-conformance.int.test.ts',
      'test/retry-topics.int.test.ts',
      'test/readme.int.test.ts',
      'test/interop-python.int.test.ts',
      'test/restart.int.test.ts',
      'test/broker-crash.int.test.ts',
    ],
    // For the few tests whose cases differ by driver (see testDriver() in test/subscriber-helpers.ts).
    env: { BUS_TEST_KAFKA_DRIVER: 'platformatic' },
    globalSetup: [`${repoRoot}tools/test-infra/src/global-setup.ts`],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
