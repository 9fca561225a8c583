/** The last failure a processor saw. */
export interface LastError {
  /** The error's class name. */
  readonly name: string;
  /** Its message. */
  readonly message: string;
  /** Its `code`, when it has a string one. */
  readonly code: string | undefined;
  /** When it happened. */
  readonly at: Date;
}

/** A snapshot of what a processor did since it was created. */
export interface ProcessorStats {
  /** Messages whose handler returned. */
  readonly handled: number;
  /** Handler attempts that threw (each retry counts). */
  readonly failed: number;
  /** In-process retries, plus moves to a retry topic. */
  readonly retried: number;
  /** Messages moved to a dead-letter topic. */
  readonly deadLettered: number;
  /** Messages acked without a handler: other known types on a shared topic, and unknown types under the `ack` policy. */
  readonly skipped: number;
  /** Messages being handled now. */
  readonly inFlight: number;
  /** The most recent failure, if any. */
  readonly lastError: LastError | undefined;
}
