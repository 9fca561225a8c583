/** When the acked prefixes are committed. */
export interface CommitSchedule {
  /** Commit once this many acks moved a commit position; `undefined` for no count trigger. */
  readonly everyAcks: number | undefined;
  /** Commit at most this long after the first uncommitted ack; `undefined` for no timer. */
  readonly intervalMs: number | undefined;
}

/**
 * Batches commits: one request per `everyAcks` acks or per `intervalMs`, never one per message.
 * Commits are serialized; a flush requested while one runs is folded into a single follow-up.
 */
export class CommitScheduler {
  readonly #schedule: CommitSchedule;
  readonly #commit: () => Promise<void>;
  #acks = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  /** @param commit Commits every pending position; must not throw (it reports its own errors). */
  constructor(schedule: CommitSchedule, commit: () => Promise<void>) {
    this.#schedule = schedule;
    this.#commit = commit;
  }

  /** An ack moved a commit position. */
  noteAck(): void {
    if (this.#stopped) return;
    this.#acks++;
    const { everyAcks, intervalMs } = this.#schedule;
    if (everyAcks !== undefined && this.#acks >= everyAcks) {
      void this.flush();
    } else if (intervalMs !== undefined && this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, intervalMs);
    }
  }

  /** Commits now (after the running commit, if any). Resolves when the positions known now are committed or failed. */
  flush(): Promise<void> {
    this.#acks = 0;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#running !== undefined) {
      this.#again = true;
      return this.#running;
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#again = false;
          await this.#commit();
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    };
    this.#running = run();
    return this.#running;
  }

  /** Stops the timer; later acks schedule nothing. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
