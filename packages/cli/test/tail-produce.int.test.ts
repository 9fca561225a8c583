import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { bus, busBin, kafkaUrl, registryUrl, waitFor } from './helpers.ts';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const conn = () => ['--url', kafkaUrl(), '--registry', registryUrl()];

interface Tailed {
  partition: number;
  offset: number;
  timestamp: string;
  key: unknown;
  headers: Record<string, string>;
  format: string;
  schemaId?: number;
  value: unknown;
}

async function createTopic(partitions: number): Promise<string> {
  const topic = uniqueName('cli-tail');
  const created = await bus(['--url', kafkaUrl(), 'topics', 'create', topic, '-p', String(partitions)]);
  expect(created.code).toBe(0);
  return topic;
}

describe('bus produce and bus tail (real broker and registry)', () => {
  it('produces JSON lines with keys and headers, and tails them with filters, positions and limits', async () => {
    const topic = await createTopic(2);
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `c${i % 2}`, n: i })).join('\n');
    const produced = await bus([...conn(), '--json', 'produce', topic, '--key-field', 'id', '-H', 'source=cli-test'], {
      stdin: `${lines}\n`,
    });
    expect(produced.stderr).toBe('');
    expect(produced.json()).toEqual([{ topic, produced: 10 }]);

    const all = (await bus([...conn(), '--json', 'tail', topic])).json<Tailed>();
    expect(all).toHaveLength(10);
    expect(all.map((r) => (r.value as { n: number }).n).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const record of all) {
      expect(record.format).toBe('json');
      expect(record.key).toBe((record.value as { id: string }).id);
      expect(record.headers.source).toBe('cli-test');
    }
    // Same key, same partition, in order.
    const c1 = all.filter((r) => r.key === 'c1');
    expect(new Set(c1.map((r) => r.partition)).size).toBe(1);
    expect(c1.map((r) => (r.value as { n: number }).n)).toEqual([1, 3, 5, 7, 9]);
    const partition = c1[0]!.partition;

    const byKey = (await bus([...conn(), '--json', 'tail', topic, '--key', 'c0', '--limit', '2'])).json<Tailed>();
    expect(byKey.map((r) => (r.value as { n: number }).n)).toEqual([0, 2]);
    const fromOffset = await bus([...conn(), '--json', 'tail', topic, '-p', String(partition), '--from', '3']);
    expect(fromOffset.json<Tailed>().map((r) => [r.offset, (r.value as { n: number }).n])).toEqual([
      [3, 7],
      [4, 9],
    ]);
    const none = await bus([...conn(), '--json', 'tail', topic, '-H', 'source=elsewhere']);
    expect(none.stdout).toBe('');
    const future = await bus([...conn(), '--json', 'tail', topic, '--from', '2999-01-01T00:00:00Z']);
    expect(future.stdout).toBe('');
    const past = await bus([...conn(), '--json', 'tail', topic, '--from', '2000-01-01T00:00:00Z']);
    expect(past.json()).toHaveLength(10);

    const typed = await bus(['--url', kafkaUrl(), 'produce', topic, '-H', 'ce_type=shop.OrderPlaced'], {
      stdin: '{"t":1}\n',
    });
    expect(typed.code).toBe(0);
    const withType = await bus([...conn(), 'tail', topic, '-H', 'ce_type=shop.OrderPlaced']);
    expect(withType.stdout).toMatch(/ key=- type=shop\.OrderPlaced \[json\] \{"t":1\}\n$/);

    const text = await bus([...conn(), 'tail', topic, '-p', String(partition), '--limit', '1']);
    expect(text.stdout).toMatch(
      new RegExp(`^${partition}@0 \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z key=c1 \\[json\\] \\{"id":"c1","n":1\\}\\n$`),
    );
  });

  it('encodes through the registry with --schema (Avro, Protobuf, JSON Schema) and --subject, and tail decodes by magic byte', async () => {
    const topic = await createTopic(1);
    const avroSubject = uniqueName('cli-order-value');
    const avro = await bus(
      [
        ...conn(),
        '--json',
        'produce',
        topic,
        '--schema',
        fixture('order.avsc'),
        '--subject',
        avroSubject,
        '--key-field',
        'id',
      ],
      {
        stdin: '{"id":"o-1","total":9.5}\n{"id":"o-2","total":20}\n',
      },
    );
    expect(avro.stderr).toBe('');
    expect(avro.json()).toEqual([{ topic, produced: 2 }]);
    // --subject alone writes with the subject's latest schema.
    const latest = await bus([...conn(), 'produce', topic, '--subject', avroSubject], {
      stdin: '{"id":"o-3","total":1.25}\n',
    });
    expect(latest.code).toBe(0);
    const proto = await bus(
      [
        ...conn(),
        'produce',
        topic,
        '--schema',
        fixture('shipment.proto'),
        '--message-type',
        'example.shipping.Shipment',
        '--subject',
        uniqueName('cli-shipment'),
      ],
      { stdin: '{"id":"s-1","parcels":2,"to":{"city":"Lyon"}}\n' },
    );
    expect(proto.stderr).toBe('');
    const json = await bus(
      [...conn(), 'produce', topic, '--schema', fixture('invoice.schema.json'), '--subject', uniqueName('cli-invoice')],
      {
        stdin: '{"number":"F-7","amount":12}\n',
      },
    );
    expect(json.stderr).toBe('');

    const tailed = (await bus([...conn(), '--json', 'tail', topic])).json<Tailed>();
    expect(tailed.map((r) => [r.format, r.value])).toEqual([
      ['avro', { id: 'o-1', total: 9.5 }],
      ['avro', { id: 'o-2', total: 20 }],
      ['avro', { id: 'o-3', total: 1.25 }],
      ['protobuf', { id: 's-1', parcels: 2, to: { city: 'Lyon' } }],
      ['json-schema', { number: 'F-7', amount: 12 }],
    ]);
    expect(tailed[0]!.key).toBe('o-1');
    expect(tailed[0]!.schemaId).toBe(tailed[2]!.schemaId);
    expect(new Set(tailed.map((r) => r.schemaId)).size).toBe(3);

    // Without a registry the framed payloads are still shown, as bytes with the schema id.
    const raw = (await bus(['--url', kafkaUrl(), '--json', 'tail', topic, '--limit', '1'])).json<
      Tailed & { error: string }
    >();
    expect(raw[0]).toMatchObject({ format: 'bytes', schemaId: tailed[0]!.schemaId });
    expect(raw[0]!.error).toContain('--registry');
  });

  it('tail --follow prints records as they arrive and stops at --limit (built binary)', async () => {
    const topic = await createTopic(2);
    const following = busBin(['--url', kafkaUrl(), '--json', 'tail', topic, '--follow', '--from', '0', '--limit', '3']);
    // Records written before or after the tail starts are all past offset 0 of an empty topic.
    for (let i = 0; i < 3; i++) {
      const produced = await bus(['--url', kafkaUrl(), 'produce', topic, '--key-field', 'k'], {
        stdin: `{"k":"k${i}","i":${i}}\n`,
      });
      expect(produced.code).toBe(0);
    }
    const run = await following;
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(
      run
        .json<Tailed>()
        .map((r) => (r.value as { i: number }).i)
        .sort(),
    ).toEqual([0, 1, 2]);
  });

  it('tail --follow without a limit exits 0 on Ctrl-C (SIGINT to the built binary)', async () => {
    const topic = await createTopic(1);
    const child = spawn(process.execPath, [bin, '--url', kafkaUrl(), '--json', 'tail', topic, '--follow'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // It starts at the end it sees when it starts: write until it prints something.
    await waitFor(async () => {
      await bus(['--url', kafkaUrl(), 'produce', topic], { stdin: '{"ping":true}\n' });
      return stdout.includes('"ping":true');
    });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect(JSON.parse(stdout.split('\n')[0]!)).toMatchObject({ topic, format: 'json', value: { ping: true } });
  });

  it('rejects bad input with one line and a non-zero exit', async () => {
    const topic = await createTopic(1);
    const notJson = await bus(['--url', kafkaUrl(), 'produce', topic], { stdin: '{"ok":1}\nnot json\n' });
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toBe('error [CLI_BAD_INPUT]: Line 2 is not JSON (0 records published before it)\n');
    const misfit = await bus(
      [...conn(), 'produce', topic, '--schema', fixture('order.avsc'), '--subject', uniqueName('cli-misfit')],
      {
        stdin: '{"id":42}\n',
      },
    );
    expect(misfit.code).toBe(1);
    expect(misfit.stderr).toMatch(/^error \[CLI_BAD_INPUT\]: Line 1 does not fit the schema: /);
    const noKey = await bus(['--url', kafkaUrl(), 'produce', topic, '--key-field', 'id'], { stdin: '{"other":1}\n' });
    expect(noKey.stderr).toBe('error [CLI_BAD_INPUT]: Line 1 has no "id" for the key\n');
    const unknown = await bus(['--url', kafkaUrl(), 'tail', uniqueName('cli-none')]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error \[KAFKA_UNKNOWN_TOPIC\]/);
    const unknownProduce = await bus(['--url', kafkaUrl(), 'produce', uniqueName('cli-none')], { stdin: '{}\n' });
    expect(unknownProduce.stderr).toMatch(/^error \[KAFKA_UNKNOWN_TOPIC\]/);
    const badFrom = await bus(['--url', kafkaUrl(), 'tail', topic, '--from', 'yesterday']);
    expect(badFrom.code).toBe(2);
    expect(badFrom.stderr).toMatch(/^error \[CLI_USAGE\]: --from must be earliest, latest, an offset or an ISO time/);
    const noRegistry = await bus(['--url', kafkaUrl(), 'produce', topic, '--subject', 'x-value'], { stdin: '{}\n' });
    expect(noRegistry.stderr).toMatch(/^error \[CLI_NO_REGISTRY\]/);
    // Nothing of the failed runs reached the topic.
    expect((await bus(['--url', kafkaUrl(), 'tail', topic])).stdout).toBe('');
  });
});
