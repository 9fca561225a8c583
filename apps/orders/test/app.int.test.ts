import { SchemaRegistry } from '@bus/codecs/registry';
import { KafkaAdmin } from '@bus/kafka';
import { testInfra } from '@bus/test-infra';
import { main } from '@example/orders';
import { afterEach, describe, expect, it } from 'vitest';

const saved = { KAFKA_BROKERS: process.env.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL };
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('orders app on the real Kafka broker and registry', () => {
  it('with KAFKA_BROKERS and SCHEMA_REGISTRY_URL set: Avro on the registry, retries, DLQ, replay, every order ships', async () => {
    const infra = testInfra();
    process.env.KAFKA_BROKERS = infra.kafka.brokers.join(',');
    process.env.SCHEMA_REGISTRY_URL = infra.registry.url;
    const prefix = `orders-it-${Date.now().toString(36)}`;
    const lines: string[] = [];
    expect(await main(['--orders', '20', '--prefix', prefix], (line) => lines.push(line))).toBe(0);

    expect(lines[0]).toContain(
      `events on ${prefix}.stream (Kafka at ${infra.kafka.brokers.join(',')} with the registry at`,
    );
    expect(lines).toContain('orders: 18 shipped, 2 dead-lettered after 6 retries (last error: PAYMENT_PROVIDER_DOWN)');
    expect(lines).toContain('orders: the gift-card provider is back; replayed 2 dead letters');
    expect(lines).toContain('orders: 20 shipped; projection applied 60 events, ignored 2 duplicates, 0 out of order');
    expect(lines.at(-1)).toMatch(/-> shipped \(TRK-/);

    // Each event and the command were written in the Confluent wire format under `<topic>-<record>` subjects.
    await using registry = new SchemaRegistry({ url: infra.registry.url });
    const subjects = (await registry.subjects()).filter((s) => s.startsWith(prefix)).sort();
    expect(subjects).toEqual([
      `${prefix}.commands-shop.orders.PlaceOrder`,
      `${prefix}.stream-shop.orders.OrderPaid`,
      `${prefix}.stream-shop.orders.OrderPlaced`,
      `${prefix}.stream-shop.orders.OrderShipped`,
    ]);
    // A named prefix keeps its topics; the one-shot default (no --prefix) deletes them.
    await using admin = new KafkaAdmin({ brokers: infra.kafka.brokers });
    expect((await admin.describeTopic(`${prefix}.stream`)).partitions).toHaveLength(3);
    await admin.deleteTopics([
      `${prefix}.stream`,
      `${prefix}.commands`,
      `${prefix}.stream.dlq`,
      `${prefix}.commands.dlq`,
    ]);
    for (const subject of subjects) await registry.deleteSubject(subject);
  });
});
