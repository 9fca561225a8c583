import type { PendingRecord } from './held-record.js';
import type { PartitionState } from './partition-state.js';

/** Messages handed out from one partition before the next partition's turn. */
const BURST = 32;

/**
 * The hand-out scheduler: which waiting record goes out next. It serves the assigned partitions
 * round-robin, a burst at a time (fair across partitions, cheap per message), and wakes the
 * consumer when a delayed redelivery becomes due.
 */
export class HandOut<T> {
  readonly #handOut: (record: PendingRecord, state: PartitionState) => T;
  readonly #wake: () => void;
  #order: PartitionState[] = [];
  #cursor = 0;
  #burst = 0;
  #dueTimer: NodeJS.Timeout | undefined;

  /** `handOut` turns the record taken into what the consumer gets; `wake` is called when one is due. */
  constructor(handOut: (record: PendingRecord, state: PartitionState) => T, wake: () => void) {
    this.#handOut = handOut;
    this.#wake = wake;
  }

  /** The partitions served, in partition order. */
  get partitions(): readonly PartitionState[] {
    return this.#order;
  }

  /** Records waiting to be handed out, over every partition. */
  get waiting(): number {
    let waiting = 0;
    for (const state of this.#order) waiting += state.waiting;
    return waiting;
  }

  /** Serves `partitions` from now on (a new assignment). */
  assign(partitions: PartitionState[]): void {
    this.#order = [...partitions].sort((a, b) => a.partition - b.partition);
    this.#cursor = 0;
    this.#burst = 0;
  }

  /** The next record handed out, or `undefined` when none is ready. */
  take(): T | undefined {
    const order = this.#order;
    const count = order.length;
    if (count === 0) return undefined;
    if (this.#burst > 0) {
      const state = order[this.#cursor] as PartitionState;
      const record = state.take();
      if (record !== undefined) {
        this.#burst--;
        return this.#handOut(record, state);
      }
    }
    for (let i = 1; i <= count; i++) {
      const index = (this.#cursor + i) % count;
      const state = order[index] as PartitionState;
      const record = state.take();
      if (record === undefined) continue;
      this.#cursor = index;
      this.#burst = BURST - 1;
      return this.#handOut(record, state);
    }
    return undefined;
  }

  /** Wakes the consumer when the earliest delayed redelivery becomes due. */
  armDueTimer(): void {
    let earliest: number | undefined;
    for (const state of this.#order) {
      const due = state.dueAt();
      if (due !== undefined && (earliest === undefined || due < earliest)) earliest = due;
    }
    this.stop();
    if (earliest === undefined) return;
    this.#dueTimer = setTimeout(
      () => {
        this.#dueTimer = undefined;
        this.#wake();
        this.armDueTimer();
      },
      Math.max(0, earliest - Date.now()),
    );
  }

  /** Cancels the due timer. */
  stop(): void {
    if (this.#dueTimer !== undefined) clearTimeout(this.#dueTimer);
    this.#dueTimer = undefined;
  }
}
