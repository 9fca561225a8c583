/** One fetched record of a partition, as the tracker sees it. */
export interface TrackedOffset {
  readonly offset: number;
  /** Bytes the record holds in memory (key and value), for the byte budget. */
  readonly size: number;
  /** Set once any delivery of this record was acked. */
  acked: boolean;
}

/**
 * Tracks the offsets of one partition (within one group generation) from fetch until commit, and
 * computes the commit position: one past the last offset of the contiguous acked prefix.
 *
 * Offsets are registered in fetch order, which is ascending but may have gaps (transaction
 * markers, compaction), so contiguity is over registered records, never over offset arithmetic.
 * The first registered offset must be where the fetch started (the group's committed offset);
 * that is what makes a commit a claim that everything before it was processed.
 */
export class CommitTracker {
  /** Registered entries; those before `#head` are behind the commit position and cleared. */
  #entries: (TrackedOffset | undefined)[] = [];
  #head = 0;
  #lastRegistered = -1;
  #bytes = 0;
  /** Next offset to commit (last contiguous acked + 1), or -1 before anything was acked. */
  #position = -1;
  #committed = -1;

  /** Registers the next fetched record; ignores offsets at or below the last registered one. */
  register(offset: number, size = 0): TrackedOffset | undefined {
    const entry: TrackedOffset = { offset, size, acked: false };
    return this.add(entry) ? entry : undefined;
  }

  /** Registers `entry` (acked: false) as the next fetched record; `false` if its offset is not past the last one. */
  add(entry: TrackedOffset): boolean {
    if (entry.offset <= this.#lastRegistered) return false;
    this.#lastRegistered = entry.offset;
    this.#bytes += entry.size;
    this.#entries.push(entry);
    return true;
  }

  /**
   * Marks `entry` acked and advances the prefix over every leading acked record.
   * Returns whether the commit position moved.
   */
  ack(entry: TrackedOffset): boolean {
    entry.acked = true;
    const entries = this.#entries;
    let head = this.#head;
    if (head >= entries.length || entries[head] !== entry) return false;
    let last = entry.offset;
    while (head < entries.length) {
      const current = entries[head] as TrackedOffset;
      if (!current.acked) break;
      last = current.offset;
      this.#bytes -= current.size;
      // Drop the reference at once: an entry is a fetched record with its bytes, and one kept
      // until the next compaction lives long enough to be promoted to V8's old space.
      entries[head] = undefined;
      head++;
    }
    this.#head = head;
    this.#position = last + 1;
    // Compact now and then so the array does not grow with the partition's history.
    if (head > 1024 && head * 2 > entries.length) {
      this.#entries = entries.slice(head);
      this.#head = 0;
    }
    return true;
  }

  /**
   * Where a member that keeps this partition into a new assignment must fetch from so that no record
   * that is unacked (or acked after an unacked one) is skipped: the first record not yet behind the
   * commit position, else one past the last registered record; -1 when nothing was registered.
   */
  get resumeOffset(): number {
    const first = this.#entries[this.#head];
    if (first !== undefined) return first.offset;
    return this.#lastRegistered < 0 ? -1 : this.#lastRegistered + 1;
  }

  /** The last offset registered, or -1. */
  get lastRegistered(): number {
    return this.#lastRegistered;
  }

  /** Records registered and not yet behind the commit position: buffered, in flight, or acked out of order. */
  get outstanding(): number {
    return this.#entries.length - this.#head;
  }

  /** Bytes of the {@link outstanding} records. */
  get outstandingBytes(): number {
    return this.#bytes;
  }

  /** The offset to commit now, or `undefined` when nothing new was acked since the last commit. */
  pendingCommit(): number | undefined {
    return this.#position > this.#committed ? this.#position : undefined;
  }

  /** Records that `offset` was committed. */
  markCommitted(offset: number): void {
    if (offset > this.#committed) this.#committed = offset;
  }

  /** The last committed position, or -1 when this tracker committed nothing yet. */
  get committed(): number {
    return this.#committed;
  }
}
