import { fileURLToPath } from 'node:url';
import { readmeBlock, runReadmeExample } from '@bus/test-infra';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type JaegerEndpoints, useJaeger } from './support/jaeger.ts';
import { waitFor } from './support/wait.ts';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

let jaeger: JaegerEndpoints & { stop(): Promise<void> };
beforeAll(async () => {
  jaeger = await useJaeger();
}, 1_800_000); // a first run builds Jaeger with Go
afterAll(async () => {
  await jaeger?.stop();
});

it('the README setup runs as written and its trace arrives in Jaeger with the spans it describes', async () => {
  // The README exports to the compose file's Jaeger; the test's runs on the infra's ports.
  const printed = await runReadmeExample(readmeBlock(`${packageDir}README.md`, 'Setup'), {
    packageDir,
    replace: { 'http://localhost:4318': jaeger.otlpHttp },
  });
  expect(printed).toHaveLength(1);
  const traceId = (printed[0] as string).replace(/^trace /, '');
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  const names = await waitFor(
    async () => {
      const res = await fetch(`${jaeger.query}/api/v3/traces/${traceId}`);
      if (!res.ok) return undefined;
      const body = (await res.json()) as {
        result: { resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[] };
      };
      const spans = body.result.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
      return spans.length === 4 ? spans.map((s) => s.name).sort() : undefined;
    },
    'the README trace in Jaeger',
    20_000,
    200,
  );
  expect(names).toEqual(['process invoices', 'process orders', 'send invoices', 'send orders']);
});
