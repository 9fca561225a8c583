import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testInfra } from '@bus/test-infra';
import { KafkaAdmin } from '@bus/kafka';
import { type AuditRecord, main } from '@example/audit';
import { waitUntil } from '@example/orders';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'audit-app-int-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saved = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL };
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('audit app on the real Kafka broker and registry', () => {
  it('--kafka: decodes every event type through the registry and writes each once, replays marked', async () => {
    const infra = testInfra();
    process.env.KAFKA_BROKERS = infra.kafka.brokers.join(',');
    process.env.SCHEMA_REGISTRY_URL = infra.registry.url;
    const logPath = join(dir, 'audit.jsonl');
    const lines: string[] = [];
    expect(await main(['--kafka', '--orders', '10', '--log', logPath], (line) => lines.push(line))).toBe(0);
    expect(lines[0]).toMatch(/^audit: reading every event type of audit-[a-z0-9]+\.stream, writing /);
    expect(lines.at(-1)).toBe(
      'audit: 31 records (shop.OrderPaid 10, shop.OrderPlaced 11, shop.OrderShipped 10), 1 of them replayed from the dead-letter topic',
    );
    const records = readFileSync(logPath, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditRecord);
    expect(new Set(records.map((r) => `${r.topic}/${r.partition}/${r.offset}`)).size).toBe(31);
    expect(records.find((r) => r.type === 'shop.OrderShipped')?.data).toMatchObject({ carrier: 'parcel-co' });

    // The run's throw-away topics are deleted once every client is closed (none is created again).
    const prefix = /of (audit-[a-z0-9]+)\.stream,/.exec(lines[0] ?? '')?.[1];
    expect(prefix).toBeDefined();
    await using admin = new KafkaAdmin({ brokers: infra.kafka.brokers });
    const left = async () => (await admin.listTopics()).map((t) => t.name).filter((n) => n.startsWith(`${prefix}.`));
    await waitUntil(`the ${prefix}.* topics to be gone`, async () => (await left()).length === 0, {
      timeoutMs: 30_000,
    });
  });
});
