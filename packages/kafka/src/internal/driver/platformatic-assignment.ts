/** What the platformatic session's assignment watch needs to know and do. */
export interface AssignmentWatchHost {
  readonly topic: string;
  readonly groupProtocol: 'classic' | 'consumer';
  /** How long a KIP-848 rebalance is waited for before the session takes whatever the client has. */
  readonly rebalanceBoundMs: number;
  /** The client's assignments (undefined before the consumer exists; null before a join). */
  readonly assignments: () =>
    | readonly { readonly topic: string; readonly partitions: readonly number[] }[]
    | null
    | undefined;
  /** The partitions the session serves now. */
  readonly served: () => ReadonlyMap<number, unknown>;
  /** Whether the session runs (looks end when it does not). */
  readonly running: () => boolean;
  /** Whether the session waits for a rebalance to end (it hands nothing out meanwhile). */
  readonly rebalancing: () => boolean;
  /** Takes the client's current assignment (the session's `#syncAssignment`). */
  readonly sync: () => void;
}

/** How often a look for a changed assignment checks the client again. */
const LOOK_EVERY_MS = 20;

/**
 * Reads the client's assignment of the session's topic, and finds out when it changed where the
 * client says nothing. A classic rebalance ends with the client's join event, which the session
 * syncs on; under KIP-848 (`groupProtocol: 'consumer'`) the client moves partitions without one:
 * after a rebalance event, and when a heartbeat's answer adds partitions (a member that joined
 * after a revocation elsewhere, or one that got a leaving member's partitions). For those, this
 * looks at the client's assignment every `LOOK_EVERY_MS` for a while and calls `sync` on a change.
 */
export class AssignmentWatch {
  readonly #host: AssignmentWatchHost;
  /** A look for partitions added by a heartbeat's answer is under way (see `afterHeartbeat`). */
  #looking = false;

  constructor(host: AssignmentWatchHost) {
    this.#host = host;
  }

  /** The partitions of the topic the client has assigned to this member, ascending, each once. */
  assigned(): number[] {
    const { topic } = this.#host;
    const assignments = this.#host.assignments() ?? [];
    return [...new Set(assignments.filter((a) => a.topic === topic).flatMap((a) => a.partitions))].sort(
      (a, b) => a - b,
    );
  }

  /**
   * A rebalance began. Under KIP-848 no join event ends it: look for the new assignment, and past
   * `rebalanceBoundMs` take what the client has (so the session does not wait forever).
   */
  afterRebalance(): void {
    const host = this.#host;
    if (host.groupProtocol !== 'consumer') return;
    const started = Date.now();
    const snapshot = JSON.stringify(host.assignments() ?? []);
    const look = () => {
      if (!host.rebalancing() || !host.running()) return;
      const changed = JSON.stringify(host.assignments() ?? []) !== snapshot;
      if (changed || Date.now() - started >= host.rebalanceBoundMs) host.sync();
      else setTimeout(look, LOOK_EVERY_MS).unref();
    };
    setTimeout(look, LOOK_EVERY_MS).unref();
  }

  /**
   * A heartbeat went through. Under KIP-848 its answer is also how partitions arrive, without any
   * event: look for a changed assignment after each (one look at a time).
   */
  afterHeartbeat(): void {
    const host = this.#host;
    if (host.groupProtocol !== 'consumer' || this.#looking) return;
    this.#looking = true;
    // The client takes the answer's assignment after a metadata lookup: give it a moment.
    const until = Date.now() + 1_000;
    const look = () => {
      if (!host.running() || host.rebalancing()) {
        this.#looking = false;
        return;
      }
      if (this.#changed()) {
        this.#looking = false;
        host.sync();
      } else if (Date.now() >= until) this.#looking = false;
      else setTimeout(look, LOOK_EVERY_MS).unref();
    };
    look();
  }

  /** Whether the client's assignment of the topic differs from the partitions the session serves. */
  #changed(): boolean {
    const assignments = this.#host.assignments();
    if (assignments === null || assignments === undefined) return false;
    const { topic } = this.#host;
    const served = this.#host.served();
    const assigned = new Set(assignments.filter((a) => a.topic === topic).flatMap((a) => a.partitions));
    if (assigned.size !== served.size) return true;
    for (const partition of assigned) if (!served.has(partition)) return true;
    return false;
  }
}
