import { fileURLToPath } from 'node:url';
import { readmeBlock, runReadmeExample } from '@bus/test-infra';
import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

it('the README example runs as written and prints the three priced orders with their correlation ids', async () => {
  const printed = await runReadmeExample(readmeBlock(`${packageDir}README.md`, 'Example'), { packageDir });
  expect(printed).toHaveLength(3);
  const totals = new Map(
    printed.map((line) => {
      const [, id, total] = /id: '(o-\d)'.*total: ([\d.]+)/.exec(line) ?? [];
      return [id, Number(total)];
    }),
  );
  expect(totals).toEqual(
    new Map([
      ['o-1', 19],
      ['o-2', 9.5],
      ['o-3', 47.5],
    ]),
  );
  // correlationId() gave every forwarded message an id (a UUID) that the printer sees.
  for (const line of printed) expect(line).toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
});
