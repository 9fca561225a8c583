/** Messages of one ordering lane: at most one runs, the rest wait in arrival order. */
interface Lane<T> {
  /** `undefined` for an unordered item, which gets a lane of its own outside the map. */
  key: string | undefined;
  readonly waiting: T[];
  running: boolean;
}

/** Emptied lanes kept for reuse; enough for a router's buffer of messages with distinct keys. */
const MAX_SPARE_LANES = 256;

/**
 * Runs items with at most `concurrency` at a time, one at a time per lane, in arrival order within a
 * lane. Lanes are dropped as soon as they are empty, so many distinct keys do not leak memory.
 */
export class LaneScheduler<T> {
  readonly #concurrency: number;
  readonly #run: (item: T, lane: string | undefined) => boolean;
  readonly #onFinished: () => void;
  readonly #lanes = new Map<string, Lane<T>>();
  /** Lanes whose head item may start as soon as a slot frees, oldest first. */
  #ready: Lane<T>[] = [];
  #readyHead = 0;
  #running = 0;
  #waiting = 0;
  #paused = false;
  #pumping = false;
  /**
   * Emptied keyed lanes kept for reuse (at most {@link MAX_SPARE_LANES}): with about one message per
   * key at a time, each message would allocate a lane of its own.
   */
  readonly #spares: Lane<T>[] = [];

  /**
   * @param run Handles one item; returns `true` when it finished synchronously. Otherwise the item
   *   runs on, and its owner calls {@link finished} with its lane once it is done (never from
   *   within `run`). A completion call rather than a promise: no promise and callbacks per item.
   * @param onFinished Called after every item finished, once its slot is free again.
   */
  constructor(concurrency: number, run: (item: T, lane: string | undefined) => boolean, onFinished: () => void) {
    this.#concurrency = concurrency;
    this.#run = run;
    this.#onFinished = onFinished;
  }

  /** Items being handled. */
  get running(): number {
    return this.#running;
  }

  /** Items received but not started. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Lanes currently tracked (running or waiting); for leak checks. */
  get laneCount(): number {
    return this.#lanes.size;
  }

  /** Queues `item` on `lane` (`undefined`: unordered) and starts it when allowed. */
  push(item: T, lane: string | undefined): void {
    // Fast path: a free slot, nothing queued, and no item of this lane running: start it at once,
    // without queueing it. A lane entry is made only if the item does not finish synchronously.
    if (
      !this.#paused &&
      this.#running < this.#concurrency &&
      this.#readyHead === this.#ready.length &&
      (lane === undefined || !this.#lanes.has(lane))
    ) {
      this.#runNow(item, lane);
      return;
    }
    this.#waiting++;
    if (lane === undefined) {
      this.#ready.push({ key: undefined, waiting: [item], running: false });
    } else {
      let state = this.#lanes.get(lane);
      if (state === undefined) {
        state = this.#spares.pop() ?? { key: lane, waiting: [], running: false };
        state.key = lane;
        this.#lanes.set(lane, state);
      }
      state.waiting.push(item);
      if (!state.running && state.waiting.length === 1) this.#ready.push(state);
    }
    this.#pump();
  }

  /**
   * Removes and returns the waiting items of `lane`, oldest first; the lane's running item is not
   * affected. Used when an item fails, so the ones behind it do not overtake its redelivery.
   */
  takeWaiting(lane: string): T[] {
    const state = this.#lanes.get(lane);
    if (state === undefined || state.waiting.length === 0) return [];
    const taken = state.waiting.splice(0);
    this.#waiting -= taken.length;
    if (!state.running) {
      // The lane sits in the ready queue with nothing left to start; drop it from both.
      this.#lanes.delete(lane);
      const index = this.#ready.indexOf(state, this.#readyHead);
      if (index >= 0) this.#ready.splice(index, 1);
    }
    return taken;
  }

  /** Stops starting items and hands back every waiting one, oldest first per lane. */
  pauseAndTakeWaiting(): T[] {
    this.#paused = true;
    const taken: T[] = [];
    for (let i = this.#readyHead; i < this.#ready.length; i++) {
      const lane = this.#ready[i];
      if (lane?.key === undefined && lane) taken.push(...lane.waiting.splice(0));
    }
    for (const [key, lane] of this.#lanes) {
      taken.push(...lane.waiting.splice(0));
      if (!lane.running) this.#lanes.delete(key);
    }
    this.#ready = [];
    this.#readyHead = 0;
    this.#waiting = 0;
    return taken;
  }

  #pump(): void {
    // An item that finishes synchronously pumps again from inside this loop; the outer loop picks
    // the next item up instead, so the stack does not grow with each one.
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      this.#startReady();
    } finally {
      this.#pumping = false;
    }
  }

  #startReady(): void {
    while (!this.#paused && this.#running < this.#concurrency && this.#readyHead < this.#ready.length) {
      const lane = this.#ready[this.#readyHead]!;
      this.#readyHead++;
      this.#start(lane);
    }
    // Compact only when the consumed prefix dominates, so the queue stays O(1) amortised.
    if (this.#readyHead > 1024 && this.#readyHead * 2 > this.#ready.length) {
      this.#ready = this.#ready.slice(this.#readyHead);
      this.#readyHead = 0;
    }
  }

  #start(lane: Lane<T>): void {
    if (lane.waiting.length === 0) return;
    const item = lane.waiting.shift() as T;
    this.#waiting--;
    this.#running++;
    lane.running = true;
    if (this.#run(item, lane.key)) this.#finish(lane);
  }

  #runNow(item: T, key: string | undefined): void {
    this.#running++;
    if (this.#run(item, key)) {
      this.#running--;
      // Nothing can have been queued meanwhile (runs do not push), but a pause may have happened.
      this.#pump();
      this.#onFinished();
      return;
    }
    // A keyed item still running holds its lane, so later items of its key queue behind it.
    if (key !== undefined) {
      const lane = this.#spares.pop() ?? { key, waiting: [], running: true };
      lane.key = key;
      lane.running = true;
      this.#lanes.set(key, lane);
    }
  }

  /**
   * Frees the slot of an item whose `run` returned `false`; `lane` is the one it ran with. Call it
   * exactly once per such item.
   */
  finished(lane: string | undefined): void {
    if (lane !== undefined) {
      this.#finish(this.#lanes.get(lane) as Lane<T>);
      return;
    }
    // An unordered item has no lane to release.
    this.#running--;
    this.#pump();
    this.#onFinished();
  }

  #finish(lane: Lane<T>): void {
    this.#running--;
    lane.running = false;
    if (lane.key !== undefined) {
      if (lane.waiting.length > 0) this.#ready.push(lane);
      else {
        this.#lanes.delete(lane.key);
        if (this.#spares.length < MAX_SPARE_LANES) this.#spares.push(lane);
      }
    }
    this.#pump();
    this.#onFinished();
  }
}
