import { ConfigIssues } from '@bus/core';
import type { KafkaConnectionOptions, KafkaSaslPasswordOptions } from './connection.js';
import { validateConnectionOptions } from './connection.js';

/** Kafka security protocols, as named by the Java client's `security.protocol`. */
export type KafkaSecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

/** Connection options read from a URL or the environment, plus the consumer group when given. */
export interface KafkaConfigFromSource extends KafkaConnectionOptions {
  /** Bootstrap servers, always as a list. */
  brokers: string[];
  /** Consumer group id, when the source names one. */
  groupId?: string;
}

const SECURITY_PROTOCOLS: readonly KafkaSecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const PASSWORD_MECHANISMS: Record<string, KafkaSaslPasswordOptions['mechanism']> = {
  PLAIN: 'plain',
  'SCRAM-SHA-256': 'scram-sha-256',
  'SCRAM-SHA-512': 'scram-sha-512',
};
const URL_PARAMS = new Set(['security', 'mechanism', 'clientId', 'groupId']);

/** Parses a `security` value; adds an issue and returns `undefined` when it is unknown. */
export function parseSecurityProtocol(
  value: string | undefined,
  path: string,
  issues: ConfigIssues,
): KafkaSecurityProtocol | undefined {
  if (value === undefined) return undefined;
  const upper = value.trim().toUpperCase() as KafkaSecurityProtocol;
  if (!SECURITY_PROTOCOLS.includes(upper)) {
    issues.add(path, `must be one of ${SECURITY_PROTOCOLS.join(', ')}`);
    return undefined;
  }
  return upper;
}

/** Parses a SASL mechanism name (`PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`), case-insensitively. */
export function parsePasswordMechanism(
  value: string | undefined,
  path: string,
  issues: ConfigIssues,
): KafkaSaslPasswordOptions['mechanism'] | undefined {
  if (value === undefined) return undefined;
  const mechanism = PASSWORD_MECHANISMS[value.trim().toUpperCase()];
  if (mechanism === undefined) {
    issues.add(
      path,
      `must be one of ${Object.keys(PASSWORD_MECHANISMS).join(', ')} (OAUTHBEARER needs a token provider: set sasl in code)`,
    );
  }
  return mechanism;
}

/** Splits `scheme://[userinfo@]hosts[/][?query]`; `undefined` when the URL has another shape. */
function splitUrl(
  url: string,
): { scheme: string; userInfo: string | undefined; hosts: string; query: string } | undefined {
  const text = url.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(text);
  if (!scheme) return undefined;
  const rest = text.slice(scheme[0].length);
  // The last `@` ends the user info, so a password may hold raw `?`, `/`, `#` or `@`: cutting the
  // authority at the first `?` (as WHATWG URL does) would turn the password's tail into a query.
  const at = rest.lastIndexOf('@');
  const afterUserInfo = rest.slice(at + 1);
  const tail = /^([^/?#]*)\/?(?:\?([^#]*))?$/.exec(afterUserInfo);
  if (!tail) return undefined;
  return {
    scheme: scheme[1] ?? '',
    userInfo: at < 0 ? undefined : rest.slice(0, at),
    hosts: tail[1] ?? '',
    query: tail[2] ?? '',
  };
}

/**
 * Reads connection options from a URL:
 * `kafka://user:pass@host1:9092,host2:9092?security=SASL_SSL&mechanism=SCRAM-SHA-512&clientId=x&groupId=g`.
 *
 * - `kafka+ssl://` means TLS (`SSL`, or `SASL_SSL` with credentials).
 * - Credentials are URL-decoded; with credentials and no `security`, SASL is used (PLAIN unless
 *   `mechanism` says otherwise), over TLS for `kafka+ssl://`.
 * - The last `@` ends the credentials, so a password may contain `?`, `/`, `#` or `@` unencoded; an
 *   `@` in a parameter value must then be written `%40`.
 * - Invalid URLs throw a `ConfigError` listing every problem. It never echoes the URL's text (not
 *   even unknown parameter names), so no part of a password can appear in it.
 */
export function kafkaConfigFromUrl(url: string): KafkaConfigFromSource {
  const issues = new ConfigIssues('Kafka URL');
  // Not WHATWG URL: it cannot hold a comma-separated host list.
  const parts = typeof url === 'string' ? splitUrl(url) : undefined;
  if (!parts) {
    issues.add('url', 'must look like kafka://[user:password@]host:port[,host:port...][?params]').throwIfAny();
  }
  const { scheme, userInfo, hosts, query } = parts!;
  const lowerScheme = scheme.toLowerCase();
  if (lowerScheme !== 'kafka' && lowerScheme !== 'kafka+ssl') issues.add('scheme', 'must be kafka:// or kafka+ssl://');
  const tlsScheme = lowerScheme === 'kafka+ssl';

  const decode = (text: string, path: string): string | undefined => {
    try {
      return decodeURIComponent(text);
    } catch {
      issues.add(path, 'is not valid URL encoding');
      return undefined;
    }
  };
  let username: string | undefined;
  let password: string | undefined;
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    username = decode(colon < 0 ? userInfo : userInfo.slice(0, colon), 'username');
    password = colon < 0 ? undefined : decode(userInfo.slice(colon + 1), 'password');
    if (!username) issues.add('username', 'must not be empty when credentials are given');
    if (!password) issues.add('password', 'must not be empty when credentials are given');
  }

  const params = new URLSearchParams(query);
  reportUnknownParams(params, issues);
  const param = (name: string) => params.get(name) ?? undefined;
  const hasCredentials = userInfo !== undefined;
  const security =
    parseSecurityProtocol(param('security'), '?security', issues) ??
    (hasCredentials ? (tlsScheme ? 'SASL_SSL' : 'SASL_PLAINTEXT') : tlsScheme ? 'SSL' : 'PLAINTEXT');
  const mechanism = parsePasswordMechanism(param('mechanism'), '?mechanism', issues);
  const isSasl = security === 'SASL_PLAINTEXT' || security === 'SASL_SSL';
  if (isSasl && !hasCredentials) issues.add('username', `security ${security} needs user:password@ in the URL`);
  if (!isSasl && hasCredentials)
    issues.add('?security', 'credentials were given, so it must be SASL_PLAINTEXT or SASL_SSL');
  if (tlsScheme && (security === 'PLAINTEXT' || security === 'SASL_PLAINTEXT')) {
    issues.add('?security', 'kafka+ssl:// needs SSL or SASL_SSL');
  }

  const config: KafkaConfigFromSource = {
    brokers: hosts
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
  };
  if (security === 'SSL' || security === 'SASL_SSL') config.ssl = true;
  if (isSasl && username && password) {
    config.sasl = { mechanism: mechanism ?? 'plain', username, password };
  }
  const clientId = param('clientId');
  if (clientId !== undefined) config.clientId = clientId;
  const groupId = param('groupId');
  if (groupId !== undefined) {
    if (groupId === '') issues.add('?groupId', 'must not be empty');
    else config.groupId = groupId;
  }
  validateConnectionOptions(config, issues);
  issues.throwIfAny();
  return config;
}

/**
 * Reports parameters bus does not know without naming them: a name may be a piece of a mistyped
 * password. Only a known name in the wrong case is pointed at, by bus's own spelling.
 */
function reportUnknownParams(params: URLSearchParams, issues: ConfigIssues): void {
  let unknown = 0;
  for (const name of new Set(params.keys())) {
    if (URL_PARAMS.has(name)) continue;
    const known = [...URL_PARAMS].find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (known === undefined) unknown += 1;
    else issues.add(`?${known}`, `is spelled in another case; write it as ${known}`);
  }
  if (unknown > 0) {
    issues.add(
      'query',
      `has ${unknown} unknown parameter${unknown === 1 ? '' : 's'} (names not shown: they may hold a secret); supported: ${[...URL_PARAMS].join(', ')}`,
    );
  }
}
