import { readFile } from 'node:fs/promises';
import { ConfigIssues } from '@bus/core';
import { type KafkaConfigFromSource, parsePasswordMechanism, parseSecurityProtocol } from './config-url.js';
import { brokerList, type KafkaTlsOptions, validateConnectionOptions } from './connection.js';

/** Options of {@link kafkaConfigFromEnv}. */
export interface KafkaEnvOptions {
  /** Variable prefix. Default `KAFKA`. */
  prefix?: string;
  /** The environment to read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What {@link kafkaConfigFromEnv} returns: connection options, group id and offset reset policy. */
export interface KafkaEnvConfig extends KafkaConfigFromSource {
  /** From `<PREFIX>_AUTO_OFFSET_RESET`: where a new group starts reading. */
  autoOffsetReset?: 'earliest' | 'latest';
}

const NAMES = [
  'BOOTSTRAP_SERVERS',
  'CLIENT_ID',
  'GROUP_ID',
  'SECURITY_PROTOCOL',
  'SASL_MECHANISM',
  'SASL_USERNAME',
  'SASL_PASSWORD',
  'SSL_CAFILE',
  'SSL_CERTFILE',
  'SSL_KEYFILE',
  'AUTO_OFFSET_RESET',
] as const;

type EnvName = (typeof NAMES)[number];

/**
 * Reads connection options from environment variables named like the Java client's settings:
 * `KAFKA_BOOTSTRAP_SERVERS`, `KAFKA_CLIENT_ID`, `KAFKA_GROUP_ID`, `KAFKA_SECURITY_PROTOCOL`
 * (PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL), `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME`,
 * `KAFKA_SASL_PASSWORD`, `KAFKA_SSL_CAFILE`, `KAFKA_SSL_CERTFILE`, `KAFKA_SSL_KEYFILE` (files are
 * read) and `KAFKA_AUTO_OFFSET_RESET`. The nested style `KAFKA__BOOTSTRAP_SERVERS` works too.
 * Throws a `ConfigError` listing every problem; values (passwords) never appear in it.
 */
export async function kafkaConfigFromEnv(options: KafkaEnvOptions = {}): Promise<KafkaEnvConfig> {
  const prefix = options.prefix ?? 'KAFKA';
  const env = options.env ?? process.env;
  const issues = new ConfigIssues('Kafka environment');
  const varName = (name: EnvName) => `${prefix}_${name}`;
  const read = (name: EnvName): string | undefined => {
    const flat = env[`${prefix}_${name}`];
    const nested = env[`${prefix}__${name}`];
    if (flat !== undefined && nested !== undefined && flat !== nested) {
      issues.add(varName(name), `conflicts with ${prefix}__${name}; set only one`);
    }
    const value = flat ?? nested;
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  const servers = read('BOOTSTRAP_SERVERS');
  if (servers === undefined) issues.add(varName('BOOTSTRAP_SERVERS'), 'is required (host:port[,host:port...])');
  const config: KafkaEnvConfig = { brokers: servers === undefined ? [] : brokerList(servers) };

  const clientId = read('CLIENT_ID');
  if (clientId !== undefined) config.clientId = clientId;
  const groupId = read('GROUP_ID');
  if (groupId !== undefined) config.groupId = groupId;
  const reset = read('AUTO_OFFSET_RESET')?.toLowerCase();
  if (reset !== undefined) {
    if (reset === 'earliest' || reset === 'latest') config.autoOffsetReset = reset;
    else issues.add(varName('AUTO_OFFSET_RESET'), 'must be earliest or latest');
  }

  // An unknown protocol must not hide the other variables' problems: with it, each SASL and TLS
  // variable is still checked on its own, only not against the protocol.
  const protocolText = read('SECURITY_PROTOCOL');
  const parsedProtocol = parseSecurityProtocol(protocolText, varName('SECURITY_PROTOCOL'), issues);
  const security = protocolText === undefined ? 'PLAINTEXT' : parsedProtocol;
  const isSasl = security === undefined ? undefined : security === 'SASL_PLAINTEXT' || security === 'SASL_SSL';
  const isTls = security === undefined ? undefined : security === 'SSL' || security === 'SASL_SSL';

  const mechanismText = read('SASL_MECHANISM');
  const username = read('SASL_USERNAME');
  // Passwords may legitimately start or end with spaces: only the nested/flat lookup, no trimming.
  const password = env[varName('SASL_PASSWORD')] ?? env[`${prefix}__SASL_PASSWORD`];
  if (isSasl === false) {
    if (mechanismText !== undefined || username !== undefined || password !== undefined) {
      issues.add(varName('SECURITY_PROTOCOL'), 'SASL variables are set, so it must be SASL_PLAINTEXT or SASL_SSL');
    }
  } else {
    const mechanism = parsePasswordMechanism(
      mechanismText ?? (isSasl ? 'PLAIN' : undefined),
      varName('SASL_MECHANISM'),
      issues,
    );
    if (isSasl) {
      if (username === undefined) issues.add(varName('SASL_USERNAME'), `is required for ${security}`);
      if (password === undefined || password === '') {
        issues.add(varName('SASL_PASSWORD'), `is required for ${security}`);
      }
      if (mechanism && username !== undefined && password) config.sasl = { mechanism, username, password };
    }
  }

  const files: [EnvName, keyof KafkaTlsOptions][] = [
    ['SSL_CAFILE', 'ca'],
    ['SSL_CERTFILE', 'cert'],
    ['SSL_KEYFILE', 'key'],
  ];
  const tls: KafkaTlsOptions = {};
  for (const [name, field] of files) {
    const path = read(name);
    if (path === undefined) continue;
    if (isTls === false) {
      issues.add(varName('SECURITY_PROTOCOL'), `${varName(name)} is set, so it must be SSL or SASL_SSL`);
      continue;
    }
    try {
      (tls as Record<string, Buffer>)[field] = await readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      issues.add(varName(name), `cannot read the file it names (${code})`);
    }
  }
  if (isTls) config.ssl = Object.keys(tls).length > 0 ? tls : true;

  const shape = new ConfigIssues('Kafka environment');
  validateConnectionOptions(config, shape);
  for (const issue of shape.issues) {
    if (issue.path.startsWith('brokers')) {
      if (servers !== undefined) issues.add(varName('BOOTSTRAP_SERVERS'), `${issue.path} ${issue.message}`);
    } else {
      issues.add(issue.path, issue.message);
    }
  }
  issues.throwIfAny();
  return config;
}
