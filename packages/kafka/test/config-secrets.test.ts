import { readFileSync } from 'node:fs';
import { ConfigError, type Logger, noopLogger } from '@bus/core';
import { kafkaConfigFromEnv, kafkaConfigFromUrl } from '@bus/kafka';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toKafkaJsConfig } from '../src/connection.ts';

/**
 * The texts bus writes itself (issue messages, paths). A 4-character piece of a random password that
 * also occurs here is bus's own wording (a password may contain "must"), not a leak.
 */
const OWN_TEXT = ['config-url.ts', 'config-env.ts', 'connection.ts', '../../core/src/config.ts']
  .map((file) => readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8'))
  .join('\n');

const PRINTABLE = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
const PASSWORD = PRINTABLE.filter((p) => p.trim().length >= 4);

function leakedPieces(password: string, texts: readonly string[]): string[] {
  const haystack = texts.join('\n');
  const leaked = new Set<string>();
  for (let start = 0; start + 4 <= password.length; start += 1) {
    const piece = password.slice(start, start + 4);
    if (haystack.includes(piece) && !OWN_TEXT.includes(piece)) leaked.add(piece);
  }
  return [...leaked];
}

/** Everything an error exposes: its message, issues, cause chain and stack. */
function errorTexts(error: unknown): string[] {
  if (!ConfigError.isInstance(error)) return [String(error), (error as Error)?.stack ?? ''];
  return [error.message, JSON.stringify(error.issues), String(error.stack)];
}

function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const capture = (fields: unknown, message?: string) => lines.push(JSON.stringify([fields, message]));
  return { logger: { ...noopLogger, debug: capture, info: capture, warn: capture, error: capture }, lines };
}

/** Sends a kafkajs-shaped log entry that carries the parsed credentials through the bridged logger. */
function logThroughKafkajs(config: ReturnType<typeof kafkaConfigFromUrl>): string[] {
  const { logger, lines } = capturingLogger();
  const password = config.sasl !== undefined && 'password' in config.sasl ? config.sasl.password : '';
  const kafkajs = toKafkaJsConfig({ ...config, logger });
  const log = kafkajs.logCreator!(kafkajs.logLevel!);
  log({
    namespace: 'Connection',
    level: 1,
    label: 'ERROR',
    log: {
      timestamp: 'now',
      message: `SASL authentication failed for ${password}`,
      sasl: kafkajs.sasl,
      password,
      broker: config.brokers[0],
    } as never,
  });
  return lines;
}

function outcomeOfUrl(url: string): string[] {
  try {
    const config = kafkaConfigFromUrl(url);
    return logThroughKafkajs(config);
  } catch (error) {
    return errorTexts(error);
  }
}

describe('secrets in Kafka configuration', () => {
  it('parses a password holding an unescaped "?" and never shows its tail (issue 9 defect 1)', () => {
    const url = 'kafka://alice:ab?Qz-Hidden-Token-77@h1:9092';
    expect(kafkaConfigFromUrl(url)).toEqual({
      brokers: ['h1:9092'],
      sasl: { mechanism: 'plain', username: 'alice', password: 'ab?Qz-Hidden-Token-77' },
    });
    const bad = `${url}?secruity=SASL_SSL&Token-77=x`;
    let error: unknown;
    try {
      kafkaConfigFromUrl(bad);
    } catch (e) {
      error = e;
    }
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues).toEqual([{ path: 'query', message: expect.stringContaining('2 unknown') }]);
    expect(errorTexts(error).join('\n')).not.toMatch(/Qz|Hidden|Token|77|secruity/);
  });

  it('points at a known parameter written in another case by its own spelling', () => {
    expect(() => kafkaConfigFromUrl('kafka://h:9092?groupid=g')).toThrow(
      expect.objectContaining({ issues: [{ path: '?groupId', message: expect.stringContaining('case') }] }),
    );
  });

  it('no 4-character piece of a random password reaches an error or a log line, from a URL', () => {
    const urls = [
      (user: string, pass: string) => `kafka://${user}:${pass}@h1:9092`,
      (user: string, pass: string) => `kafka+ssl://${user}:${pass}@h1:9092,h2:9093?mechanism=SCRAM-SHA-512`,
      (user: string, pass: string) => `kafka://${user}:${pass}@h1:nope?security=SSL&colour=blue`,
      (user: string, pass: string) => `kafka://${user}:${pass}@h1:9092?security=PLAINTEXT&mechanism=GSSAPI`,
      (user: string, pass: string) => `http://${user}:${pass}@`,
      (user: string, pass: string) => `${user}:${pass}@h1:9092`,
    ];
    fc.assert(
      fc.property(
        PASSWORD,
        fc.boolean(),
        fc.constantFrom(...urls),
        fc.stringMatching(/^[a-z]{1,8}$/),
        (password, encoded, shape, user) => {
          const written = encoded ? encodeURIComponent(password) : password;
          const texts = outcomeOfUrl(shape(user, written));
          expect(leakedPieces(password, texts)).toEqual([]);
          if (encoded) expect(leakedPieces(written, texts)).toEqual([]);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('no 4-character piece of a random password reaches an error or a log line, from the environment', async () => {
    await fc.assert(
      fc.asyncProperty(
        PASSWORD,
        fc.constantFrom('SASL_SSL', 'SASL_PLAINTEXT', 'PLAINTEXT', 'SASL_TLS'),
        fc.constantFrom(undefined, 'SCRAM-SHA-256', 'KERBEROS'),
        fc.constantFrom(undefined, 'h1:9092', 'h1'),
        async (password, protocol, mechanism, servers) => {
          let texts: string[];
          try {
            const config = await kafkaConfigFromEnv({
              env: {
                KAFKA_BOOTSTRAP_SERVERS: servers,
                KAFKA_SECURITY_PROTOCOL: protocol,
                KAFKA_SASL_MECHANISM: mechanism,
                KAFKA_SASL_USERNAME: 'svc',
                KAFKA_SASL_PASSWORD: password,
                KAFKA__SASL_PASSWORD: `${password}-other`,
              },
            });
            texts = logThroughKafkajs(config);
          } catch (error) {
            texts = errorTexts(error);
          }
          expect(leakedPieces(password, texts)).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
