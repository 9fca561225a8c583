import type { NackOptions, ReceivedMessage, Settlement } from '@bus/core';
import type { KafkaMessage } from 'kafkajs';
import type { PartitionState, PendingRecord } from './partition-state.js';

/** How a fetched record is read into a {@link ReceivedMessage}. */
export interface DecodeOptions {
  /** Header carrying the bus message id; removed from `headers`. */
  readonly messageIdHeader: string;
  /** Header marking a key that was published as bytes; removed from `headers`. */
  readonly binaryKeyHeader: string;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Kafka allows a header name more than once; a string record keeps the last value, as a map would.
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  if (last === undefined) return undefined;
  return typeof last === 'string' ? last : last.toString('utf8');
}

function view(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Kafka stores keys as bytes and does not record whether they were text. A key comes back as a
 * string when it is valid UTF-8 and the producer did not mark it binary; otherwise as bytes.
 */
function decodeKey(key: Buffer, binary: boolean): string | Uint8Array {
  if (binary) return view(key);
  try {
    return strictUtf8.decode(key);
  } catch {
    return view(key);
  }
}

/** The decoded, immutable part of a fetched record. */
export interface DecodedRecord {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly key?: string | Uint8Array;
  readonly timestamp: number;
}

const EMPTY = new Uint8Array(0);

/** Decodes a kafkajs record: headers to strings, the id header lifted out, payload as a zero-copy view. */
export function decodeRecord(
  message: KafkaMessage,
  topic: string,
  partition: number,
  options: DecodeOptions,
): DecodedRecord {
  const headers: Record<string, string> = {};
  let id: string | undefined;
  let binaryKey = false;
  const raw = message.headers;
  if (raw !== undefined) {
    for (const name in raw) {
      const value = headerText(raw[name]);
      if (value === undefined) continue;
      if (name === options.messageIdHeader) id = value;
      else if (name === options.binaryKeyHeader) binaryKey = true;
      else headers[name] = value;
    }
  }
  const record: { -readonly [K in keyof DecodedRecord]: DecodedRecord[K] } = {
    // A record from a producer that set no id gets one derived from its position: stable across redeliveries.
    id: id ?? `${topic}-${partition}-${message.offset}`,
    payload: message.value === null ? EMPTY : view(message.value),
    headers,
    timestamp: Number(message.timestamp),
  };
  if (message.key !== null && message.key !== undefined) record.key = decodeKey(message.key, binaryKey);
  return record;
}

/** What a received message reports its settlement to. */
export interface SettlementSink {
  /** An ack took effect. */
  acked(record: PendingRecord, state: PartitionState): void;
  /** A nack took effect. */
  nacked(record: PendingRecord, state: PartitionState, options: NackOptions): void;
}

/** A fetched record handed to a consumer; settled once by `ack()` or `nack()`. */
export class KafkaReceivedMessage implements ReceivedMessage {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  readonly key?: string | Uint8Array;
  readonly timestamp: number;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly deliveryAttempt: number;
  #settlement: Settlement = 'pending';
  readonly #record: PendingRecord;
  readonly #state: PartitionState;
  readonly #sink: SettlementSink;

  constructor(decoded: DecodedRecord, record: PendingRecord, state: PartitionState, sink: SettlementSink) {
    this.id = decoded.id;
    this.payload = decoded.payload;
    this.headers = decoded.headers;
    if (decoded.key !== undefined) this.key = decoded.key;
    this.timestamp = decoded.timestamp;
    this.topic = state.topic;
    this.partition = state.partition;
    this.offset = record.entry.offset;
    this.deliveryAttempt = record.attempts;
    this.#record = record;
    this.#state = state;
    this.#sink = sink;
  }

  get settlement(): Settlement {
    return this.#settlement;
  }

  ack(): boolean {
    if (this.#settlement !== 'pending') return false;
    this.#settlement = 'acked';
    this.#sink.acked(this.#record, this.#state);
    return true;
  }

  nack(options: NackOptions = {}): boolean {
    if (this.#settlement !== 'pending') return false;
    this.#settlement = 'nacked';
    this.#sink.nacked(this.#record, this.#state, options);
    return true;
  }
}
