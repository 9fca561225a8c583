import type { LastError } from '../subscriber-stats.js';

/** Counters a subscriber's sessions update in place; the subscriber snapshots them. */
export interface ConsumerStats {
  consumed: number;
  redelivered: number;
  acked: number;
  nacked: number;
  inFlight: number;
  commits: number;
  commitFailures: number;
  rebalances: number;
  reconnections: number;
  lastError: LastError | undefined;
}

/** Fresh counters. */
export function createConsumerStats(): ConsumerStats {
  return {
    consumed: 0,
    redelivered: 0,
    acked: 0,
    nacked: 0,
    inFlight: 0,
    commits: 0,
    commitFailures: 0,
    rebalances: 0,
    reconnections: 0,
    lastError: undefined,
  };
}
