import { ClosedError, TimeoutError, toError } from '../../errors.js';
import type { Handler, Message, Publisher, ReceivedMessage, Subscriber } from '../../pubsub.js';
import type { Logger } from '../../logger.js';
import { type ReadyTaker, takeReady } from '../../take-ready.js';
import { InvalidOutputError, UnroutableOutputError } from '../errors.js';
import type { CloseReport } from '../types.js';
import type { LaneOf } from './key-of.js';
import { LaneScheduler } from './lane-scheduler.js';
import { settled } from './settle-hooks.js';

/** Everything a runner needs, already validated and decorated by the router. */
export interface RunnerSpec {
  readonly name: string;
  readonly topic: string;
  readonly group: string | undefined;
  readonly subscriber: Subscriber;
  readonly publishTopic: string | undefined;
  readonly publisher: Publisher | undefined;
  readonly handler: Handler;
  readonly concurrency: number;
  readonly maxBuffered: number;
  readonly laneOf: LaneOf;
  readonly logger: Logger;
}

/** How far the runner got through one partition, in delivery order. */
interface PartitionProgress {
  /** Messages handed to the scheduler. */
  dispatched: number;
  /** Of those, how many the router settled itself (acked, or nacked after a failure). */
  settled: number;
}

/** One message from its dispatch until it is settled. */
interface Entry {
  readonly message: ReceivedMessage;
  /** 1-based position among the messages of its partition dispatched by this runner. */
  readonly seq: number;
  readonly partition: PartitionProgress;
  /** Set when the handler starts. */
  controller: AbortController | undefined;
  abandoned: boolean;
  /** Position in the runner's in-flight list; -1 while not running or once removed. */
  index: number;
}

/** Whether a handler's output has nothing to forward: `undefined` or an empty array. */
function isNothing(output: unknown): boolean {
  return output === undefined || (Array.isArray(output) && output.length === 0);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Messages taken synchronously through the transport's `takeReady` before one `next()` again. */
const TAKE_BURST = 256;

const REQUEUED_BEHIND_FAILURE = 'requeued behind a failed message of the same ordering lane';

/**
 * Pulls one subscription, schedules its messages by lane, runs the handler and settles each message:
 * forward what it returned, then ack; nack on any failure. Draining is split in steps the router
 * drives: {@link stopIntake}, {@link drain}, {@link endSubscription}.
 */
export class HandlerRunner {
  readonly #spec: RunnerSpec;
  readonly #scheduler: LaneScheduler<Entry>;
  /**
   * Handler calls running now, unordered (removal swaps the last one in). A list with positions
   * rather than a Map keyed by message: hashing a fresh object per message is measurable.
   */
  #inFlight: Entry[] = [];
  /** Indexed by partition number: cheaper per message than a Map, and partition numbers are small. */
  readonly #partitions: PartitionProgress[] = [];
  /** Wakes `drain()` once nothing runs or waits any more. */
  #idle: (() => void) | undefined;
  /** What the drain did, once intake stopped. */
  readonly #drain = { finished: 0, nacked: 0, uncommitted: 0, deadlineReached: false };
  readonly #subscription = new AbortController();
  readonly #ready = Promise.withResolvers<void>();
  #iterator: AsyncIterator<ReceivedMessage> | undefined;
  /** The iterator's synchronous fast path, when it offers one. */
  #takeReady: (() => ReceivedMessage | undefined) | undefined;
  /** The request for a message that was outstanding when intake stopped. */
  #lateNext: Promise<unknown> | undefined;
  #stopping = false;
  /** Messages taken through `takeReady` since the last `next()`; at {@link TAKE_BURST} `next()` is due. */
  #taken = 0;
  #capacity: (() => void) | undefined;
  /** The transport's answer to the outstanding `next()`, while the loop waits for it. */
  #pending: Promise<IteratorResult<ReceivedMessage>> | undefined;
  #loopEnded = false;
  readonly #loopEnd = Promise.withResolvers<void>();
  /** Most messages received and not finished: running plus buffered. */
  readonly #limit: number;
  /** Settles when the pull loop has returned; rejects with the subscription's error if it failed. */
  readonly loop: Promise<void>;

  constructor(spec: RunnerSpec) {
    this.#spec = spec;
    this.#limit = spec.concurrency + spec.maxBuffered;
    this.#scheduler = new LaneScheduler(
      spec.concurrency,
      (entry, lane) => this.#process(entry, lane),
      () => this.#slotFreed(),
    );
    this.loop = this.#pull();
    // The router observes `loop` itself; this only keeps an early failure from being unhandled.
    this.loop.catch(() => {});
  }

  /** Resolves once the subscription is being consumed (the first message was requested). */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Lanes currently tracked; for leak checks in tests. */
  get laneCount(): number {
    return this.#scheduler.laneCount;
  }

  /**
   * Stops pulling. Messages already received keep running, in order, until {@link drain}'s deadline;
   * only a message that arrives after this point goes back to the transport.
   */
  stopIntake(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#interrupt();
    this.#capacityFreed();
  }

  /**
   * Waits until every received message was handled, or `deadline` aborts; then nacks what still
   * waits, aborts the signals of the handlers still running and nacks their messages without
   * waiting any longer. {@link report} tells what it did.
   */
  async drain(deadline: AbortSignal, timeoutMs: number): Promise<void> {
    if (!this.#isIdle() && !deadline.aborted) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        deadline.addEventListener('abort', () => resolve(), { once: true });
      });
      this.#idle = undefined;
    }
    const deadlineReached = !this.#isIdle();
    const left: Entry[] = [];
    if (deadlineReached) {
      const reason = new TimeoutError(`Handler "${this.#spec.name}" during router close`, timeoutMs);
      const abandoned = this.#inFlight;
      this.#inFlight = [];
      for (const entry of abandoned) {
        entry.abandoned = true;
        entry.index = -1;
        entry.controller?.abort(reason);
        settled(entry.message, 'nacked');
        if (!entry.message.nack({ reason })) entry.partition.settled++;
        else {
          this.#drain.nacked++;
          left.push(entry);
          this.#spec.logger.warn(
            { messageId: entry.message.id },
            'handler did not finish before the close deadline; nacked',
          );
        }
      }
      for (const entry of this.#scheduler.pauseAndTakeWaiting()) {
        entry.abandoned = true;
        if (!entry.message.nack({ reason })) entry.partition.settled++;
        else {
          this.#drain.nacked++;
          left.push(entry);
        }
      }
    }
    this.#drain.deadlineReached = deadlineReached;
    this.#drain.uncommitted = uncommittedBehind(left);
  }

  /** What the drain did; final once {@link drain} has returned. */
  report(): CloseReport {
    return { ...this.#drain };
  }

  /** Ends the subscription; waits for the transport at most until `deadline` aborts. */
  async endSubscription(deadline: AbortSignal): Promise<void> {
    this.#subscription.abort(new ClosedError('Router'));
    const iterator = this.#iterator;
    if (iterator?.return === undefined) return;
    const late = this.#lateNext ?? Promise.resolve();
    const returned = late
      .then(() => iterator.return?.())
      .then(
        () => {},
        (error: unknown) => this.#spec.logger.warn({ err: toError(error) }, 'ending the subscription failed'),
      );
    if (deadline.aborted) return;
    const expired = new Promise<void>((resolve) => deadline.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([returned, expired]);
  }

  /**
   * The pull loop, driven by callbacks rather than `await`: a message that is ready costs one
   * `then` on the transport's promise, with no wrapper promise, closure or async frame of its own.
   * Returns the loop's promise.
   */
  #pull(): Promise<void> {
    const { subscriber, topic, group } = this.#spec;
    try {
      const iterable = subscriber.subscribe(topic, {
        ...(group === undefined ? {} : { group }),
        signal: this.#subscription.signal,
      });
      const iterator = iterable[Symbol.asyncIterator]();
      this.#iterator = iterator;
      if (typeof (iterator as Partial<ReadyTaker>)[takeReady] === 'function') {
        this.#takeReady = () => (iterator as unknown as ReadyTaker)[takeReady]();
      }
      this.#request();
    } catch (error) {
      this.#endLoop(error);
    }
    return this.#loopEnd.promise;
  }

  /** Asks the transport for the next message, unless intake stopped. */
  readonly #request = (): void => {
    if (this.#stopping || this.#loopEnded) {
      this.#endLoop();
      return;
    }
    let next: Promise<IteratorResult<ReceivedMessage>>;
    try {
      next = (this.#iterator as AsyncIterator<ReceivedMessage>).next();
    } catch (error) {
      this.#endLoop(error);
      return;
    }
    this.#ready.resolve();
    this.#taken = 0;
    this.#pending = next;
    next.then(this.#onResult, this.#onFailure);
  };

  readonly #onResult = (result: IteratorResult<ReceivedMessage>): void => {
    // After an interrupt, `#lateNext` has taken this message over.
    if (this.#loopEnded) return;
    this.#pending = undefined;
    if (result.done) {
      this.#endLoop();
      return;
    }
    try {
      this.#dispatch(result.value);
      this.#requestWhenRoom();
    } catch (error) {
      // Nothing here should throw; if it does, the loop fails visibly rather than stalling.
      this.#endLoop(error);
    }
  };

  /** Dispatches what the transport has ready now, without a promise per message, while there is room. */
  #takeWhileRoom(): void {
    const take = this.#takeReady;
    if (take === undefined) return;
    const scheduler = this.#scheduler;
    // Bounded, so other handlers' promise continuations get their turn between bursts: after
    // TAKE_BURST messages the next one comes through `next()`.
    while (this.#taken < TAKE_BURST && !this.#stopping && scheduler.running + scheduler.waiting < this.#limit) {
      const message = take();
      if (message === undefined) return;
      this.#taken++;
      this.#dispatch(message);
    }
  }

  /**
   * Fills the room there is from what the transport has ready, then requests the next message once
   * running plus buffered messages are below the limit. A slot freed under load is so refilled
   * synchronously, without a `next()` promise per message.
   */
  readonly #requestWhenRoom = (): void => {
    this.#takeWhileRoom();
    if (!this.#stopping && this.#scheduler.running + this.#scheduler.waiting >= this.#limit) {
      this.#capacity = this.#requestWhenRoom;
      return;
    }
    this.#request();
  };

  readonly #onFailure = (error: unknown): void => {
    if (this.#loopEnded) return;
    this.#pending = undefined;
    this.#endLoop(error);
  };

  /** Ends the wait for the next message when intake stops. */
  #interrupt(): void {
    const pending = this.#pending;
    if (pending === undefined || this.#loopEnded) return;
    this.#pending = undefined;
    // A message that arrives after intake stopped goes back to the transport. It was never handed to
    // the handlers, and may be the redelivery of one the drain nacked: the report does not count it.
    this.#lateNext = pending.then(
      (late) => {
        if (!late.done) late.value.nack({ reason: new ClosedError('Router') });
      },
      () => {},
    );
    this.#endLoop();
  }

  #endLoop(error?: unknown): void {
    if (this.#loopEnded) return;
    this.#loopEnded = true;
    this.#ready.resolve();
    if (error === undefined) this.#loopEnd.resolve();
    else this.#loopEnd.reject(error);
  }

  #dispatch(message: ReceivedMessage): void {
    let lane: string | undefined;
    try {
      lane = this.#spec.laneOf(message);
    } catch (error) {
      const err = toError(error);
      this.#spec.logger.error({ err, messageId: message.id }, 'orderBy failed; message nacked');
      message.nack({ reason: err });
      return;
    }
    let partition = this.#partitions[message.partition];
    if (partition === undefined) {
      partition = { dispatched: 0, settled: 0 };
      this.#partitions[message.partition] = partition;
    }
    const seq = ++partition.dispatched;
    this.#scheduler.push({ message, seq, partition, controller: undefined, abandoned: false, index: -1 }, lane);
  }

  #capacityFreed(): void {
    const wake = this.#capacity;
    this.#capacity = undefined;
    wake?.();
  }

  /** A handler finished and its slot is free: room for intake, or maybe the end of the drain. */
  #slotFreed(): void {
    this.#capacityFreed();
    if (this.#idle !== undefined && this.#isIdle()) this.#idle();
  }

  #isIdle(): boolean {
    return this.#inFlight.length === 0 && this.#scheduler.running === 0 && this.#scheduler.waiting === 0;
  }

  /**
   * Runs the handler for `message` and settles it. Returns `true` when everything finished
   * synchronously (a synchronous handler with nothing to forward); otherwise it frees the
   * scheduler's slot itself once the message is settled.
   */
  #process(flight: Entry, lane: string | undefined): boolean {
    const { message } = flight;
    // A signal per message, not one shared: listeners a handler forgets to remove die with it.
    const controller = new AbortController();
    flight.controller = controller;
    flight.index = this.#inFlight.length;
    this.#inFlight.push(flight);
    let output: unknown;
    try {
      output = this.#spec.handler(message, {
        handlerName: this.#spec.name,
        group: this.#spec.group,
        signal: controller.signal,
        logger: this.#spec.logger,
      });
    } catch (thrown) {
      this.#failed(message, lane, thrown);
      this.#done(flight);
      return true;
    }
    if (!isThenable(output)) {
      if (isNothing(output)) {
        this.#ack(message);
        this.#done(flight);
        return true;
      }
      void this.#finishAsync(message, lane, flight, output);
      return false;
    }
    // The common asynchronous case (a handler that returns nothing) is settled by two callbacks on
    // its promise, without an async frame and a promise of the router's own.
    Promise.resolve(output).then(
      (value) => {
        if (flight.abandoned || !isNothing(value)) {
          void this.#finishAsync(message, lane, flight, value);
          return;
        }
        this.#ack(message);
        this.#done(flight);
        this.#scheduler.finished(lane);
      },
      (thrown: unknown) => {
        if (!flight.abandoned) this.#failed(message, lane, thrown);
        this.#done(flight);
        this.#scheduler.finished(lane);
      },
    );
    return false;
  }

  /** Validates and forwards a handler's output, then settles its message and frees its slot. Never rejects. */
  async #finishAsync(message: ReceivedMessage, lane: string | undefined, flight: Entry, pending: unknown) {
    const { name, publisher, publishTopic } = this.#spec;
    try {
      const output = await pending;
      if (flight.abandoned) return;
      if (output !== undefined && !Array.isArray(output)) throw new InvalidOutputError(name, output);
      if (output !== undefined && output.length > 0) {
        if (publisher === undefined || publishTopic === undefined) throw new UnroutableOutputError(name, output.length);
        await publisher.publish(publishTopic, ...(output as Message[]));
        if (flight.abandoned) return;
      }
      this.#ack(message);
    } catch (thrown) {
      if (flight.abandoned) return;
      this.#failed(message, lane, thrown);
    } finally {
      this.#done(flight);
      this.#scheduler.finished(lane);
    }
  }

  #ack(message: ReceivedMessage): void {
    // An ack that comes too late (the partition was revoked) returns false and leaves the message
    // pending: it will be delivered again, so the hooks hear `nacked`.
    const acked = message.ack() || message.settlement === 'acked';
    settled(message, acked ? 'acked' : 'nacked');
  }

  #failed(message: ReceivedMessage, lane: string | undefined, thrown: unknown): void {
    const err = toError(thrown);
    const retryAfterMs = (err as { retryAfterMs?: unknown }).retryAfterMs;
    // A retry-topic message that is not due yet is deferred, not failed: no warning for it.
    if ((err as { code?: unknown }).code === 'RETRY_NOT_DUE') {
      this.#spec.logger.debug({ messageId: message.id, retryAfterMs }, 'message not due yet; deferred');
    } else {
      this.#spec.logger.warn(
        { err, messageId: message.id, deliveryAttempt: message.deliveryAttempt },
        'handler failed; nacked',
      );
    }
    // Hooks run first so that state they reset (a dedup key, say) is gone before the redelivery.
    settled(message, message.settlement === 'acked' ? 'acked' : 'nacked');
    const nacked = message.nack(
      typeof retryAfterMs === 'number' && retryAfterMs > 0 ? { reason: err, delayMs: retryAfterMs } : { reason: err },
    );
    // Messages queued behind it on its lane must not overtake its redelivery: send them back too.
    if (nacked && lane !== undefined) {
      for (const behind of this.#scheduler.takeWaiting(lane)) {
        behind.partition.settled++;
        behind.message.nack({ reason: REQUEUED_BEHIND_FAILURE });
      }
    }
  }

  #done(flight: Entry): void {
    const list = this.#inFlight;
    const index = flight.index;
    // An abandoned flight was already taken off by drain().
    if (index < 0) return;
    flight.index = -1;
    flight.partition.settled++;
    if (this.#stopping) this.#drain.finished++;
    const last = list.pop() as Entry;
    if (last !== flight) {
      list[index] = last;
      last.index = index;
    }
  }
}

/**
 * How many settled messages follow, in their partition, one of `left` (messages the drain nacked).
 * Transports commit only up to the first message that was not acked, so those come again. Every
 * message dispatched before the first one left was settled, which gives the count per partition.
 */
function uncommittedBehind(left: readonly Entry[]): number {
  const first = new Map<PartitionProgress, number>();
  for (const { partition, seq } of left) {
    const known = first.get(partition);
    if (known === undefined || seq < known) first.set(partition, seq);
  }
  let count = 0;
  for (const [partition, seq] of first) count += partition.settled - (seq - 1);
  return count;
}
