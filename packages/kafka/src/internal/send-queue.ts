import type { DriverRecord } from './driver/types.js';

/** One `publish()` call as the send queue holds it: its records, its deadline and how it settled. */
export interface QueuedCall {
  readonly topic: string;
  readonly records: DriverRecord[];
  /** Estimated bytes of `records`. */
  readonly bytes: number;
  /** `performance.now()` at which the call's deadline ends. */
  readonly deadline: number;
  /** This call's partitions left unacknowledged by the last attempt, while it is being resent. */
  unacknowledged: ReadonlySet<number> | undefined;
  /** Attempts made for its unacknowledged partitions (see acknowledged-send). */
  attempts: number;
  settled: boolean;
  /** Handed to `send` (then it may be in the log, even if it times out). */
  sent: boolean;
}

/** Batching and backpressure limits of a {@link SendQueue}. */
export interface SendQueueLimits {
  /** How long a batch waits for more calls; 0 sends at the end of the tick. */
  readonly lingerMs: number;
  readonly batchMaxMessages: number;
  readonly batchMaxBytes: number;
  /** Batches being sent at once; the rest waits (and grows) until one completes. */
  readonly maxInFlightBatches: number;
  /** Calls accepted but not yet in a batch; beyond it a call waits for room, in call order. */
  readonly maxPendingMessages: number;
  readonly maxPendingBytes: number;
  /** Deadline of each call, from `add()`. */
  readonly timeoutMs: number;
}

/** What the queue calls back into. */
export interface SendQueueHandlers {
  /** Sends one batch; must settle each call (through {@link SendQueue.settle}) before it resolves. */
  send(batch: QueuedCall[]): Promise<void>;
  /** The error of a call whose deadline passed (withdrawn unsent, or sent and not acknowledged). */
  timeoutError(call: QueuedCall): Error;
  /** Every call settles once, here: `error` undefined means acknowledged. */
  settled(call: QueuedCall, error: unknown): void;
}

/** A queued call with its caller's promise. A class, so every call has one shape. */
class Call implements QueuedCall {
  readonly topic: string;
  readonly records: DriverRecord[];
  readonly bytes: number;
  readonly deadline: number;
  unacknowledged: ReadonlySet<number> | undefined = undefined;
  attempts = 0;
  settled = false;
  sent = false;
  resolve: () => void = noop;
  reject: (error: unknown) => void = noop;

  // Fields assigned by hand, not TypeScript parameter properties: Node runs this source with type stripping
  // only (child processes of the otel and apps end-to-end tests), which rejects parameter properties.
  constructor(topic: string, records: DriverRecord[], bytes: number, deadline: number) {
    this.topic = topic;
    this.records = records;
    this.bytes = bytes;
    this.deadline = deadline;
  }
}

function noop(): void {}

/** Settled calls kept in the deadline list before it is compacted (they are dropped lazily). */
const COMPACT_AFTER = 1_024;

/**
 * The publisher's send buffer, free of Kafka: coalesces calls into batches (linger, batch size),
 * keeps at most `maxInFlightBatches` sending, bounds what waits (`maxPendingMessages` /
 * `maxPendingBytes`: further calls wait for room in call order, never rejected for it) and ends each
 * call at its deadline. A call not yet sent is withdrawn at its deadline, so it is never stored.
 *
 * Deadlines cost no timer per call: every call has the same timeout, so calls in add order are in
 * deadline order, and one timer, armed for the oldest open call, serves them all.
 */
export class SendQueue {
  readonly #limits: SendQueueLimits;
  readonly #handlers: SendQueueHandlers;
  readonly #pending: QueuedCall[] = [];
  /** Calls accepted but beyond the pending bound, oldest first; admitted to #pending as room frees. */
  readonly #waiting: QueuedCall[] = [];
  #pendingMessages = 0;
  #pendingBytes = 0;
  #peakPendingMessages = 0;
  #peakPendingBytes = 0;
  #inFlight = 0;
  #lingerTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly #idleWaiters: (() => void)[] = [];
  /** Sent calls not yet settled: flush waits for these, not for sends whose callers already timed out. */
  #unsettledSent = 0;
  /** Calls in deadline (= add) order from `#openHead`; the head is open, settled ones behind it wait to be dropped. */
  readonly #open: Call[] = [];
  #openHead = 0;
  /** Settled calls still in `#open` after its head. */
  #openSettled = 0;
  #deadlineTimer: NodeJS.Timeout | undefined;
  /** The deadline `#deadlineTimer` was armed for. */
  #timerDeadline = 0;

  constructor(limits: SendQueueLimits, handlers: SendQueueHandlers) {
    this.#limits = limits;
    this.#handlers = handlers;
  }

  /** Queues one call; settles when it was sent and acknowledged, failed, or its deadline passed. */
  add(topic: string, records: DriverRecord[], bytes: number): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const call = new Call(topic, records, bytes, performance.now() + this.#limits.timeoutMs);
    call.resolve = resolve;
    call.reject = reject;
    this.#open.push(call);
    if (this.#deadlineTimer === undefined) this.#armDeadline(call.deadline);
    // Behind earlier waiters even when it would fit, so a stream of small calls cannot starve a large one.
    if (this.#waiting.length > 0 || !this.#hasRoom(call)) this.#waiting.push(call);
    else this.#enqueue(call);
    this.#schedule();
    return promise;
  }

  /** Sends everything pending (and waiting for room) now and waits until every call so far has settled. */
  async flush(): Promise<void> {
    if (this.#isIdle()) return;
    // Registered before dispatching, so calls admitted from the waiting queue are sent without lingering.
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    this.#dispatch();
    await idle;
  }

  /** Settles `call` once: acknowledged when `error` is undefined. Later calls for it are ignored. */
  settle(call: QueuedCall, error?: unknown): void {
    if (call.settled) return;
    call.settled = true;
    if (call.sent) this.#unsettledSent--;
    this.#dropSettled();
    this.#handlers.settled(call, error);
    if (error === undefined) (call as Call).resolve();
    else (call as Call).reject(error);
    this.#notifyIdle();
  }

  /** Settles every call still open: those never sent with `unsent`, those sent with `sent(call)`. */
  abandon(unsent: () => Error, sent: (call: QueuedCall) => Error): void {
    const withdrawn = [...this.#waiting.splice(0), ...this.#pending.splice(0)];
    this.#pendingMessages = 0;
    this.#pendingBytes = 0;
    for (const call of withdrawn) this.settle(call, unsent());
    const open = this.#open.slice(this.#openHead).filter((call) => call.sent && !call.settled);
    for (const call of open) this.settle(call, sent(call));
  }

  /** Counters for the publisher's stats. */
  stats() {
    return {
      pendingMessages: this.#pendingMessages,
      pendingBytes: this.#pendingBytes,
      peakPendingMessages: this.#peakPendingMessages,
      peakPendingBytes: this.#peakPendingBytes,
      waitingCalls: this.#waiting.length,
      inFlightBatches: this.#inFlight,
    };
  }

  #schedule(): void {
    if (this.#pending.length === 0) return;
    // Lingering cannot grow a batch once callers wait for room, and a flush wants everything out now.
    if (
      this.#pendingMessages >= this.#limits.batchMaxMessages ||
      this.#pendingBytes >= this.#limits.batchMaxBytes ||
      this.#waiting.length > 0 ||
      this.#idleWaiters.length > 0
    ) {
      this.#dispatch();
      return;
    }
    if (this.#lingerTimer !== undefined) return;
    this.#lingerTimer =
      this.#limits.lingerMs === 0
        ? setImmediate(() => this.#dispatch())
        : setTimeout(() => this.#dispatch(), this.#limits.lingerMs);
  }

  #clearLingerTimer(): void {
    if (this.#lingerTimer === undefined) return;
    clearTimeout(this.#lingerTimer as NodeJS.Timeout);
    clearImmediate(this.#lingerTimer as NodeJS.Immediate);
    this.#lingerTimer = undefined;
  }

  /** Sends as many batches as the in-flight limit allows; the rest goes when a batch completes. */
  #dispatch(): void {
    this.#clearLingerTimer();
    while (this.#pending.length > 0 && this.#inFlight < this.#limits.maxInFlightBatches) {
      const batch = this.#takeBatch();
      if (batch.length === 0) break;
      this.#inFlight++;
      void this.#handlers
        .send(batch)
        .catch((error: unknown) => {
          // A send that fails without settling its calls must not leave them waiting for their deadline.
          for (const call of batch) this.settle(call, error);
        })
        .finally(() => {
          this.#inFlight--;
          // Whatever queued up while the slots were busy has waited long enough: send it without lingering.
          if (this.#pending.length > 0) this.#dispatch();
          this.#notifyIdle();
        });
    }
    this.#admitWaiting();
    this.#notifyIdle();
  }

  #hasRoom(call: QueuedCall): boolean {
    // An oversized call alone must not wait forever: it goes when nothing else is pending.
    if (this.#pending.length === 0) return true;
    return (
      this.#pendingMessages + call.records.length <= this.#limits.maxPendingMessages &&
      this.#pendingBytes + call.bytes <= this.#limits.maxPendingBytes
    );
  }

  #enqueue(call: QueuedCall): void {
    this.#pending.push(call);
    this.#pendingMessages += call.records.length;
    this.#pendingBytes += call.bytes;
    this.#peakPendingMessages = Math.max(this.#peakPendingMessages, this.#pendingMessages);
    this.#peakPendingBytes = Math.max(this.#peakPendingBytes, this.#pendingBytes);
  }

  /** Moves waiting calls, oldest first, into the room dispatch or a withdrawal freed. */
  #admitWaiting(): void {
    let admitted = false;
    while (this.#waiting.length > 0 && this.#hasRoom(this.#waiting[0]!)) {
      this.#enqueue(this.#waiting.shift()!);
      admitted = true;
    }
    if (admitted) this.#schedule();
  }

  #takeBatch(): QueuedCall[] {
    const batch: QueuedCall[] = [];
    let messages = 0;
    let bytes = 0;
    while (this.#pending.length > 0) {
      const next = this.#pending[0]!;
      const fits =
        messages + next.records.length <= this.#limits.batchMaxMessages &&
        bytes + next.bytes <= this.#limits.batchMaxBytes;
      if (batch.length > 0 && !fits) break;
      this.#pending.shift();
      this.#pendingMessages -= next.records.length;
      this.#pendingBytes -= next.bytes;
      if (next.settled) continue;
      next.sent = true;
      this.#unsettledSent++;
      batch.push(next);
      messages += next.records.length;
      bytes += next.bytes;
    }
    return batch;
  }

  #isIdle(): boolean {
    return this.#pending.length === 0 && this.#waiting.length === 0 && this.#unsettledSent === 0;
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #armDeadline(deadline: number): void {
    this.#timerDeadline = deadline;
    this.#deadlineTimer = setTimeout(() => this.#expire(), Math.max(0, deadline - performance.now()));
    this.#deadlineTimer.unref();
  }

  /** Times out the open calls whose deadline passed (at least the one the timer was armed for). */
  #expire(): void {
    this.#deadlineTimer = undefined;
    // The timer's clock may run a fraction of a millisecond ahead of performance.now().
    const now = Math.max(this.#timerDeadline, performance.now());
    const open = this.#open;
    while (this.#openHead < open.length && open[this.#openHead]!.deadline <= now) {
      // Settling moves the head on.
      this.#timeOut(open[this.#openHead]!);
    }
    if (this.#openHead < open.length) this.#armDeadline(open[this.#openHead]!.deadline);
  }

  /** After a call settled: moves the head past settled calls, and compacts once many settled ones pile up behind it. */
  #dropSettled(): void {
    const open = this.#open;
    this.#openSettled++;
    while (this.#openHead < open.length && open[this.#openHead]!.settled) {
      this.#openHead++;
      this.#openSettled--;
    }
    if (this.#openHead === open.length) {
      open.length = 0;
      this.#openHead = 0;
      return;
    }
    // Calls settle out of order (batches complete out of order, a slow topic holds the head): what
    // is kept for them stays below twice the open calls.
    const live = open.length - this.#openHead - this.#openSettled;
    if (this.#openHead + this.#openSettled >= COMPACT_AFTER && this.#openHead + this.#openSettled >= live) {
      let kept = 0;
      for (let i = this.#openHead; i < open.length; i++) if (!open[i]!.settled) open[kept++] = open[i]!;
      open.length = kept;
      this.#openHead = 0;
      this.#openSettled = 0;
    }
  }

  #timeOut(call: QueuedCall): void {
    if (call.settled) return;
    // Never sent: withdraw it, so a timed-out publish is guaranteed not to be stored.
    const waitingIndex = this.#waiting.indexOf(call);
    if (waitingIndex >= 0) {
      this.#waiting.splice(waitingIndex, 1);
      // The head may have been the only one blocked (an oversized call); those behind it may fit now.
      if (waitingIndex === 0) this.#admitWaiting();
    } else if (!call.sent) {
      const index = this.#pending.indexOf(call);
      if (index >= 0) {
        this.#pending.splice(index, 1);
        this.#pendingMessages -= call.records.length;
        this.#pendingBytes -= call.bytes;
        this.#admitWaiting();
      }
    }
    this.settle(call, this.#handlers.timeoutError(call));
  }
}
