import { ConfigIssues, type Logger, noopLogger } from '@bus/core';
import type { Kafka as KafkaClient, KafkaConfig, LogEntry, logCreator, SASLOptions } from 'kafkajs';
import { redactSecrets } from './errors.js';
import { Kafka, logLevel } from './internal/kafkajs.js';

/** PEM text or bytes of a certificate or key. */
export type Pem = string | Buffer;

/** TLS settings. `true` means TLS with the system's trusted CAs. */
export interface KafkaTlsOptions {
  /** CA certificate(s) that signed the broker certificates (PEM). */
  ca?: Pem | Pem[];
  /** Client certificate (PEM), for mutual TLS. Requires `key`. */
  cert?: Pem;
  /** Client private key (PEM), for mutual TLS. Requires `cert`. */
  key?: Pem;
  /** Verify the broker certificate. Default `true`; turn off only for local experiments. */
  rejectUnauthorized?: boolean;
  /** Server name for SNI and certificate checks, when it differs from the broker host. */
  servername?: string;
}

/** SASL with a username and password. */
export interface KafkaSaslPasswordOptions {
  /** `plain` (use with TLS outside test setups), `scram-sha-256` or `scram-sha-512`. */
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  /** SASL username. */
  username: string;
  /** SASL password. Never logged nor put in error messages. */
  password: string;
}

/** SASL OAUTHBEARER with a token provider. */
export interface KafkaSaslOAuthBearerOptions {
  /** `oauthbearer`. */
  mechanism: 'oauthbearer';
  /** Returns a fresh token; called on every (re)authentication. */
  oauthBearerProvider: () => Promise<{ value: string }>;
}

/** SASL settings. */
export type KafkaSaslOptions = KafkaSaslPasswordOptions | KafkaSaslOAuthBearerOptions;

/** Retry settings for broker requests (kafkajs retries with exponential backoff and jitter). */
export interface KafkaRetryOptions {
  /** How many times to retry a failed request. Default 5. */
  retries?: number;
  /** First backoff in milliseconds. Default 300. */
  initialRetryTimeMs?: number;
  /** Longest backoff in milliseconds. Default 30000. */
  maxRetryTimeMs?: number;
}

/**
 * The protocol client bus runs on: `kafkajs` (the default) or `platformatic` (`@platformatic/kafka`,
 * an optional peer dependency to install next to `@bus/kafka`). Options, guarantees, error codes,
 * events and stats mean the same on both; an option a driver cannot honour fails construction with
 * a `ConfigError` naming it. See docs/kafka.md, "Choosing a driver".
 */
export type KafkaDriverName = 'kafkajs' | 'platformatic';

/** Every driver, default first. */
export const KAFKA_DRIVERS: readonly KafkaDriverName[] = ['kafkajs', 'platformatic'];

/** How to reach and authenticate with a Kafka cluster. Shared by publisher, subscriber and admin. */
export interface KafkaConnectionOptions {
  /** The protocol client: `'kafkajs'` (default) or `'platformatic'` (needs `@platformatic/kafka` installed). */
  driver?: KafkaDriverName;
  /** Bootstrap servers: `host:port`, a list of them, or a comma-separated string. */
  brokers: string | string[];
  /** Client id reported to the brokers (quotas, logs). Default `bus`. */
  clientId?: string;
  /** TLS: `true`, or CA / client certificate settings. Default off. */
  ssl?: boolean | KafkaTlsOptions;
  /** SASL authentication. Default none. */
  sasl?: KafkaSaslOptions;
  /** Time to establish a TCP/TLS connection, in milliseconds. Default 3000. */
  connectionTimeoutMs?: number;
  /** Time a broker has to answer a request, in milliseconds. Default 30000. */
  requestTimeoutMs?: number;
  /** Retry settings of broker requests. */
  retry?: KafkaRetryOptions;
  /** Pino-compatible logger; kafkajs logs are bridged to it. Default: no logging. */
  logger?: Logger;
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'] as const;

/** Splits `brokers` into a list of `host:port` strings (comma-separated strings are allowed). */
export function brokerList(brokers: string | readonly string[]): string[] {
  const list = typeof brokers === 'string' ? brokers.split(',') : [...brokers];
  return list.map((broker) => (typeof broker === 'string' ? broker.trim() : broker)).filter((b) => b !== '');
}

function isPem(value: unknown): boolean {
  return (typeof value === 'string' && value.length > 0) || Buffer.isBuffer(value) || value instanceof Uint8Array;
}

function validateBroker(broker: unknown, path: string, issues: ConfigIssues): void {
  if (typeof broker !== 'string') {
    issues.add(path, 'must be a "host:port" string');
    return;
  }
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(broker);
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65_535) issues.add(path, 'must be "host:port" with a port from 1 to 65535');
}

function validateTls(ssl: unknown, issues: ConfigIssues): void {
  if (ssl === undefined || typeof ssl === 'boolean') return;
  if (typeof ssl !== 'object' || ssl === null) {
    issues.add('ssl', 'must be a boolean or an object with ca/cert/key/rejectUnauthorized');
    return;
  }
  const tls = ssl as Record<string, unknown>;
  if (tls.ca !== undefined) {
    const cas = Array.isArray(tls.ca) ? tls.ca : [tls.ca];
    if (cas.length === 0 || !cas.every(isPem)) issues.add('ssl.ca', 'must be PEM text or bytes, or a list of them');
  }
  if (tls.cert !== undefined && !isPem(tls.cert)) issues.add('ssl.cert', 'must be PEM text or bytes');
  if (tls.key !== undefined && !isPem(tls.key)) issues.add('ssl.key', 'must be PEM text or bytes');
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    issues.add(tls.cert === undefined ? 'ssl.cert' : 'ssl.key', 'mutual TLS needs both cert and key');
  }
  if (tls.rejectUnauthorized !== undefined && typeof tls.rejectUnauthorized !== 'boolean') {
    issues.add('ssl.rejectUnauthorized', 'must be a boolean');
  }
  if (tls.servername !== undefined && (typeof tls.servername !== 'string' || tls.servername === '')) {
    issues.add('ssl.servername', 'must be a non-empty string');
  }
}

function validateSasl(sasl: unknown, issues: ConfigIssues): void {
  if (sasl === undefined) return;
  if (typeof sasl !== 'object' || sasl === null) {
    issues.add('sasl', 'must be an object with a mechanism');
    return;
  }
  const record = sasl as Record<string, unknown>;
  if (!SASL_MECHANISMS.includes(record.mechanism as (typeof SASL_MECHANISMS)[number])) {
    issues.add('sasl.mechanism', `must be one of ${SASL_MECHANISMS.map((m) => JSON.stringify(m)).join(', ')}`);
    return;
  }
  if (record.mechanism === 'oauthbearer') {
    if (typeof record.oauthBearerProvider !== 'function') {
      issues.add('sasl.oauthBearerProvider', 'must be a function returning Promise<{ value: string }>');
    }
    return;
  }
  if (typeof record.username !== 'string' || record.username === '') {
    issues.add('sasl.username', 'must be a non-empty string');
  }
  if (typeof record.password !== 'string' || record.password === '') {
    issues.add('sasl.password', 'must be a non-empty string');
  }
}

function validateLogger(logger: unknown, issues: ConfigIssues): void {
  if (logger === undefined) return;
  const record = logger as Record<string, unknown> | null;
  const ok =
    typeof record === 'object' &&
    record !== null &&
    ['debug', 'info', 'warn', 'error'].every((m) => typeof record[m] === 'function');
  if (!ok) issues.add('logger', 'must have debug, info, warn and error methods (pino-compatible)');
}

/**
 * Adds every problem of `options` to `issues` (paths like `sasl.username`), so a constructor can
 * report them together with its own. Never puts a value in a message (it may be a secret).
 */
export function validateConnectionOptions(options: KafkaConnectionOptions, issues: ConfigIssues): void {
  const raw = options as unknown as Record<string, unknown>;
  issues.oneOf(raw.driver, 'driver', KAFKA_DRIVERS);
  const brokers = raw.brokers;
  if (typeof brokers === 'string' || Array.isArray(brokers)) {
    const list = brokerList(brokers as string | string[]);
    if (list.length === 0) issues.add('brokers', 'at least one "host:port" broker is required');
    list.forEach((broker, index) => {
      validateBroker(
        broker,
        typeof brokers === 'string' && list.length === 1 ? 'brokers' : `brokers[${index}]`,
        issues,
      );
    });
  } else {
    issues.add('brokers', 'is required: a "host:port" string or a list of them');
  }
  if (raw.clientId !== undefined && (typeof raw.clientId !== 'string' || raw.clientId === '')) {
    issues.add('clientId', 'must be a non-empty string');
  }
  validateTls(raw.ssl, issues);
  validateSasl(raw.sasl, issues);
  issues.integer(raw.connectionTimeoutMs, 'connectionTimeoutMs', { min: 1, max: 600_000 });
  issues.integer(raw.requestTimeoutMs, 'requestTimeoutMs', { min: 1, max: 3_600_000 });
  const retry = raw.retry;
  if (retry !== undefined) {
    if (typeof retry !== 'object' || retry === null) {
      issues.add('retry', 'must be an object');
    } else {
      const r = retry as Record<string, unknown>;
      issues.integer(r.retries, 'retry.retries', { min: 0, max: 1_000 });
      issues.integer(r.initialRetryTimeMs, 'retry.initialRetryTimeMs', { min: 1, max: 600_000 });
      issues.integer(r.maxRetryTimeMs, 'retry.maxRetryTimeMs', { min: 1, max: 3_600_000 });
      if (
        typeof r.initialRetryTimeMs === 'number' &&
        typeof r.maxRetryTimeMs === 'number' &&
        r.maxRetryTimeMs < r.initialRetryTimeMs
      ) {
        issues.add('retry.maxRetryTimeMs', 'must not be less than retry.initialRetryTimeMs');
      }
    }
  }
  validateLogger(raw.logger, issues);
}

/**
 * Adds a problem on `driver` when `options` name a driver `subject` cannot run on yet, so the
 * choice fails at construction instead of silently running on another client.
 */
export function checkDriverSupported(
  options: Pick<KafkaConnectionOptions, 'driver'>,
  issues: ConfigIssues,
  subject: string,
  supported: readonly KafkaDriverName[],
): void {
  const driver = options.driver;
  if (driver === undefined || !KAFKA_DRIVERS.includes(driver) || supported.includes(driver)) return;
  issues.add(
    'driver',
    `${subject} does not run on "${driver}" yet; use ${supported.map((d) => `"${d}"`).join(' or ')}`,
  );
}

/** The secrets in `options`, to redact from any text that might echo them. */
export function connectionSecrets(options: Pick<KafkaConnectionOptions, 'sasl'>): string[] {
  const sasl = options.sasl;
  return sasl !== undefined && sasl.mechanism !== 'oauthbearer' && typeof sasl.password === 'string'
    ? [sasl.password]
    : [];
}

function toSasl(sasl: KafkaSaslOptions): SASLOptions {
  if (sasl.mechanism === 'oauthbearer') {
    return { mechanism: 'oauthbearer', oauthBearerProvider: sasl.oauthBearerProvider };
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
}

/** Keys whose values are never forwarded to the logger, whatever kafkajs puts in a log entry. */
const SECRET_KEYS = /pass(word)?|secret|token|sasl|credential|authori[sz]ation|private|^ssl$|^key$|^cert$/i;

function scrub(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value, secrets);
  if (depth > 3 || typeof value !== 'object' || value === null) return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, secrets, depth + 1));
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] = SECRET_KEYS.test(key) ? '[redacted]' : scrub(item, secrets, depth + 1);
  }
  return result;
}

/**
 * A kafkajs `logCreator` forwarding to a pino-compatible logger. kafkajs INFO goes to `info`, its
 * chatty DEBUG to `debug`; fields that could hold credentials are redacted.
 */
export function kafkaLogCreator(logger: Logger, secrets: readonly string[] = []): logCreator {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, ...rest } = log as typeof log & { logger?: unknown };
      const fields = { ...(scrub(rest, secrets) as Record<string, unknown>), kafkajs: namespace };
      const text = redactSecrets(String(message), secrets);
      if (level === logLevel.ERROR) logger.error(fields, text);
      else if (level === logLevel.WARN) logger.warn(fields, text);
      else if (level === logLevel.INFO) logger.info(fields, text);
      else logger.debug(fields, text);
    };
}

/** Builds the kafkajs client configuration from validated options. */
export function toKafkaJsConfig(options: KafkaConnectionOptions): KafkaConfig {
  const logger = options.logger ?? noopLogger;
  const config: KafkaConfig = {
    brokers: brokerList(options.brokers),
    clientId: options.clientId ?? 'bus',
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    retry: {
      retries: options.retry?.retries ?? 5,
      initialRetryTime: options.retry?.initialRetryTimeMs ?? 300,
      maxRetryTime: options.retry?.maxRetryTimeMs ?? 30_000,
    },
    // A silent logger makes kafkajs skip formatting entirely.
    logLevel: logger === noopLogger ? logLevel.NOTHING : logLevel.INFO,
    logCreator: kafkaLogCreator(logger, connectionSecrets(options)),
  };
  if (options.ssl !== undefined && options.ssl !== false) {
    if (options.ssl === true) {
      config.ssl = true;
    } else {
      const { ca, cert, key, rejectUnauthorized, servername } = options.ssl;
      config.ssl = {
        ...(ca === undefined ? {} : { ca }),
        ...(cert === undefined ? {} : { cert }),
        ...(key === undefined ? {} : { key }),
        ...(servername === undefined ? {} : { servername }),
        rejectUnauthorized: rejectUnauthorized ?? true,
      };
    }
  }
  if (options.sasl !== undefined) config.sasl = toSasl(options.sasl);
  return config;
}

/**
 * Validates `options` (throwing a `ConfigError` listing every problem) and creates a kafkajs client.
 * An authentication failure surfaces as a non-retryable error, so a wrong password fails fast.
 */
export function createKafkaClient(options: KafkaConnectionOptions, subject = 'Kafka connection'): KafkaClient {
  const issues = new ConfigIssues(subject);
  validateConnectionOptions(options, issues);
  // This is the kafkajs client: a caller that chose another driver must not silently get it.
  checkDriverSupported(options, issues, subject, ['kafkajs']);
  issues.throwIfAny();
  return new Kafka(toKafkaJsConfig(options));
}
