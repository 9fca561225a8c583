import { KafkaErrorCode, toKafkaError } from '@bus/kafka';
import { MultipleErrors, NetworkError, ProtocolError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { toPlatformaticOptions } from '../src/internal/driver/platformatic-config.ts';
import { sendRetrying } from '../src/internal/driver/platformatic-send-retry.ts';
import type { DriverRecord } from '../src/internal/driver/types.ts';

// What @platformatic/kafka reports while a partition's leadership moves, built from its own error classes.
const notLeader = () => new ProtocolError('NOT_LEADER_OR_FOLLOWER');
const refused = () => new NetworkError('Connection to 127.0.0.1:29592 failed.');

describe('@platformatic/kafka while leadership moves', () => {
  it('maps refusals of a moved leader to a retryable connection failure, as kafkajs reports a lost leader', () => {
    for (const error of [
      notLeader(),
      new ProtocolError('LEADER_NOT_AVAILABLE'),
      new ProtocolError('FENCED_LEADER_EPOCH'),
      new MultipleErrors('produce failed 6 times.', [refused(), notLeader(), notLeader()]),
    ]) {
      const typed = toKafkaError(error, { operation: 'publish', topic: 't' });
      expect({ code: typed.code, retryable: typed.isRetryable }, error.message).toEqual({
        code: KafkaErrorCode.CONNECTION_FAILED,
        retryable: true,
      });
    }
    // A topic the broker does not know stays what it is.
    expect(toKafkaError(new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION'), { operation: 'publish' }).code).toBe(
      KafkaErrorCode.UNKNOWN_TOPIC,
    );
  });

  it('drops the client metadata before retrying an attempt refused because a leader moved, and only then', () => {
    const { retryDelay } = toPlatformaticOptions({
      brokers: ['127.0.0.1:9092'],
      retry: { initialRetryTimeMs: 100, maxRetryTimeMs: 100 },
    });
    if (typeof retryDelay !== 'function') throw new Error('expected a retry delay function');
    let cleared = 0;
    const client = { clearMetadata: () => cleared++ };
    const delay = retryDelay(client, 'fetch', 1, 5, notLeader());
    expect(delay).toBeGreaterThanOrEqual(80);
    expect(delay).toBeLessThanOrEqual(120);
    expect(cleared).toBe(1);
    // A produce retry after such a refusal goes at once: the publisher retries the send itself, regrouped.
    expect(retryDelay(client, 'produce', 2, 5, new MultipleErrors('produce failed', [refused(), notLeader()]))).toBe(0);
    expect(cleared).toBe(2);
    // A lost connection already makes the client look metadata up again; other refusals keep it.
    retryDelay(client, 'fetch', 1, 5, refused());
    retryDelay(client, 'produce', 1, 5, new ProtocolError('NOT_ENOUGH_REPLICAS'));
    // Marked as stale metadata by the client too, but left out as in its own fetch (a deleted topic).
    retryDelay(client, 'fetch', 1, 5, new ProtocolError('UNKNOWN_TOPIC_OR_PARTITION'));
    expect(cleared).toBe(2);
  });
});

describe('sendRetrying (the @platformatic/kafka publisher retries)', () => {
  const record = (partition: number): DriverRecord => ({ topic: 't', key: null, value: Buffer.from('v'), partition });
  const failedSend = (error: Error, written: number[]) =>
    Object.assign(error, {
      produced: { offsets: written.map((partition) => ({ topic: 't', partition, offset: 0n })) },
    });

  it('sends again only what is not acknowledged, with fresh metadata, until acknowledged', async () => {
    const sent: number[][] = [];
    let cleared = 0;
    const acked = await sendRetrying([record(0), record(1), record(2)], {
      topic: 't',
      retries: 5,
      delay: () => 1,
      open: () => true,
      clearMetadata: () => cleared++,
      attempt: async (records) => {
        sent.push(records.map((r) => r.partition as number));
        if (sent.length === 1) throw failedSend(new MultipleErrors('produce failed', [notLeader()]), [0]);
        return records.map((r) => r.partition as number);
      },
    });
    expect(sent).toEqual([
      [0, 1, 2],
      [1, 2],
    ]);
    expect(acked.sort()).toEqual([0, 1, 2]);
    expect(cleared).toBe(1);
  });

  it('rejects with the last error once the retries ran out, and at once for any other failure', async () => {
    /** How many attempts a send made before it rejected with what `failure` throws every time. */
    const attemptsUntilRejected = async (failure: () => Error, expected: new (...args: never[]) => Error) => {
      let attempts = 0;
      await expect(
        sendRetrying([record(0)], {
          topic: 't',
          retries: 2,
          delay: () => 1,
          open: () => true,
          clearMetadata: () => {},
          attempt: async () => {
            attempts++;
            throw failure();
          },
        }),
      ).rejects.toBeInstanceOf(expected);
      return attempts;
    };
    expect(await attemptsUntilRejected(notLeader, ProtocolError)).toBe(3);
    // A lost connection is retried by the client itself (it looks the leaders up again then).
    expect(await attemptsUntilRejected(refused, NetworkError)).toBe(1);
    expect(await attemptsUntilRejected(() => new ProtocolError('MESSAGE_TOO_LARGE'), ProtocolError)).toBe(1);
  });
});
