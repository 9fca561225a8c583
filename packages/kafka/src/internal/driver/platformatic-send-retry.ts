import { leaderMoved } from './platformatic-config.js';
import type { DriverRecord } from './types.js';

/** The partitions of `topic` a failed @platformatic/kafka send still wrote (the client attaches them). */
function producedPartitions(error: unknown, topic: string): Set<number> {
  const offsets = (error as { produced?: { offsets?: readonly { topic: string; partition: number }[] } } | null)
    ?.produced?.offsets;
  const partitions = new Set<number>();
  for (const offset of offsets ?? []) if (offset.topic === topic) partitions.add(offset.partition);
  return partitions;
}

/** What {@link sendRetrying} needs. */
export interface SendRetryOptions {
  readonly topic: string;
  /** One attempt: sends `records` (each with its partition pinned) and returns the partitions acknowledged. */
  readonly attempt: (records: DriverRecord[]) => Promise<readonly number[]>;
  /** Drops the client's metadata, so the next attempt finds every partition's leader afresh. */
  readonly clearMetadata: () => void;
  /** Further attempts after the first, and the pause before each (the connection's retry policy). */
  readonly retries: number;
  readonly delay: (attempt: number) => number;
  /** Whether the producer is still open (a closed one stops retrying). */
  readonly open: () => boolean;
}

/**
 * Sends `records`, and retries here a send refused because a partition's leader moved.
 *
 * Why: @platformatic/kafka 2.12 groups a send's records by the leaders it knows, once, and retries
 * each group as one request to the leader of the group's first partition. When leadership moves
 * and a group's partitions now have different leaders, every retry goes to a broker that leads
 * only some of them and is refused (NOT_LEADER_OR_FOLLOWER) until the retries run out: publishes
 * failed after 10-21 s on the 3-node cluster, while kafkajs sends each retry to the current
 * leaders. The client's own retries after such a refusal are made at once (see the client's
 * `retryDelay`); then each retry here is a new send of what is not acknowledged yet (partitions a
 * failed attempt still wrote are not sent again), grouped anew by fresh metadata, with the same
 * backoff as kafkajs. Any other failure, or the last attempt's, rejects with that attempt's error.
 */
export async function sendRetrying(records: DriverRecord[], o: SendRetryOptions): Promise<number[]> {
  const acked: number[] = [];
  let pending = records;
  for (let attempt = 0; ; attempt++) {
    try {
      acked.push(...(await o.attempt(pending)));
      return acked;
    } catch (error) {
      if (attempt >= o.retries || !leaderMoved(error) || !o.open()) throw error;
      const written = producedPartitions(error, o.topic);
      if (written.size > 0) {
        acked.push(...written);
        pending = pending.filter((record) => !written.has(record.partition as number));
        if (pending.length === 0) return acked;
      }
      // The next attempt looks the leaders up again.
      o.clearMetadata();
      await new Promise((resolve) => setTimeout(resolve, o.delay(attempt + 1)));
    }
  }
}
