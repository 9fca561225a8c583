/**
 * Reads a stream's topic back from offset 0 with a raw kafkajs consumer (the auditor, not the code under
 * test) and compares the log with the ledger: acknowledged messages missing from the log, copies written
 * twice, and per-key order in the log.
 */
import { uniqueName } from '@bus/test-infra';
import { clusterKafka, withAdmin } from './cluster-helpers.ts';
import type { Ledger } from './ledger.ts';
import { parseStreamPayload } from './stream-payload.ts';

export interface LogFigures {
  /** Records in the topic. */
  records: number;
  /** Acknowledged messages that are not in the log. */
  ackedMissingFromLog: number;
  /** Records beyond the first copy of a message. */
  duplicatesInLog: number;
  /** First copies of a key's message stored after a later message of the same key (same partition). */
  logOrderViolations: number;
}

export async function auditLog(topic: string, ledger: Ledger, timeoutMs = 120_000): Promise<LogFigures> {
  const ends = await withAdmin((admin) => admin.fetchTopicOffsets(topic));
  const expected = ends.reduce((sum, p) => sum + Number(p.high), 0);
  const copies = new Uint16Array(ledger.capacity);
  const maxKeySeq = new Int32Array(ledger.keys.length).fill(-1);
  let records = 0;
  let violations = 0;
  const consumer = clusterKafka().consumer({ groupId: uniqueName('cluster-audit'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    if (expected === 0) done();
    await consumer.run({
      partitionsConsumedConcurrently: 6,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const { seq, key, keySeq } = parseStreamPayload(message.value ?? Buffer.alloc(0));
          records++;
          if (copies[seq]! === 0) {
            if (keySeq < maxKeySeq[key]!) violations++;
            else maxKeySeq[key] = keySeq;
          }
          copies[seq] = Math.min(copies[seq]! + 1, 65_535);
        }
        if (records >= expected) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`audit read ${records} of ${expected} records of ${topic} in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  let missing = 0;
  let duplicates = 0;
  for (let seq = 0; seq < ledger.registeredCount; seq++) {
    if (ledger.isAcked(seq) && copies[seq] === 0) missing++;
    if (copies[seq]! > 1) duplicates += copies[seq]! - 1;
  }
  return { records, ackedMissingFromLog: missing, duplicatesInLog: duplicates, logOrderViolations: violations };
}
