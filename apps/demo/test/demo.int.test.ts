import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaAdmin } from '@bus/kafka';
import { testInfra } from '@bus/test-infra';
import { main } from '@example/demo';
import { waitUntil } from '@example/orders';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'demo-int-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saved = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL };
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('the demo on the real Kafka broker and registry', () => {
  it('--kafka: the same run and summary, on topics of its own that it deletes at the end', async () => {
    const infra = testInfra();
    process.env.KAFKA_BROKERS = infra.kafka.brokers.join(',');
    process.env.SCHEMA_REGISTRY_URL = infra.registry.url;
    const lines: string[] = [];
    const code = await main(['--kafka', '--orders', '50', '--audit-log', join(dir, 'audit.jsonl')], (line) =>
      lines.push(line),
    );
    expect(code).toBe(0);
    expect(lines[0]).toMatch(
      /^bus demo: orders, pricing and audit on the Kafka at \S+ with the registry at http\S+, topics demo-/,
    );
    expect(lines).toContain('  the provider is back: replayed 5 dead letters');
    const summary = lines.slice(lines.findIndex((line) => line.startsWith('summary (')) + 1);
    expect(summary).toEqual([
      '  orders         50 placed over HTTP, 50 shipped',
      '  events         shop.OrderPaid 50, shop.OrderPlaced 55, shop.OrderShipped 50 (per type, replays included)',
      expect.stringMatching(/^ {2}handling {7}p50 [\d,]+(?:\.\d+)? ms, p99 [\d,]+(?:\.\d+)? ms/),
      '  retries        15 (payments while the gift-card provider was down)',
      '  dead-lettered  5, replayed 5, then shipped',
      '  ordering       0 events out of order per order; 5 replayed events ignored by the projection',
      expect.stringMatching(/^ {2}rpc {12}50 quotes, 0 refused \(UNKNOWN_SKU\), round trip p50 /),
      expect.stringMatching(/^ {2}audit log {6}155 records in /),
    ]);
    const prefix = /, topics (demo-[a-z0-9]+)\.\*$/.exec(lines[0] ?? '')?.[1];
    expect(prefix).toBeDefined();
    await using admin = new KafkaAdmin({ brokers: infra.kafka.brokers });
    // Deleting a topic completes in the background on the broker: poll its metadata until they are gone.
    const left = async () =>
      (await admin.listTopics()).map((topic) => topic.name).filter((name) => name.startsWith(`${prefix}.`));
    await waitUntil(`the ${prefix}.* topics to be gone`, async () => (await left()).length === 0, {
      timeoutMs: 30_000,
    });
  });
});
