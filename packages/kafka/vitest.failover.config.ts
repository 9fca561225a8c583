import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';
import { workspaceAliases } from '../../vitest.shared.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Failover measurements on the 3-node cluster that compare bus with kafkajs alone (`pnpm bench:failover`
 * in this package). Not part of the test run: the `cluster` project's scenarios already assert the
 * guarantees with the default publisher; these runs report what the acknowledgement check saves.
 */
export default defineProject({
  resolve: { alias: workspaceAliases },
  test: {
    name: 'failover-bench',
    include: ['bench/failover/**/*.failover.ts'],
    globalSetup: [`${repoRoot}tools/test-infra/src/cluster-global-setup.ts`],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 300_000,
  },
});
