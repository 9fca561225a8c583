import { fileURLToPath } from 'node:url';
import { SchemaRegistry } from '@bus/codecs/registry';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { bus, busBin, registryUrl } from './helpers.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('bus schema (real registry)', () => {
  it('registers a schema, and check passes a compatible change and fails an incompatible one (exit 1, for CI)', async () => {
    const subject = uniqueName('cli-schema-value');
    const registered = await bus([
      '--registry',
      registryUrl(),
      '--json',
      'schema',
      'register',
      fixture('order.avsc'),
      '--subject',
      subject,
    ]);
    expect(registered.stderr).toBe('');
    const [doc] = registered.json<{ subject: string; id: number; version: number; schemaType: string }>();
    expect(doc).toMatchObject({ subject, version: 1, schemaType: 'AVRO' });
    expect(doc!.id).toBeGreaterThan(0);
    // Registering the same schema again is idempotent.
    const again = await bus([
      '--registry',
      registryUrl(),
      '--json',
      'schema',
      'register',
      fixture('order.avsc'),
      '--subject',
      subject,
    ]);
    expect(again.json()[0]).toMatchObject({ id: doc!.id, version: 1 });

    const registry = new SchemaRegistry({ url: registryUrl() });
    await registry.setCompatibility(subject, 'BACKWARD');

    const compatible = await busBin(['schema', 'check', fixture('order-v2.avsc'), '--subject', subject], {
      env: { SCHEMA_REGISTRY_URL: registryUrl() },
    });
    expect(compatible.stderr).toBe('');
    expect(compatible.code).toBe(0);
    expect(compatible.stdout).toBe(`compatible: ${fixture('order-v2.avsc')} with ${subject}\n`);

    const broken = await busBin(['schema', 'check', fixture('order-broken.avsc'), '--subject', subject], {
      env: { SCHEMA_REGISTRY_URL: registryUrl() },
    });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      new RegExp(`^error \\[CLI_SCHEMA_INCOMPATIBLE\\]: .*order-broken\\.avsc is not compatible with ${subject}`),
    );
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);

    const json = await bus([
      '--registry',
      registryUrl(),
      '--json',
      'schema',
      'check',
      fixture('order-broken.avsc'),
      '--subject',
      subject,
    ]);
    expect(json.code).toBe(1);
    expect(json.json()[0]).toMatchObject({ subject, compatible: false });

    // A subject without versions accepts anything.
    const fresh = await bus([
      '--registry',
      registryUrl(),
      'schema',
      'check',
      fixture('order-broken.avsc'),
      '--subject',
      uniqueName('cli-new'),
    ]);
    expect(fresh.code).toBe(0);
  });

  it('reports missing files, unknown formats and a missing registry as one line', async () => {
    const missing = await bus([
      '--registry',
      registryUrl(),
      'schema',
      'check',
      '/nonexistent/x.avsc',
      '--subject',
      's',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('error [CLI_USAGE]: Cannot read schema file /nonexistent/x.avsc: ENOENT\n');
    const noSubject = await bus(['--registry', registryUrl(), 'schema', 'check', fixture('order.avsc')]);
    expect(noSubject.code).toBe(2);
    expect(noSubject.stderr).toMatch(/^error \[CLI_USAGE\]: required option '-s, --subject <subject>' not specified/);
    const noRegistry = await bus(['schema', 'register', fixture('order.avsc'), '--subject', 's']);
    expect(noRegistry.code).toBe(1);
    expect(noRegistry.stderr).toMatch(/^error \[CLI_NO_REGISTRY\]/);
    const password = 'reg1stry-secret';
    const unreachable = await bus([
      '--registry',
      `http://bob:${password}@127.0.0.1:1`,
      'schema',
      'register',
      fixture('order.avsc'),
      '--subject',
      's',
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^error \[REGISTRY_UNAVAILABLE\]/);
    expect(unreachable.stderr).not.toContain(password);
  });
});
