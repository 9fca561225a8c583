import { fileURLToPath } from 'node:url';
import { readmeBlock, runReadmeExample, testInfra, uniqueName } from '@bus/test-infra';
import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

it('the README example runs as written against the real registry and prints the decoded order', async () => {
  const previous = process.env.SCHEMA_REGISTRY_URL;
  process.env.SCHEMA_REGISTRY_URL = testInfra().registry.url;
  try {
    const printed = await runReadmeExample(readmeBlock(`${packageDir}README.md`, 'Example'), {
      packageDir,
      // A topic (and so a subject) of its own on the shared registry.
      replace: { "'orders'": `'${uniqueName('readme-orders')}'` },
    });
    expect(printed).toEqual(['OrderPlaced o-1 19.90 2026-01-02T03:04:05.000Z']);
  } finally {
    if (previous === undefined) delete process.env.SCHEMA_REGISTRY_URL;
    else process.env.SCHEMA_REGISTRY_URL = previous;
  }
});
