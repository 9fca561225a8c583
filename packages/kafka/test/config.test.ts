import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, ConfigIssues, noopLogger } from '@bus/core';
import {
  createKafkaClient,
  KafkaPublisher,
  kafkaConfigFromEnv,
  kafkaConfigFromUrl,
  validateConnectionOptions,
} from '@bus/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toKafkaJsConfig } from '../src/connection.ts';

const SECRET = 'p@ss:w/rd?#%-s3cr3t';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

async function configErrorAsync(fn: () => Promise<unknown>): Promise<ConfigError> {
  const error = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  if (ConfigError.isInstance(error)) return error;
  throw new Error(`expected a ConfigError, got ${String(error)}`);
}

describe('kafkaConfigFromUrl', () => {
  it('parses hosts, URL-decoded credentials, security, mechanism, clientId and groupId', () => {
    const url = `kafka://app%40corp:${encodeURIComponent(SECRET)}@h1:9092,h2:9093?security=SASL_SSL&mechanism=SCRAM-SHA-512&clientId=x&groupId=g`;
    expect(kafkaConfigFromUrl(url)).toEqual({
      brokers: ['h1:9092', 'h2:9093'],
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: 'app@corp', password: SECRET },
      clientId: 'x',
      groupId: 'g',
    });
  });

  it('infers TLS from kafka+ssl:// and SASL from credentials', () => {
    expect(kafkaConfigFromUrl('kafka://localhost:9092')).toEqual({ brokers: ['localhost:9092'] });
    expect(kafkaConfigFromUrl('kafka+ssl://b:9093')).toEqual({ brokers: ['b:9093'], ssl: true });
    expect(kafkaConfigFromUrl('kafka+ssl://u:p@b:9093')).toEqual({
      brokers: ['b:9093'],
      ssl: true,
      sasl: { mechanism: 'plain', username: 'u', password: 'p' },
    });
    expect(kafkaConfigFromUrl('kafka://u:p@b:9092?mechanism=scram-sha-256').sasl).toEqual({
      mechanism: 'scram-sha-256',
      username: 'u',
      password: 'p',
    });
  });

  it('reports every problem at once and never echoes the password', () => {
    const url = `http://u:${encodeURIComponent(SECRET)}@h1:notaport,h2?security=TLS&mechanism=GSSAPI&colour=blue`;
    const error = configError(() => kafkaConfigFromUrl(url));
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['scheme', '?security', '?mechanism', 'query', 'brokers[0]', 'brokers[1]']),
    );
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(encodeURIComponent(SECRET));
    expect(JSON.stringify(error.issues)).not.toContain('s3cr3t');
    expect(JSON.stringify(error.issues)).not.toContain('colour');
  });

  it('rejects inconsistent security settings', () => {
    const sasl = configError(() => kafkaConfigFromUrl('kafka://b:9092?security=SASL_PLAINTEXT'));
    expect(sasl.issues.map((i) => i.path)).toEqual(['username']);
    const creds = configError(() => kafkaConfigFromUrl('kafka://u:p@b:9092?security=SSL'));
    expect(creds.issues.map((i) => i.path)).toEqual(['?security']);
    expect(creds.message).not.toContain(':p@');
    expect(configError(() => kafkaConfigFromUrl('not a url')).issues.map((i) => i.path)).toEqual(['url']);
  });
});

describe('kafkaConfigFromEnv', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bus-kafka-env-'));
    await writeFile(join(dir, 'ca.pem'), 'CA PEM');
    await writeFile(join(dir, 'cert.pem'), 'CERT PEM');
    await writeFile(join(dir, 'key.pem'), 'KEY PEM');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads every variable, and the files TLS variables name', async () => {
    const config = await kafkaConfigFromEnv({
      env: {
        KAFKA_BOOTSTRAP_SERVERS: 'a:9092, b:9092',
        KAFKA_CLIENT_ID: 'svc',
        KAFKA_GROUP_ID: 'grp',
        KAFKA_SECURITY_PROTOCOL: 'sasl_ssl',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
        KAFKA_SASL_USERNAME: 'user',
        KAFKA_SASL_PASSWORD: SECRET,
        KAFKA_SSL_CAFILE: join(dir, 'ca.pem'),
        KAFKA_SSL_CERTFILE: join(dir, 'cert.pem'),
        KAFKA_SSL_KEYFILE: join(dir, 'key.pem'),
        KAFKA_AUTO_OFFSET_RESET: 'earliest',
      },
    });
    expect(config).toMatchObject({
      brokers: ['a:9092', 'b:9092'],
      clientId: 'svc',
      groupId: 'grp',
      autoOffsetReset: 'earliest',
      sasl: { mechanism: 'scram-sha-256', username: 'user', password: SECRET },
    });
    const ssl = config.ssl as { ca: Buffer; cert: Buffer; key: Buffer };
    expect([ssl.ca.toString(), ssl.cert.toString(), ssl.key.toString()]).toEqual(['CA PEM', 'CERT PEM', 'KEY PEM']);
  });

  it('supports a custom prefix and the nested double-underscore style', async () => {
    const config = await kafkaConfigFromEnv({
      prefix: 'ORDERS',
      env: { ORDERS__BOOTSTRAP_SERVERS: 'x:1', ORDERS__GROUP_ID: 'g2', KAFKA_BOOTSTRAP_SERVERS: 'ignored:2' },
    });
    expect(config).toEqual({ brokers: ['x:1'], groupId: 'g2' });
  });

  it('reports every problem at once, including unreadable files, without echoing secrets', async () => {
    const error = await configErrorAsync(() =>
      kafkaConfigFromEnv({
        env: {
          KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
          KAFKA_SASL_MECHANISM: 'KERBEROS',
          KAFKA_SASL_PASSWORD: SECRET,
          KAFKA_SSL_CAFILE: join(dir, 'missing.pem'),
          KAFKA_AUTO_OFFSET_RESET: 'none',
        },
      }),
    );
    expect(error.issues.map((i) => i.path).sort()).toEqual(
      [
        'KAFKA_AUTO_OFFSET_RESET',
        'KAFKA_BOOTSTRAP_SERVERS',
        'KAFKA_SASL_MECHANISM',
        'KAFKA_SASL_USERNAME',
        'KAFKA_SSL_CAFILE',
      ].sort(),
    );
    expect(error.issues.find((i) => i.path === 'KAFKA_SSL_CAFILE')?.message).toContain('ENOENT');
    expect(error.message).not.toContain(SECRET);
  });

  it('an unknown security protocol hides none of the other problems', async () => {
    const error = await configErrorAsync(() =>
      kafkaConfigFromEnv({
        env: {
          KAFKA_BOOTSTRAP_SERVERS: 'a:1',
          KAFKA_SECURITY_PROTOCOL: 'SASL_TLS',
          KAFKA_SASL_MECHANISM: 'KERBEROS',
          KAFKA_SASL_USERNAME: 'u',
          KAFKA_SASL_PASSWORD: SECRET,
          KAFKA_SSL_CAFILE: join(dir, 'missing.pem'),
        },
      }),
    );
    expect(error.issues.map((i) => i.path)).toEqual([
      'KAFKA_SECURITY_PROTOCOL',
      'KAFKA_SASL_MECHANISM',
      'KAFKA_SSL_CAFILE',
    ]);
    expect(error.message).not.toContain(SECRET);
  });

  it('rejects SASL variables without a SASL protocol', async () => {
    const error = await configErrorAsync(() =>
      kafkaConfigFromEnv({
        env: { KAFKA_BOOTSTRAP_SERVERS: 'a:1', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: SECRET },
      }),
    );
    expect(error.issues).toEqual([{ path: 'KAFKA_SECURITY_PROTOCOL', message: expect.stringContaining('SASL') }]);
  });
});

describe('connection and publisher options', () => {
  it('lists every connection problem at once', () => {
    const issues = new ConfigIssues('test');
    validateConnectionOptions(
      {
        brokers: ['ok:9092', 'nohost', 'h:99999'],
        clientId: '',
        ssl: { cert: 'CERT' },
        sasl: { mechanism: 'scram-sha-512', username: '', password: '' },
        connectionTimeoutMs: 0,
        retry: { initialRetryTimeMs: 500, maxRetryTimeMs: 100 },
        logger: {} as never,
      },
      issues,
    );
    expect(issues.issues.map((i) => i.path)).toEqual([
      'brokers[1]',
      'brokers[2]',
      'clientId',
      'ssl.key',
      'sasl.username',
      'sasl.password',
      'connectionTimeoutMs',
      'retry.maxRetryTimeMs',
      'logger',
    ]);
  });

  it('the publisher validates at construction, defaults first, every problem at once', () => {
    const error = configError(
      () =>
        new KafkaPublisher({
          brokers: [],
          acks: 'leader' as never,
          idempotent: true,
          maxInFlightRequests: 10,
          lingerMs: -1,
          batchMaxMessages: 0,
          compression: 'brotli' as never,
          timeoutMs: 0,
          sasl: { mechanism: 'plain', username: 'u', password: SECRET },
        }),
    );
    expect(error.issues.map((i) => i.path)).toEqual([
      'brokers',
      'acks',
      'compression',
      'timeoutMs',
      'lingerMs',
      'batchMaxMessages',
      'maxInFlightRequests',
    ]);
    expect(error.message).not.toContain(SECRET);
  });

  it('idempotent needs acks "all"; valid options construct without connecting', async () => {
    expect(configError(() => new KafkaPublisher({ brokers: 'a:1', idempotent: true, acks: 1 })).issues).toEqual([
      { path: 'acks', message: 'must be "all" when idempotent is true' },
    ]);
    await using publisher = new KafkaPublisher({ brokers: 'a:1,b:2', idempotent: true, compression: 'gzip' });
    expect(publisher.stats()).toMatchObject({ connected: false, batches: 0 });
  });

  it('maps options to kafkajs: TLS, SASL mechanisms and OAUTHBEARER provider', async () => {
    const provider = async () => ({ value: 'token' });
    const oauth = toKafkaJsConfig({
      brokers: 'a:1',
      ssl: true,
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider },
    });
    expect(oauth.ssl).toBe(true);
    expect(oauth.sasl).toEqual({ mechanism: 'oauthbearer', oauthBearerProvider: provider });
    const mtls = toKafkaJsConfig({
      brokers: ['a:1'],
      clientId: 'c',
      ssl: { ca: 'CA', cert: 'CERT', key: 'KEY' },
      sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' },
      connectionTimeoutMs: 1234,
      requestTimeoutMs: 5678,
      retry: { retries: 2, initialRetryTimeMs: 10, maxRetryTimeMs: 20 },
    });
    expect(mtls).toMatchObject({
      brokers: ['a:1'],
      clientId: 'c',
      ssl: { ca: 'CA', cert: 'CERT', key: 'KEY', rejectUnauthorized: true },
      sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'p' },
      connectionTimeout: 1234,
      requestTimeout: 5678,
      retry: { retries: 2, initialRetryTime: 10, maxRetryTime: 20 },
    });
    const oauthIssues = new ConfigIssues('x');
    validateConnectionOptions({ brokers: 'a:1', sasl: { mechanism: 'oauthbearer' } as never }, oauthIssues);
    expect(oauthIssues.issues.map((i) => i.path)).toEqual(['sasl.oauthBearerProvider']);
  });

  it('bridges kafkajs logs to the logger without leaking the SASL password', () => {
    const lines: { level: string; fields: Record<string, unknown>; message?: string }[] = [];
    const capture = (level: string) => (fields: Record<string, unknown> | string, message?: string) =>
      lines.push(
        typeof fields === 'string'
          ? { level, fields: {}, message: fields }
          : { level, fields, ...(message === undefined ? {} : { message }) },
      );
    const logger = {
      ...noopLogger,
      debug: capture('debug'),
      info: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
    };
    const config = toKafkaJsConfig({
      brokers: 'a:1',
      sasl: { mechanism: 'plain', username: 'u', password: SECRET },
      logger,
    });
    const log = config.logCreator!(config.logLevel!);
    log({
      namespace: 'Connection',
      level: 1,
      label: 'ERROR',
      log: { timestamp: 'now', message: `failed with ${SECRET}`, sasl: { password: SECRET }, broker: 'a:1' } as never,
    });
    log({ namespace: 'Producer', level: 4, label: 'INFO', log: { timestamp: 'now', message: 'hello' } as never });
    expect(lines.map((l) => l.level)).toEqual(['error', 'info']);
    expect(lines[0]?.fields).toMatchObject({ broker: 'a:1', kafkajs: 'Connection', sasl: '[redacted]' });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('createKafkaClient throws a ConfigError for bad options', () => {
    expect(configError(() => createKafkaClient({ brokers: '' })).issues.map((i) => i.path)).toEqual(['brokers']);
  });
});
