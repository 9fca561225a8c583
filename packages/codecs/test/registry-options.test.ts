import { avroSchemaFormat } from '@bus/codecs/avro';
import { jsonSchemaFormat } from '@bus/codecs/json';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { registryCodec, SchemaRegistry } from '@bus/codecs/registry';
import { ConfigError } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { orderProto, orderSchemaV1, orderSchemaV2 } from './fixtures.ts';

function issuePaths(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(ConfigError.isInstance(error)).toBe(true);
    return (error as ConfigError).issues.map((issue) => issue.path).sort();
  }
  throw new Error('expected a ConfigError');
}

describe('registry options', () => {
  it('SchemaRegistry reports every problem at once and never echoes secrets', () => {
    expect(
      issuePaths(
        () =>
          new SchemaRegistry({
            url: 'http://127.0.0.1:1',
            timeoutMs: 0,
            auth: { username: '', password: 42 as never },
            tls: { ca: 'x' },
            cacheDir: '',
          }),
      ),
    ).toEqual(['auth.password', 'auth.username', 'cacheDir', 'timeoutMs', 'tls']);
    expect(issuePaths(() => new SchemaRegistry({ url: 'ftp://x' }))).toEqual(['url']);
    expect(issuePaths(() => new SchemaRegistry({ url: 'not a url' }))).toEqual(['url']);
    try {
      new SchemaRegistry({ url: 'http://u:topsecret@h', auth: { username: 'a', password: 'b' } });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toContain('must not contain credentials');
      expect((error as Error).message).not.toContain('topsecret');
    }
  });

  it('registryCodec reports every problem at once', () => {
    expect(
      issuePaths(() =>
        registryCodec({
          registry: {} as never,
          format: {} as never,
          subjectNameStrategy: 'Topic' as never,
          schema: { version: 0 },
          contentType: '',
        }),
      ),
    ).toEqual(['contentType', 'format', 'registry', 'schema.version', 'subjectNameStrategy']);
    const registry = new SchemaRegistry({ url: 'http://127.0.0.1:1' });
    expect(
      issuePaths(() =>
        registryCodec({ registry, format: avroSchemaFormat({ schema: orderSchemaV1 }), schema: 'newest' as never }),
      ),
    ).toEqual(['schema']);
  });

  it('names subjects per strategy and needs a topic for topic-based ones', async () => {
    const registry = new SchemaRegistry({ url: 'http://127.0.0.1:1' });
    const format = avroSchemaFormat({ schema: orderSchemaV1 });
    expect(registryCodec({ registry, format }).subjectFor('orders', 'key')).toBe('orders-key');
    expect(registryCodec({ registry, format, subjectNameStrategy: 'RecordName' }).subjectFor(undefined, 'value')).toBe(
      'shop.orders.OrderPlaced',
    );
    const custom = registryCodec({
      registry,
      format,
      subjectNameStrategy: (info) => `${info.role}.${info.recordName}`,
    });
    expect(custom.subjectFor('t', 'value')).toBe('value.shop.orders.OrderPlaced');
    await expect(registryCodec({ registry, format }).prepare(undefined)).rejects.toMatchObject({
      code: 'ENCODE_FAILED',
    });
  });

  it('formats recognise their own schema however it was written', () => {
    const avro = avroSchemaFormat({ schema: orderSchemaV1 });
    expect(avro.matches({ schemaType: 'AVRO', schema: JSON.stringify(orderSchemaV1, null, 2) })).toBe(true);
    expect(avro.matches(avroSchemaFormat({ schema: orderSchemaV2 }).schema)).toBe(false);
    expect(avro.matches({ schemaType: 'AVRO', schema: 'not json' })).toBe(false);
    const proto = protobufSchemaFormat({ proto: orderProto, typeName: 'shop.orders.OrderPlaced' });
    expect(
      proto.matches({ schemaType: 'PROTOBUF', schema: `// reformatted\n${orderProto.replace(/\n\n/g, '\n')}` }),
    ).toBe(true);
    expect(proto.matches({ schemaType: 'AVRO', schema: orderProto })).toBe(false);
    const json = jsonSchemaFormat({ jsonSchema: { type: 'object', title: 'T' } });
    expect(json.recordName).toBe('T');
    expect(json.matches({ schemaType: 'JSON', schema: '{ "type": "object", "title": "T" }' })).toBe(true);
    expect(issuePaths(() => jsonSchemaFormat({ jsonSchema: '{nope' }))).toEqual(['jsonSchema']);
    expect(issuePaths(() => protobufSchemaFormat({ proto: undefined as never, typeName: 'x' }))).toContain('proto');
  });
});
