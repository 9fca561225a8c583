/** The last error a subscriber saw, without the error object (stats are plain data). */
export interface LastError {
  /** The error's message (credentials redacted). */
  readonly message: string;
  /** The error's stable code. */
  readonly code: string;
  /** When it happened, in milliseconds since the epoch. */
  readonly at: number;
}

/** A snapshot of a {@link KafkaSubscriber}'s counters, totals over all its subscriptions. */
export interface KafkaSubscriberStats {
  /** Subscriptions currently running. */
  readonly subscriptions: number;
  /** Messages handed to consumers, redeliveries included. */
  readonly consumed: number;
  /** Of `consumed`, redeliveries after a nack. */
  readonly redelivered: number;
  /** Messages acked. */
  readonly acked: number;
  /** Messages nacked. */
  readonly nacked: number;
  /** Messages handed out and not settled yet. */
  readonly inFlight: number;
  /** Messages fetched and waiting in memory to be handed out (or redelivered). */
  readonly buffered: number;
  /** Successful offset commit requests. */
  readonly commits: number;
  /** Failed offset commit requests (retried with the next commit). */
  readonly commitFailures: number;
  /** Partition assignments received, the first one included. */
  readonly rebalances: number;
  /** Consumer restarts after a crash (lost broker, ...). */
  readonly reconnections: number;
  /** The last error seen, if any. */
  readonly lastError: LastError | undefined;
}
