import { KafkaAdmin } from '@bus/kafka';
import { waitUntil } from '@example/orders';
import { main } from '@example/pricing';
import { testInfra } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';

describe('pricing app on the real Kafka broker', () => {
  it('--kafka with KAFKA_BROKERS quotes over Kafka topics', async () => {
    const prefix = `pricing-it-${Date.now().toString(36)}`;
    const previous = process.env.KAFKA_BROKERS;
    process.env.KAFKA_BROKERS = testInfra().kafka.brokers.join(',');
    const lines: string[] = [];
    try {
      expect(await main(['--kafka', '--requests', '4', '--prefix', prefix], (line) => lines.push(line))).toBe(0);
    } finally {
      if (previous === undefined) delete process.env.KAFKA_BROKERS;
      else process.env.KAFKA_BROKERS = previous;
    }
    expect(lines[0]).toBe(
      `pricing: serving ${prefix}.pricing.quote on the Kafka at ${testInfra().kafka.brokers.join(',')}`,
    );
    expect(lines.filter((line) => / = \d+\.\d\d EUR/.test(line))).toHaveLength(3);
    expect(lines).toContain('  quote tea-white x10 refused: UNKNOWN_SKU (Unknown SKU "tea-white")');
    expect(lines.at(-1)).toMatch(/^pricing: 3 quoted, 1 refused, round trip p50 /);

    // The client deleted its reply topic on close; the request topic stays (a named prefix), until we remove it.
    await using admin = new KafkaAdmin({ brokers: testInfra().kafka.brokers });
    const topics = async () => (await admin.listTopics()).map((t) => t.name).filter((n) => n.startsWith(`${prefix}.`));
    await waitUntil('the reply topic to be gone', async () => (await topics()).every((n) => !n.includes('.replies.')));
    expect(await topics()).toEqual([`${prefix}.pricing.quote`]);
    await admin.deleteTopics([`${prefix}.pricing.quote`]);
  });
});
