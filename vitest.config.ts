import { defineConfig } from 'vitest/config';

const jsonReport = process.env.VITEST_JSON_REPORT;
/** `BUS_TEST_SCOPE=unit` runs only in-process tests: no failover scenarios on the 3-node cluster. */
const unitOnly = process.env.BUS_TEST_SCOPE === 'unit';

export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'tools/*/vitest.config.ts',
      'apps/*/vitest.config.ts',
      ...(unitOnly ? [] : ['packages/kafka/vitest.cluster.config.ts', 'packages/kafka/vitest.platformatic.config.ts']),
    ],
    // Most files wait on the broker, not the CPU: vitest's default on 2 cores (one worker) ran them one
    // after another, and with 2 workers the CPU still idled (load average 2-6 through the test phase).
    // BUS_TEST_WORKERS overrides.
    maxWorkers: Number(process.env.BUS_TEST_WORKERS ?? 3),
    reporters: jsonReport ? ['default', ['json', { outputFile: jsonReport }]] : ['default'],
  },
});
