import { fileURLToPath } from 'node:url';
import { readmeBlock, runReadmeExample, testInfra, uniqueName } from '@bus/test-infra';
import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

it('the README Kafka example runs as written on the real broker and registry', async () => {
  const previous = { brokers: process.env.KAFKA_BROKERS, registry: process.env.SCHEMA_REGISTRY_URL };
  process.env.KAFKA_BROKERS = testInfra().kafka.brokers.join(',');
  process.env.SCHEMA_REGISTRY_URL = testInfra().registry.url;
  try {
    const prefix = uniqueName('readme-shop');
    const printed = await runReadmeExample(readmeBlock(`${packageDir}README.md`, 'Kafka with the schema registry'), {
      packageDir,
      // Topics, subject and group of its own on the shared broker and registry.
      replace: {
        "topics.perType('shop')": `topics.perType('${prefix}')`,
        "groupPrefix: 'billing'": `groupPrefix: '${prefix}'`,
      },
    });
    expect(printed).toEqual(['bill o-1 19.9 o-1', 'dead letters: 0']);
  } finally {
    for (const [name, value] of [
      ['KAFKA_BROKERS', previous.brokers],
      ['SCHEMA_REGISTRY_URL', previous.registry],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}, 60_000);
