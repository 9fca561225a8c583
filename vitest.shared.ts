import { fileURLToPath } from 'node:url';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

const repoRoot = fileURLToPath(new URL('.', import.meta.url));

/**
 * Tests import workspace packages by their public names; this resolves those names to `src/`
 * so tests never need a prior build. Subpath `@bus/x/y` maps to `packages/x/src/y/index.ts`.
 */
export const workspaceAliases = [
  { find: /^@bus\/(core|kafka|codecs|cqrs|rpc|otel|cli)$/, replacement: `${repoRoot}packages/$1/src/index.ts` },
  {
    find: /^@bus\/(core|kafka|codecs|cqrs|rpc|otel|cli)\/(.+)$/,
    replacement: `${repoRoot}packages/$1/src/$2/index.ts`,
  },
  { find: /^@bus\/test-infra$/, replacement: `${repoRoot}tools/test-infra/src/index.ts` },
  // The example apps (private): `@example/x` is `apps/x/src/index.ts`, `@example/x/y` is `apps/x/src/y.ts`.
  { find: /^@example\/([a-z-]+)$/, replacement: `${repoRoot}apps/$1/src/index.ts` },
  { find: /^@example\/([a-z-]+)\/([a-z-]+)$/, replacement: `${repoRoot}apps/$1/src/$2.ts` },
];

/** `BUS_TEST_SCOPE=unit` runs only in-process tests; integration tests are named `*.int.test.ts`. */
const unitOnly = process.env.BUS_TEST_SCOPE === 'unit';

export interface BusProjectOptions {
  /** Project name shown in reports; defaults to the folder name. */
  name: string;
  /** Whether this project has integration tests that need the real broker and registry. */
  integration?: boolean;
  /** Per-test timeout; integration tests get more. */
  testTimeoutMs?: number;
}

/** The vitest project config every workspace package uses. */
export function busProject(options: BusProjectOptions): UserWorkspaceConfig {
  const integration = options.integration === true && !unitOnly;
  return defineProject({
    resolve: { alias: workspaceAliases },
    test: {
      name: options.name,
      include: ['test/**/*.test.ts'],
      exclude:
        unitOnly || !options.integration ? ['test/**/*.int.test.ts', '**/node_modules/**'] : ['**/node_modules/**'],
      globalSetup: integration ? [`${repoRoot}tools/test-infra/src/global-setup.ts`] : [],
      testTimeout: options.testTimeoutMs ?? (integration ? 60_000 : 10_000),
      hookTimeout: integration ? 120_000 : 10_000,
    },
  });
}
