import { randomUUID } from 'node:crypto';
import { type Message, TimeoutError } from '@bus/core';
import type { Consumer, Kafka as KafkaClient, KafkaMessage } from 'kafkajs';
import { decodeKey, headerValue } from './consumer-message.js';
import { CLOUDEVENTS_ID_HEADER } from '../subscriber-options.js';

/** Offsets `[from, to)` of one partition to read. */
export interface ReadRange {
  readonly partition: number;
  readonly from: number;
  readonly to: number;
}

/** A record read back as a bus message, with its offset. */
export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly message: Message;
}

/** How {@link readRanges} reads and decodes. */
export interface ReadOptions {
  readonly messageIdHeader: string;
  readonly binaryKeyHeader: string;
  /** Reading fails with a `TimeoutError` when the ranges are not read within this time. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Called for each record in range, in offset order per partition; reading waits for it. */
  readonly onRecord: (record: ReadRecord) => Promise<void> | void;
}

/**
 * Reads offset ranges of a topic without committing anything: kafkajs has no manual assignment,
 * so a consumer of a throwaway group (that never commits, so the broker forgets it) subscribes,
 * seeks each wanted partition and pauses the others.
 */
export async function readRanges(
  kafka: KafkaClient,
  topic: string,
  ranges: readonly ReadRange[],
  options: ReadOptions,
): Promise<void> {
  const pending = new Map(ranges.filter((r) => r.to > r.from).map((r) => [r.partition, r]));
  // Next offset to hand out per partition: a fetch made before the seek took effect may overlap it.
  const next = new Map([...pending.values()].map((r) => [r.partition, r.from]));
  if (pending.size === 0) return;
  options.signal?.throwIfAborted();
  const consumer = kafka.consumer({
    groupId: `bus-dead-letter-reader-${randomUUID()}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
    retry: { retries: 2 },
  });
  let finished = false;
  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const done = new Promise<void>((resolve, reject) => {
    settle = {
      resolve: () => {
        finished = true;
        resolve();
      },
      reject: (error) => {
        finished = true;
        reject(error);
      },
    };
  });
  consumer.on(consumer.events.CRASH, (event) => settle.reject(event.payload.error));
  const timer = setTimeout(
    () => settle.reject(new TimeoutError(`Reading dead letters of "${topic}"`, options.timeoutMs)),
    options.timeoutMs,
  );
  const onAbort = () => settle.reject(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, isStale }) => {
        const range = pending.get(batch.partition);
        if (finished) return;
        if (range === undefined) {
          // A partition outside the ranges (or already read): stop fetching it.
          consumer.pause([{ topic, partitions: [batch.partition] }]);
          return;
        }
        for (const raw of batch.messages) {
          if (isStale() || finished) return;
          const offset = Number(raw.offset);
          if (offset < (next.get(batch.partition) ?? range.from) || offset >= range.to) continue;
          next.set(batch.partition, offset + 1);
          try {
            await options.onRecord({
              partition: batch.partition,
              offset,
              message: messageOf(raw, topic, batch.partition, options),
            });
          } catch (error) {
            settle.reject(error);
            return;
          }
        }
        // An empty batch reports the high watermark as its last offset, so a range ending in
        // records the consumer never sees (aborted or control records) still completes.
        if (Number(batch.lastOffset()) + 1 >= range.to) {
          pending.delete(batch.partition);
          consumer.pause([{ topic, partitions: [batch.partition] }]);
          if (pending.size === 0) settle.resolve();
        }
      },
    });
    for (const range of pending.values())
      consumer.seek({ topic, partition: range.partition, offset: String(range.from) });
    await done;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    await disconnect(consumer);
  }
}

async function disconnect(consumer: Consumer): Promise<void> {
  try {
    await consumer.disconnect();
  } catch {
    // The read already succeeded or failed; a failed disconnect changes neither.
  }
}

function messageOf(raw: KafkaMessage, topic: string, partition: number, options: ReadOptions): Message {
  const headers: Record<string, string> = {};
  let binaryHeaders: Record<string, Uint8Array> | undefined;
  let id: string | undefined;
  let binaryKey = false;
  for (const name in raw.headers ?? {}) {
    const value = headerValue(raw.headers?.[name]);
    if (value === undefined) continue;
    if (name === options.binaryKeyHeader) binaryKey = true;
    else if (typeof value !== 'string') {
      if (name === options.messageIdHeader) continue;
      binaryHeaders ??= {};
      // A copy: the fetched bytes belong to the whole response.
      binaryHeaders[name] = new Uint8Array(value);
    } else if (name === options.messageIdHeader) id = value;
    else headers[name] = value;
  }
  return {
    id: id ?? headers[CLOUDEVENTS_ID_HEADER] ?? `${topic}-${partition}-${raw.offset}`,
    payload: raw.value === null ? new Uint8Array(0) : new Uint8Array(raw.value),
    headers,
    ...(binaryHeaders === undefined ? {} : { binaryHeaders }),
    ...(raw.key === null || raw.key === undefined ? {} : { key: decodeKey(raw.key, binaryKey) }),
    timestamp: Number(raw.timestamp),
  };
}
