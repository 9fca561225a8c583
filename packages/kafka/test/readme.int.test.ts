import { fileURLToPath } from 'node:url';
import { readmeBlock, runReadmeExample, testInfra, uniqueName } from '@bus/test-infra';
import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

it('the README quick start runs as written on the real broker: publish, consume, then route and print an invoice', async () => {
  const previous = process.env.KAFKA_BROKERS;
  process.env.KAFKA_BROKERS = testInfra().kafka.brokers.join(',');
  try {
    const printed = await runReadmeExample(readmeBlock(`${packageDir}README.md`, 'Quick start'), {
      packageDir,
      // Topics of their own, so the example reads only what it published.
      replace: { "'orders'": `'${uniqueName('readme-orders')}'`, "'invoices'": `'${uniqueName('readme-invoices')}'` },
    });
    expect(printed).toEqual([
      'billing { orderId: 42, total: 9.5 }',
      'invoice { invoiceFor: { orderId: 42, total: 9.5 } }',
    ]);
  } finally {
    if (previous === undefined) delete process.env.KAFKA_BROKERS;
    else process.env.KAFKA_BROKERS = previous;
  }
}, 60_000);
