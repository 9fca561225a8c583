import { ConfigError, PublishError } from './errors.js';
import type { NackOptions } from './pubsub.js';

/**
 * The rules every transport applies to what it is given, so that all of them refuse the same input
 * the same way. Transports call these instead of writing their own checks; the conformance suite
 * (`@bus/core/testing`) holds each transport to them.
 */

/** Codes of the errors these rules produce, the same on every transport. */
export const InputErrorCode = {
  /** `publish` to a name that is not a legal topic name. A `PublishError`; not retryable. */
  INVALID_TOPIC: 'INVALID_TOPIC',
  /** `publish` of something that is not a valid `Message`. A `PublishError`; not retryable. */
  INVALID_MESSAGE: 'INVALID_MESSAGE',
} as const;

/**
 * The longest `nack({ delayMs })`: 2^31−1 ms (about 24.8 days), the longest a Node timer can wait.
 * A longer timer fires at once, so a longer delay is refused rather than clamped.
 */
export const MAX_NACK_DELAY_MS = 2_147_483_647;

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/** Why `topic` is not a legal topic name (Kafka's rules, which every transport follows), or `undefined`. */
export function topicNameProblem(topic: unknown): string | undefined {
  if (typeof topic !== 'string' || !LEGAL_TOPIC.test(topic) || topic === '.' || topic === '..') {
    return 'a topic name is 1 to 249 characters of ASCII letters, digits, ".", "_" and "-" (not "." or "..")';
  }
  return undefined;
}

/**
 * What is wrong with `message`, the one at `index` of a publish call: every problem, naming the
 * field, never its value (values may be secret). Empty when it is a valid `Message`.
 */
export function messageProblems(message: unknown, index = 0): string[] {
  const at = `messages[${index}]`;
  if (typeof message !== 'object' || message === null) return [`${at} must be a Message object`];
  const m = message as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof m.id !== 'string') problems.push(`${at}.id must be a string`);
  if (!(m.payload instanceof Uint8Array)) problems.push(`${at}.payload must be a Uint8Array`);
  const headers = m.headers as Record<string, unknown> | null | undefined;
  if (typeof headers !== 'object' || headers === null) {
    problems.push(`${at}.headers must be an object of strings`);
  } else {
    for (const name in headers) {
      if (typeof headers[name] !== 'string') problems.push(`${at}.headers[${JSON.stringify(name)}] must be a string`);
    }
  }
  const binaryHeaders = m.binaryHeaders as Record<string, unknown> | null | undefined;
  if (binaryHeaders !== undefined) {
    if (typeof binaryHeaders !== 'object' || binaryHeaders === null) {
      problems.push(`${at}.binaryHeaders must be an object of Uint8Arrays`);
    } else {
      for (const name in binaryHeaders) {
        const field = `${at}.binaryHeaders[${JSON.stringify(name)}]`;
        if (!(binaryHeaders[name] instanceof Uint8Array)) problems.push(`${field} must be a Uint8Array`);
        if (typeof headers === 'object' && headers !== null && Object.hasOwn(headers, name)) {
          problems.push(`${field} must not also be in headers`);
        }
      }
    }
  }
  const key = m.key;
  if (key !== undefined && typeof key !== 'string' && !(key instanceof Uint8Array)) {
    problems.push(`${at}.key must be a string or a Uint8Array`);
  }
  const timestamp = m.timestamp;
  if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isFinite(timestamp))) {
    problems.push(`${at}.timestamp must be a finite number of milliseconds`);
  }
  return problems;
}

/** Whether `message` is valid, without building a list: the fast path of {@link publishInputError}. */
function isValidMessage(message: unknown): boolean {
  if (typeof message !== 'object' || message === null) return false;
  const m = message as Record<string, unknown>;
  if (typeof m.id !== 'string' || !(m.payload instanceof Uint8Array)) return false;
  const headers = m.headers as Record<string, unknown> | null | undefined;
  if (typeof headers !== 'object' || headers === null) return false;
  for (const name in headers) if (typeof headers[name] !== 'string') return false;
  // Only messages with binary headers pay for this check.
  if (m.binaryHeaders !== undefined && !validBinaryHeaders(m.binaryHeaders, headers)) return false;
  const key = m.key;
  if (key !== undefined && typeof key !== 'string' && !(key instanceof Uint8Array)) return false;
  const timestamp = m.timestamp;
  return timestamp === undefined || (typeof timestamp === 'number' && Number.isFinite(timestamp));
}

function validBinaryHeaders(binaryHeaders: unknown, headers: Record<string, unknown>): boolean {
  if (typeof binaryHeaders !== 'object' || binaryHeaders === null) return false;
  const binary = binaryHeaders as Record<string, unknown>;
  for (const name in binary) if (!(binary[name] instanceof Uint8Array) || Object.hasOwn(headers, name)) return false;
  return true;
}

/**
 * The error a transport rejects `publish(topic, ...messages)` with before sending anything, or
 * `undefined` when the input is valid: a `PublishError` with code `INVALID_TOPIC`, else one with
 * code `INVALID_MESSAGE` listing the problems of every invalid message.
 */
export function publishInputError(topic: unknown, messages: readonly unknown[]): PublishError | undefined {
  const topicProblem = topicNameProblem(topic);
  if (topicProblem !== undefined) {
    return new PublishError(String(topic), `invalid topic name: ${topicProblem}`, {
      code: InputErrorCode.INVALID_TOPIC,
    });
  }
  let problems: string[] | undefined;
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    if (isValidMessage(message)) continue;
    problems ??= [];
    problems.push(...messageProblems(message, index));
  }
  if (problems === undefined) return undefined;
  return new PublishError(
    topic as string,
    `invalid message${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}`,
    { code: InputErrorCode.INVALID_MESSAGE },
  );
}

/**
 * The delay of `nack(options)`, in milliseconds (0 when absent).
 * @throws {ConfigError} (path `delayMs`) unless it is a number from 0 to {@link MAX_NACK_DELAY_MS}.
 *   Transports check it before settling, so a refused nack leaves the message unsettled.
 */
export function nackDelayMs(options: NackOptions | undefined): number {
  const delayMs: unknown = options?.delayMs ?? 0;
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_NACK_DELAY_MS) {
    throw new ConfigError('nack', [
      { path: 'delayMs', message: `must be a number of milliseconds from 0 to ${MAX_NACK_DELAY_MS}` },
    ]);
  }
  return delayMs;
}
