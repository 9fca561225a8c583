import type { PartitionLog } from './memory-log.js';
import { MemoryReceivedMessage } from './memory-received.js';
import { OffsetWindow } from './memory-window.js';

/** A group member as a partition cursor sees it. */
export interface CursorOwner {
  /** Messages delivered to this member and not settled yet. */
  unsettled: number;
  /** Asks the member to hand over messages to any waiting reader. */
  wake(): void;
}

/** How a cursor reports to its topic, and how long a handoff may wait. */
export interface CursorHooks {
  /** Retention dropped `count` messages before the group consumed them. */
  onLost(count: number, cursor: PartitionCursor): void;
  /** The old owner did not settle within `rebalanceTimeoutMs`; the partition moved anyway. */
  onHandoffTimeout(held: number, cursor: PartitionCursor): void;
  /** How long a partition waits for its old owner to settle before moving anyway. */
  readonly rebalanceTimeoutMs: number;
}

/** Delivery state of one offset between the committed offset and the fetch position. */
export interface CursorEntry {
  readonly offset: number;
  acked: boolean;
  /** The delivery currently out with the owner, if any; only it can settle the entry. */
  outstanding: MemoryReceivedMessage | undefined;
  attempts: number;
}

/**
 * One consumer group's progress on one partition: the committed offset (start of `entries`),
 * the fetch position, and the state of every offset delivered since the commit.
 *
 * - Commit: only the contiguous acked prefix; acks past a gap wait in `entries`.
 * - Nack: seeks the position back to the nacked offset (Kafka `seek` semantics), so later
 *   messages of the same key cannot overtake it; messages still out with the consumer keep their
 *   delivery, acked ones are not delivered again by the same owner.
 * - Ownership: a partition moves to a new member once the old one has settled everything it
 *   holds (cooperative handoff), at the rebalance timeout if it has not, or at once when it
 *   leaves. Either way the new owner restarts from the committed offset, like a Kafka consumer
 *   after a rebalance.
 */
export class PartitionCursor {
  readonly topic: string;
  readonly partition: number;
  readonly #log: PartitionLog;
  readonly #entries: OffsetWindow<CursorEntry>;
  readonly #hooks: CursorHooks;
  /** Next offset to consider for delivery. */
  position: number;
  owner: CursorOwner | undefined;
  /** Set while the partition waits for `owner` to settle its messages before moving. */
  nextOwner: CursorOwner | undefined;
  /** Deliveries out with the owner. */
  outstanding = 0;
  /** No delivery before this time (a delayed nack); 0 when not delayed. */
  #notBefore = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Runs out the rebalance timeout while a handoff waits. */
  #handoffTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(topic: string, partition: number, log: PartitionLog, hooks: CursorHooks) {
    this.topic = topic;
    this.partition = partition;
    this.#log = log;
    this.#hooks = hooks;
    const start = log.start;
    this.#entries = new OffsetWindow(start);
    this.position = start;
  }

  /** The committed offset: every offset before it was acked. */
  get committed(): number {
    return this.#entries.start;
  }

  /** The next message for `owner`, or undefined when there is none it may have now. */
  take(owner: CursorOwner): MemoryReceivedMessage | undefined {
    if (this.owner !== owner || this.nextOwner !== undefined) return undefined;
    if (this.#notBefore !== 0) {
      if (Date.now() < this.#notBefore) return undefined;
      this.#notBefore = 0;
    }
    const entries = this.#entries;
    const log = this.#log;
    for (;;) {
      const offset = this.position;
      let entry = entries.get(offset);
      if (entry === undefined) {
        if (offset >= log.end) return undefined;
        if (entries.length === 0) {
          const start = log.start;
          if (offset < start) {
            this.#hooks.onLost(start - offset, this);
            entries.reset(start);
            this.position = start;
            continue;
          }
        }
        entry = { offset, acked: false, outstanding: undefined, attempts: 0 };
        entries.push(entry);
      } else if (entry.acked || entry.outstanding !== undefined) {
        this.position = offset + 1;
        continue;
      }
      this.position = offset + 1;
      const record = log.get(offset);
      if (record === undefined) {
        // Retention dropped it before this group got to it: nothing left to deliver.
        entry.acked = true;
        this.#hooks.onLost(1, this);
        this.#commit();
        continue;
      }
      entry.attempts++;
      const message = new MemoryReceivedMessage(record, this, entry);
      entry.outstanding = message;
      this.outstanding++;
      owner.unsettled++;
      return message;
    }
  }

  /** Settles `message` (an ack, or a nack when `nack` is given); false if it is no longer out. */
  settle(message: MemoryReceivedMessage, entry: CursorEntry, nack: { delayMs: number } | undefined): boolean {
    const owner = this.owner;
    if (entry.outstanding !== message || owner === undefined) return false;
    entry.outstanding = undefined;
    this.outstanding--;
    owner.unsettled--;
    if (nack === undefined) {
      entry.acked = true;
      this.#commit();
    } else {
      if (entry.offset < this.position) this.position = entry.offset;
      if (nack.delayMs > 0) this.#delay(nack.delayMs);
    }
    if (this.nextOwner !== undefined && this.outstanding === 0) this.#transfer(this.nextOwner);
    owner.wake();
    return true;
  }

  /** Makes `target` the owner: at once when the partition is idle, else once its owner settled all it holds. */
  assign(target: CursorOwner | undefined): void {
    if (target === this.owner) {
      this.nextOwner = undefined;
      clearTimeout(this.#handoffTimer);
      this.#handoffTimer = undefined;
    } else if (this.owner === undefined || this.outstanding === 0) {
      this.#transfer(target);
    } else {
      this.nextOwner = target;
      this.#handoffTimer ??= setTimeout(() => {
        this.#handoffTimer = undefined;
        if (this.nextOwner === undefined) return;
        this.#hooks.onHandoffTimeout(this.outstanding, this);
        this.release();
      }, this.#hooks.rebalanceTimeoutMs);
      this.#handoffTimer.unref?.();
    }
  }

  /**
   * The owner left, or kept the partition past the rebalance timeout: what it held goes back to
   * the group at the committed offset, and can no longer be settled by it.
   */
  release(): void {
    this.#entries.forEach((entry) => {
      entry.outstanding = undefined;
    });
    const owner = this.owner;
    if (owner !== undefined) owner.unsettled -= this.outstanding;
    this.outstanding = 0;
    this.#transfer(this.nextOwner);
  }

  /** Stops the timers. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#handoffTimer);
    this.#handoffTimer = undefined;
  }

  #transfer(target: CursorOwner | undefined): void {
    // Kafka-like: the new owner starts at the committed offset, so acks past a gap are redone.
    this.#entries.forEach((entry) => {
      entry.acked = false;
    });
    this.position = this.#entries.start;
    const previous = this.owner;
    this.owner = target;
    this.nextOwner = undefined;
    clearTimeout(this.#handoffTimer);
    this.#handoffTimer = undefined;
    // A member that lost unsettled messages has room again.
    if (previous !== undefined && previous !== target) previous.wake();
    target?.wake();
  }

  #commit(): void {
    const entries = this.#entries;
    for (let first = entries.first(); first?.acked === true; first = entries.first()) entries.shift();
    // After a seek back, the position may rest on messages still out that were just committed.
    if (this.position < entries.start) this.position = entries.start;
  }

  #delay(delayMs: number): void {
    const until = Date.now() + delayMs;
    if (until <= this.#notBefore) return;
    this.#notBefore = until;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#notBefore = 0;
      this.owner?.wake();
    }, delayMs);
    this.#timer.unref?.();
  }
}
