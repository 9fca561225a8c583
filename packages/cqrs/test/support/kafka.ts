import { SchemaRegistry } from '@bus/codecs/registry';
import { KafkaAdmin } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';

/** Bootstrap servers of the real broker of this test run. */
export function brokers(): string[] {
  return testInfra().kafka.brokers;
}

/** A client of the real registry of this test run. */
export function realRegistry(): SchemaRegistry {
  return new SchemaRegistry({ url: testInfra().registry.url, timeoutMs: 15_000 });
}

/** A prefix unique to this test, for topics and groups. */
export function uniquePrefix(name: string): string {
  return uniqueName(`cqrs-${name}`).replaceAll('-', '_');
}

/** Creates topics (with `partitions` each) on the real broker. */
export async function createTopics(names: readonly string[], partitions: number): Promise<void> {
  await using admin = new KafkaAdmin({ brokers: brokers() });
  await admin.ensureTopics(names.map((name) => ({ name, partitions, replicationFactor: 1 })));
}
