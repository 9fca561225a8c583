import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';
import { workspaceAliases } from '../../vitest.shared.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The `cluster` project: failover scenarios on the 3-node KRaft cluster of `infra.sh cluster`, which its
 * global setup starts (and stops, if it started it). The files share the cluster and kill its nodes, so
 * they run one at a time; the project runs beside the other projects.
 */
export default defineProject({
  resolve: { alias: workspaceAliases },
  test: {
    name: 'cluster',
    include: ['test-cluster/**/*.test.ts'],
    globalSetup: [`${repoRoot}tools/test-infra/src/cluster-global-setup.ts`],
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 300_000,
  },
});
