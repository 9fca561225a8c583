import type { BusError } from '@bus/core';

/**
 * Why a subscription reported a stall:
 * - `rebalance`: a rebalance (or kafkajs' restart after a crash) outlasted its bound; the
 *   subscription forces a rejoin (`rejoining`).
 * - `no-progress`: no fetch, heartbeat or join for longer than the session timeout (typically the
 *   brokers are unreachable); kafkajs keeps retrying with the same group member.
 */
export type StallReason = 'rebalance' | 'no-progress';

/** Events of a `KafkaSubscriber`; every payload names the subscription's topic and group. */
export interface KafkaSubscriberEvents {
  /** A subscription's consumer connected (also after a restart). */
  connect: { topic: string; group: string };
  /** A subscription's consumer disconnected (crash, close). */
  disconnect: { topic: string; group: string };
  /** The group (re)assigned partitions to a subscription. `revoked` lists partitions it lost. */
  rebalance: { topic: string; group: string; assigned: number[]; revoked: number[] };
  /** A subscription's consumer crashed; with `willRestart` kafkajs reconnects with backoff, else the loop throws `error`. */
  crash: { topic: string; group: string; error: BusError; willRestart: boolean };
  /** Offsets were committed: for each partition, the next offset the group will read. */
  commit: { topic: string; group: string; offsets: { partition: number; offset: number }[] };
  /**
   * A subscription stopped making progress: see {@link StallReason}. `stalledMs` is how long it has
   * lasted. With `rejoining` the subscription restarts its consumer (leaving the group, joining
   * again from the committed offsets); unsettled messages of the old generation are redelivered.
   */
  stall: { topic: string; group: string; reason: StallReason; stalledMs: number; rejoining: boolean };
  /** A background operation (such as a commit) failed; it is retried on the next occasion. */
  error: { topic: string; group: string; operation: string; error: BusError };
}
