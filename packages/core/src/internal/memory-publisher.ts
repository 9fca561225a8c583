import { ClosedError } from '../errors.js';
import { type Message, type Publisher, SPEC_VERSION } from '../pubsub.js';
import { publishInputError } from '../validation.js';
import type { MemoryCore } from './memory-core.js';
import type { StoredRecord } from './memory-log.js';

const utf8 = new TextEncoder();
/** Fatal, and keeps a BOM: decodes exactly the values Kafka's clients would hand back as text. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

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
    const invalid = publishInputError(topic, messages);
    if (invalid !== undefined) throw invalid;
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
  let binaryHeaders: Record<string, Uint8Array> | undefined;
  if (message.binaryHeaders !== undefined) {
    // The rule of every transport: what is valid UTF-8 arrives as text, only the rest as bytes.
    for (const name in message.binaryHeaders) {
      const value = message.binaryHeaders[name] as Uint8Array;
      size += name.length + value.byteLength;
      const text = utf8Text(value);
      if (text !== undefined) headers[name] = text;
      else {
        binaryHeaders ??= {};
        binaryHeaders[name] = value.slice();
      }
    }
  }
  const key = message.key;
  if (keyBytes !== undefined) size += keyBytes.byteLength;
  const record: StoredRecord = {
    id: message.id,
    payload: message.payload.slice(),
    headers: Object.freeze(headers),
    key: typeof key === 'object' ? key.slice() : key,
    timestamp: message.timestamp ?? now,
    appendedAt: now,
    size,
  };
  return binaryHeaders === undefined ? record : { ...record, binaryHeaders: Object.freeze(binaryHeaders) };
}

function utf8Text(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
