import type { StallReason } from '../subscriber-events.js';

/** When a subscription counts as stalled. */
export interface StallWatchdogOptions {
  /** Longest a rebalance (or a restart after a crash) may take before it is reported and forced. */
  readonly rebalanceBoundMs: number;
  /** Longest the consumer may go without a fetch, heartbeat or join before it is reported. */
  readonly progressBoundMs: number;
  /** Called once per bound exceeded; `stalledMs` is how long it has lasted. */
  readonly onStall: (reason: StallReason, stalledMs: number) => void;
}

/**
 * Notices a subscription that stopped making progress, so it never stalls silently.
 *
 * kafkajs can end up in a rebalance that never completes (a join that failed against a loading
 * coordinator leaves it fetching for a generation the subscription no longer hands out from), or
 * retry a lost broker for a long time without a word. The session feeds this watchdog kafkajs'
 * signs of life; the watchdog calls `onStall` when a rebalance outlasts its bound (again after
 * each further bound), and once per episode when there was no sign of life for too long.
 * Its timer is unref'd: it never keeps a process alive.
 */
export class StallWatchdog {
  readonly #o: StallWatchdogOptions;
  #rebalancingSince: number | undefined;
  #nextReportAt = 0;
  #lastProgress = Date.now();
  #reported = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: StallWatchdogOptions) {
    this.#o = options;
  }

  /** Starts watching (idempotent). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#lastProgress = Date.now();
    const every = Math.max(10, Math.min(this.#o.rebalanceBoundMs, this.#o.progressBoundMs) / 4);
    this.#timer = setInterval(() => this.#check(), every);
    this.#timer.unref();
  }

  /** Stops watching (idempotent). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The group is rebalancing, or kafkajs is restarting the consumer: nothing is handed out meanwhile. */
  rebalancing(): void {
    if (this.#rebalancingSince !== undefined) return;
    this.#rebalancingSince = Date.now();
    this.#nextReportAt = this.#rebalancingSince + this.#o.rebalanceBoundMs;
  }

  /** The rebalance ended (partitions assigned, or the old generation turned out to be still valid). */
  settled(): void {
    this.#rebalancingSince = undefined;
    this.progress();
  }

  /** kafkajs showed a sign of life: a fetch answered, a heartbeat went through, the group was joined. */
  progress(): void {
    this.#lastProgress = Date.now();
    this.#reported = false;
  }

  #check(): void {
    const now = Date.now();
    const since = this.#rebalancingSince;
    if (since !== undefined) {
      if (now >= this.#nextReportAt) {
        // Report (and let the session force a rejoin) again after each further bound.
        this.#nextReportAt = now + this.#o.rebalanceBoundMs;
        this.#o.onStall('rebalance', now - since);
      }
      return;
    }
    if (!this.#reported && now - this.#lastProgress >= this.#o.progressBoundMs) {
      this.#reported = true;
      this.#o.onStall('no-progress', now - this.#lastProgress);
    }
  }
}
