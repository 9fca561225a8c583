import { fileURLToPath } from 'node:url';
import { readmeBlock, runReadmeExample } from '@bus/test-infra';
import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

it('the README quick start runs as written on the in-memory broker', async () => {
  const printed = await runReadmeExample(readmeBlock(`${packageDir}README.md`, 'Quick start'), { packageDir });
  expect(printed).toEqual(['total 10', 'failed with UNKNOWN_SKU']);
});
