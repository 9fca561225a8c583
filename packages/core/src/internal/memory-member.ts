import type { ReceivedMessage } from '../pubsub.js';
import { type ReadyTaker, takeReady } from '../take-ready.js';
import type { CursorOwner, PartitionCursor } from './memory-cursor.js';

type Resolve = (result: IteratorResult<ReceivedMessage>) => void;

const DONE: IteratorResult<ReceivedMessage> = Object.freeze({ done: true, value: undefined });

/** What a member needs from its group. */
export interface MemberGroup {
  join(member: GroupMember): void;
  leave(member: GroupMember): void;
}

/**
 * One subscription's iteration: a consumer-group member. It joins on the first `next()`, pulls
 * from its partitions only when asked (so nothing is prefetched past what the reader takes), and
 * never holds more than `maxInFlight` unsettled messages.
 */
export class GroupMember implements AsyncIterator<ReceivedMessage>, ReadyTaker, CursorOwner {
  unsettled = 0;
  /** Partitions assigned to this member (some may still be handing over from another). */
  cursors: PartitionCursor[] = [];
  readonly #group: MemberGroup;
  readonly #maxInFlight: number;
  readonly #onEnd: (member: GroupMember) => void;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.end();
  readonly #waiters: Resolve[] = [];
  #next = 0;
  #state: 'idle' | 'joined' | 'ended' = 'idle';

  constructor(group: MemberGroup, maxInFlight: number, onEnd: (member: GroupMember) => void, signal?: AbortSignal) {
    this.#group = group;
    this.#maxInFlight = maxInFlight;
    this.#onEnd = onEnd;
    this.#signal = signal;
    if (signal?.aborted) this.#state = 'ended';
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  next(): Promise<IteratorResult<ReceivedMessage>> {
    if (this.#state === 'ended') return Promise.resolve(DONE);
    if (this.#state === 'idle') {
      this.#state = 'joined';
      this.#group.join(this);
    }
    if (this.#waiters.length === 0) {
      const message = this.#pull();
      if (message !== undefined) return Promise.resolve({ done: false, value: message });
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** A ready message without a promise, or `undefined`; readers waiting in `next()` are served first. */
  [takeReady](): ReceivedMessage | undefined {
    if (this.#state !== 'joined' || this.#waiters.length > 0) return undefined;
    return this.#pull();
  }

  return(): Promise<IteratorResult<ReceivedMessage>> {
    this.end();
    return Promise.resolve(DONE);
  }

  wake(): void {
    while (this.#waiters.length > 0) {
      const message = this.#pull();
      if (message === undefined) return;
      this.#waiters.shift()?.({ done: false, value: message });
    }
  }

  /** Ends the iteration: pending reads finish, the member leaves its group. Idempotent. */
  end(): void {
    if (this.#state === 'ended') return;
    const joined = this.#state === 'joined';
    this.#state = 'ended';
    this.#signal?.removeEventListener('abort', this.#onAbort);
    for (const resolve of this.#waiters.splice(0)) resolve(DONE);
    if (joined) this.#group.leave(this);
    this.#onEnd(this);
  }

  #pull(): ReceivedMessage | undefined {
    if (this.unsettled >= this.#maxInFlight) return undefined;
    const cursors = this.cursors;
    const count = cursors.length;
    for (let i = 0; i < count; i++) {
      const index = (this.#next + i) % count;
      const message = cursors[index]?.take(this);
      if (message !== undefined) {
        // Rotate so every partition gets its turn.
        this.#next = index + 1;
        return message;
      }
    }
    return undefined;
  }
}
