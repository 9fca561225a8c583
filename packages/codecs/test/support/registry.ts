import { SchemaRegistry } from '@bus/codecs/registry';
import { testInfra } from '@bus/test-infra';

/** URL of the real registry of this test run. */
export function registryUrl(): string {
  return testInfra().registry.url;
}

/** A client of the real registry, optionally through another URL (e.g. a counting proxy). */
export function realRegistry(url = registryUrl()): SchemaRegistry {
  return new SchemaRegistry({ url, timeoutMs: 15_000 });
}
