import { testInfra, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { bus, busBin, kafkaUrl } from './helpers.ts';

describe('bus topics (real broker)', () => {
  it('creates, lists and describes a topic; --json prints one document per line', async () => {
    const topic = uniqueName('cli-topics');
    const created = await bus([
      '--url',
      kafkaUrl(),
      '--json',
      'topics',
      'create',
      topic,
      '-p',
      '3',
      '-c',
      'retention.ms=3600000',
    ]);
    expect(created.code).toBe(0);
    expect(created.json()).toEqual([{ topic, partitions: 3, created: true }]);
    const again = await bus(['--url', kafkaUrl(), '--json', 'topics', 'create', topic, '-p', '3']);
    expect(again.json()).toEqual([{ topic, partitions: 3, created: false }]);

    const list = await bus(['--url', kafkaUrl(), '--json', 'topics', 'list']);
    expect(list.code).toBe(0);
    const topics = list.json<{ name: string; partitions: number }>();
    expect(topics).toContainEqual({ name: topic, partitions: 3 });
    expect(topics.some((t) => t.name === '__consumer_offsets')).toBe(false);

    const described = await bus(['--url', kafkaUrl(), '--json', 'topics', 'describe', topic]);
    const [doc] = described.json<{
      name: string;
      partitions: { partition: number; low: number; high: number }[];
      configs: Record<string, string>;
    }>();
    expect(doc?.name).toBe(topic);
    expect(doc?.partitions.map((p) => [p.partition, p.low, p.high])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
    ]);
    expect(doc?.configs['retention.ms']).toBe('3600000');

    const table = await bus(['--url', kafkaUrl(), 'topics', 'describe', topic]);
    expect(table.stdout).toMatch(/partition.*leader.*replicas.*isr/);
    expect(table.stdout).toContain('retention.ms');
  });

  it('the built binary reads KAFKA_BOOTSTRAP_SERVERS and exits 0', async () => {
    const topic = uniqueName('cli-bin');
    const env = { KAFKA_BOOTSTRAP_SERVERS: kafkaUrl().replace('kafka://', '') };
    const created = await busBin(['topics', 'create', topic, '--partitions', '2', '--json'], { env });
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.json()).toEqual([{ topic, partitions: 2, created: true }]);
    const list = await busBin(['--json', 'topics', 'list'], { env });
    expect(list.json()).toContainEqual({ name: topic, partitions: 2 });
  });

  it('errors are one line with a code and a non-zero exit, with a stack only under --verbose', async () => {
    const unknown = await busBin(['--url', kafkaUrl(), 'topics', 'describe', uniqueName('cli-none')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error \[KAFKA_UNKNOWN_TOPIC\]: Topic\(s\) do not exist: "cli-none-[^"]+"\n$/);
    expect(unknown.stdout).toBe('');

    const badUrl = await busBin(['--url', 'http://localhost:19092', 'topics', 'list']);
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr.trim().split('\n')).toHaveLength(1);
    expect(badUrl.stderr).toMatch(/^error \[CONFIG_INVALID\]: Invalid Kafka URL options: scheme must be kafka:\/\//);

    const none = await busBin(['topics', 'list']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error \[CLI_NO_CONNECTION\]: No Kafka connection: pass --url/);

    const usage = await busBin(['topics', 'explode']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error \[CLI_USAGE\]: unknown command 'explode'/);

    const verbose = await busBin(['--verbose', '--url', kafkaUrl(), 'topics', 'describe', uniqueName('cli-none')]);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr.split('\n')[0]).toMatch(/^error \[KAFKA_UNKNOWN_TOPIC\]/);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });

  it('never prints the password of a URL or of KAFKA_SASL_PASSWORD', async () => {
    const password = 'pa55-w0rd-do-not-print';
    const refused = await bus(['--url', `kafka://alice:${password}@127.0.0.1:1`, '--verbose', 'topics', 'list']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error \[KAFKA_CONNECTION_FAILED\]/);
    expect(refused.stderr).not.toContain(password);

    const env = {
      KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1',
      KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      KAFKA_SASL_MECHANISM: 'PLAIN',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_PASSWORD: password,
    };
    const sasl = testInfra().kafka.sasl;
    expect(sasl, 'the test infra has a SASL listener').toBeDefined();
    const wrong = await bus([
      '--url',
      `kafka://${sasl!.plain.username}:${password}@${sasl!.brokers.join(',')}?mechanism=PLAIN`,
      'topics',
      'list',
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error \[KAFKA_AUTHENTICATION_FAILED\]/);
    expect(wrong.stderr).not.toContain(password);
    const right = await bus([
      '--url',
      `kafka://${sasl!.plain.username}:${encodeURIComponent(sasl!.plain.password)}@${sasl!.brokers.join(',')}?mechanism=PLAIN`,
      '--json',
      'topics',
      'list',
    ]);
    expect(right.code).toBe(0);

    const fromEnv = await busBin(['--verbose', 'topics', 'list'], { env });
    expect(fromEnv.code).toBe(1);
    expect(fromEnv.stderr).not.toContain(password);
  });
});
