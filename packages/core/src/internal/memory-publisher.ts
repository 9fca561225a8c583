import { ClosedError, PublishError } from '../errors.js';
import type { Message } from '../message.js';
import { type Publisher, SPEC_VERSION } from '../pubsub.js';
import { type MemoryCore, topicNameProblem } from './memory-core.js';
import type { StoredRecord } from './memory-log.js';

const utf8 = new TextEncoder();

/** Publisher of a {@link MemoryCore}: appends synchronously, so `publish` resolves once stored. */
export class MemoryPublisher implements Publisher {
  readonly specVersion = SPEC_VERSION;
  readonly #core: MemoryCore;
  #closed = false;

  constructor(core: MemoryCore) {
    this.#core = core;
    core.track(this);
  }

  async publish(topic: string, ...messages: Message[]): Promise<void> {
    if (this.#closed || this.#core.closed) throw new ClosedError('MemoryPublisher');
    const topicProblem = topicNameProblem(topic);
    if (topicProblem !== undefined) {
      throw new PublishError(String(topic), `invalid topic name: ${topicProblem}`, { code: 'INVALID_TOPIC' });
    }
    const problems = messages.flatMap((message, index) => messageProblems(message, index));
    if (problems.length > 0) {
      throw new PublishError(topic, `invalid message${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}`, {
        code: 'INVALID_MESSAGE',
      });
    }
    const target = this.#core.topic(topic);
    const now = Date.now();
    for (const message of messages) {
      const key = message.key;
      // Encoded once: it both places the message and counts towards byte retention.
      const keyBytes = typeof key === 'string' ? utf8.encode(key) : key;
      target.append(target.partitionOf(keyBytes), toRecord(message, keyBytes, now));
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#core.untrack(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Copies a message so later changes by the producer cannot reach the log. */
function toRecord(message: Message, keyBytes: Uint8Array | undefined, now: number): StoredRecord {
  const headers: Record<string, string> = {};
  let size = message.payload.byteLength;
  for (const name in message.headers) {
    const value = message.headers[name] as string;
    headers[name] = value;
    size += name.length + value.length;
  }
  const key = message.key;
  if (keyBytes !== undefined) size += keyBytes.byteLength;
  return {
    id: message.id,
    payload: message.payload.slice(),
    headers: Object.freeze(headers),
    key: typeof key === 'object' ? key.slice() : key,
    timestamp: message.timestamp ?? now,
    appendedAt: now,
    size,
  };
}

/** What is wrong with `message` (never its values, which may be secret). */
function messageProblems(message: Message, index: number): string[] {
  const at = `messages[${index}]`;
  if (typeof message !== 'object' || message === null) return [`${at} must be a Message object`];
  const problems: string[] = [];
  if (typeof message.id !== 'string') problems.push(`${at}.id must be a string`);
  if (!(message.payload instanceof Uint8Array)) problems.push(`${at}.payload must be a Uint8Array`);
  if (typeof message.headers !== 'object' || message.headers === null) {
    problems.push(`${at}.headers must be an object of strings`);
  } else {
    for (const name in message.headers) {
      if (typeof message.headers[name] !== 'string')
        problems.push(`${at}.headers[${JSON.stringify(name)}] must be a string`);
    }
  }
  const key: unknown = message.key;
  if (key !== undefined && typeof key !== 'string' && !(key instanceof Uint8Array)) {
    problems.push(`${at}.key must be a string or a Uint8Array`);
  }
  const timestamp: unknown = message.timestamp;
  if (timestamp !== undefined && (typeof timestamp !== 'number' || !Number.isFinite(timestamp))) {
    problems.push(`${at}.timestamp must be a finite number of milliseconds`);
  }
  return problems;
}
