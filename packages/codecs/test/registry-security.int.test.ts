import { CodecError } from '@bus/codecs';
import { avroSchemaFormat } from '@bus/codecs/avro';
import { registryCodec, SchemaRegistry } from '@bus/codecs/registry';
import { uniqueName } from '@bus/test-infra';
import { beforeAll, describe, expect, it } from 'vitest';
import { type OrderPlaced, orderSchemaV1, sampleOrder } from './fixtures.ts';
import { generateCertificates, type TestCertificates } from './support/certificates.ts';
import { startCountingProxy } from './support/counting-proxy.ts';
import { registryUrl } from './support/registry.ts';

let certs: TestCertificates;
beforeAll(() => {
  certs = generateCertificates();
});

async function roundTrip(registry: SchemaRegistry): Promise<OrderPlaced> {
  const codec = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
  const ctx = { topic: uniqueName('codecs-secure'), role: 'value' as const };
  const bytes = await codec.encode(sampleOrder(8), ctx);
  const reader = registryCodec({ registry, format: avroSchemaFormat<OrderPlaced>({ schema: orderSchemaV1 }) });
  return reader.decode(bytes, ctx);
}

async function failure(run: () => Promise<unknown>): Promise<CodecError> {
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(CodecError.isInstance(error), String(error)).toBe(true);
  return error as CodecError;
}

describe('registry auth and TLS (through local proxies in front of the real registry)', () => {
  it('sends basic credentials on every request, also when given in the URL', async () => {
    await using proxy = await startCountingProxy(registryUrl());
    await using withAuth = new SchemaRegistry({ url: proxy.url, auth: { username: 'svc-orders', password: 's3cret' } });
    expect(await roundTrip(withAuth)).toEqual(sampleOrder(8));
    const expected = `Basic ${Buffer.from('svc-orders:s3cret').toString('base64')}`;
    expect(proxy.authorizations.length).toBeGreaterThan(0);
    expect(new Set(proxy.authorizations)).toEqual(new Set([expected]));

    const inUrl = proxy.url.replace('http://', 'http://svc-url:p%40ss@');
    await using fromUrl = new SchemaRegistry({ url: inUrl });
    expect(fromUrl.url).not.toContain('p%40ss');
    await fromUrl.subjects();
    expect(proxy.authorizations.at(-1)).toBe(`Basic ${Buffer.from('svc-url:p@ss').toString('base64')}`);
  });

  it('trusts a private CA given in tls.ca, and refuses an unknown CA without retrying', async () => {
    await using proxy = await startCountingProxy(registryUrl(), {
      key: certs.serverKeyPem,
      cert: certs.serverCertPem,
      ca: certs.caPem,
    });
    await using trusted = new SchemaRegistry({ url: proxy.url, tls: { ca: certs.caPem } });
    expect(await roundTrip(trusted)).toEqual(sampleOrder(8));

    await using untrusted = new SchemaRegistry({ url: proxy.url });
    const error = await failure(() => untrusted.subjects());
    expect(error.code).toBe('REGISTRY_ERROR');
    expect(error.isRetryable).toBe(false);
  });

  it('presents a client certificate for mutual TLS', async () => {
    await using proxy = await startCountingProxy(registryUrl(), {
      key: certs.serverKeyPem,
      cert: certs.serverCertPem,
      ca: certs.caPem,
      requireClientCert: true,
    });
    await using mutual = new SchemaRegistry({
      url: proxy.url,
      tls: { ca: certs.caPem, cert: certs.clientCertPem, key: certs.clientKeyPem },
    });
    expect(await roundTrip(mutual)).toEqual(sampleOrder(8));

    const served = proxy.requests.length;
    await using anonymous = new SchemaRegistry({ url: proxy.url, tls: { ca: certs.caPem } });
    await failure(() => anonymous.subjects());
    expect(proxy.requests.length).toBe(served);
  });
});
