import { ClosedError, TimeoutError, toError } from '../../errors.js';
import type { Handler } from '../../handler.js';
import type { Logger } from '../../logger.js';
import type { Message, ReceivedMessage } from '../../message.js';
import { type Publisher, type ReadyTaker, type Subscriber, takeReady } from '../../pubsub.js';
import { InvalidOutputError, UnroutableOutputError } from '../errors.js';
import type { LaneOf } from './key-of.js';
import { deferred } from './deferred.js';
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

interface InFlight {
  readonly message: ReceivedMessage;
  readonly controller: AbortController;
  abandoned: boolean;
  /** Position in the runner's in-flight list; -1 once removed. */
  index: number;
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
  readonly #scheduler: LaneScheduler<ReceivedMessage>;
  /**
   * Handler calls running now, unordered (removal swaps the last one in). A list with positions
   * rather than a Map keyed by message: hashing a fresh object per message is measurable.
   */
  #inFlight: InFlight[] = [];
  /** Wakes `drain()` once the last in-flight handler finished. */
  #idle: (() => void) | undefined;
  readonly #subscription = new AbortController();
  readonly #ready = deferred<void>();
  #iterator: AsyncIterator<ReceivedMessage> | undefined;
  /** The iterator's synchronous fast path, when it offers one. */
  #takeReady: (() => ReceivedMessage | undefined) | undefined;
  /** The request for a message that was outstanding when intake stopped. */
  #lateNext: Promise<unknown> | undefined;
  #stopping = false;
  #capacity: (() => void) | undefined;
  /** The transport's answer to the outstanding `next()`, while the loop waits for it. */
  #pending: Promise<IteratorResult<ReceivedMessage>> | undefined;
  #loopEnded = false;
  readonly #loopEnd = deferred<void>();
  /** Most messages received and not finished: running plus buffered. */
  readonly #limit: number;
  /** Settles when the pull loop has returned; rejects with the subscription's error if it failed. */
  readonly loop: Promise<void>;

  constructor(spec: RunnerSpec) {
    this.#spec = spec;
    this.#limit = spec.concurrency + spec.maxBuffered;
    this.#scheduler = new LaneScheduler(
      spec.concurrency,
      (message, lane) => this.#process(message, lane),
      () => this.#capacityFreed(),
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

  /** Stops pulling and nacks every message that was received but not started. */
  stopIntake(reason: Error): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#interrupt();
    this.#capacityFreed();
    for (const message of this.#scheduler.pauseAndTakeWaiting()) message.nack({ reason });
  }

  /**
   * Waits for in-flight handlers until `deadline` aborts; then aborts their signals and nacks their
   * messages without waiting any longer.
   */
  async drain(deadline: AbortSignal, timeoutMs: number): Promise<void> {
    if (this.#inFlight.length > 0 && !deadline.aborted) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        deadline.addEventListener('abort', () => resolve(), { once: true });
      });
      this.#idle = undefined;
    }
    if (this.#inFlight.length === 0) return;
    const reason = new TimeoutError(`Handler "${this.#spec.name}" during router close`, timeoutMs);
    const abandoned = this.#inFlight;
    this.#inFlight = [];
    for (const flight of abandoned) {
      const { message } = flight;
      flight.abandoned = true;
      flight.index = -1;
      flight.controller.abort(reason);
      settled(message, 'nacked');
      if (message.nack({ reason })) {
        this.#spec.logger.warn({ messageId: message.id }, 'handler did not finish before the close deadline; nacked');
      }
    }
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
      this.#takeWhileRoom();
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
    // Bounded, so other handlers' promise continuations get their turn between bursts.
    for (
      let taken = 0;
      taken < TAKE_BURST && !this.#stopping && scheduler.running + scheduler.waiting < this.#limit;
      taken++
    ) {
      const message = take();
      if (message === undefined) return;
      this.#dispatch(message);
    }
  }

  /** Requests the next message once running plus buffered messages are below the limit. */
  readonly #requestWhenRoom = (): void => {
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
    // A message that arrives after intake stopped goes back to the transport.
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
    this.#scheduler.push(message, lane);
  }

  #capacityFreed(): void {
    const wake = this.#capacity;
    this.#capacity = undefined;
    wake?.();
  }

  /**
   * Runs the handler for `message` and settles it. Returns `undefined` when everything finished
   * synchronously (a synchronous handler with nothing to forward), so the common case costs no
   * promise; otherwise a promise that never rejects.
   */
  #process(message: ReceivedMessage, lane: string | undefined): Promise<void> | undefined {
    // A signal per message, not one shared: listeners a handler forgets to remove die with it.
    const controller = new AbortController();
    const flight: InFlight = { message, controller, abandoned: false, index: this.#inFlight.length };
    this.#inFlight.push(flight);
    let output: unknown;
    try {
      output = this.#spec.handler(message, {
        handlerName: this.#spec.name,
        signal: controller.signal,
        logger: this.#spec.logger,
      });
    } catch (thrown) {
      this.#failed(message, lane, thrown);
      this.#done(flight);
      return undefined;
    }
    if (!isThenable(output) && (output === undefined || (Array.isArray(output) && output.length === 0))) {
      this.#ack(message);
      this.#done(flight);
      return undefined;
    }
    return this.#finishAsync(message, lane, flight, output);
  }

  async #finishAsync(message: ReceivedMessage, lane: string | undefined, flight: InFlight, pending: unknown) {
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
    }
  }

  #ack(message: ReceivedMessage): void {
    message.ack();
    settled(message, message.settlement === 'nacked' ? 'nacked' : 'acked');
  }

  #failed(message: ReceivedMessage, lane: string | undefined, thrown: unknown): void {
    const err = toError(thrown);
    this.#spec.logger.warn(
      { err, messageId: message.id, deliveryAttempt: message.deliveryAttempt },
      'handler failed; nacked',
    );
    const retryAfterMs = (err as { retryAfterMs?: unknown }).retryAfterMs;
    // Hooks run first so that state they reset (a dedup key, say) is gone before the redelivery.
    settled(message, message.settlement === 'acked' ? 'acked' : 'nacked');
    const nacked = message.nack(
      typeof retryAfterMs === 'number' && retryAfterMs > 0 ? { reason: err, delayMs: retryAfterMs } : { reason: err },
    );
    // Messages queued behind it on its lane must not overtake its redelivery: send them back too.
    if (nacked && lane !== undefined) {
      for (const behind of this.#scheduler.takeWaiting(lane)) behind.nack({ reason: REQUEUED_BEHIND_FAILURE });
    }
  }

  #done(flight: InFlight): void {
    const list = this.#inFlight;
    const index = flight.index;
    // An abandoned flight was already taken off by drain().
    if (index < 0) return;
    flight.index = -1;
    const last = list.pop() as InFlight;
    if (last !== flight) {
      list[index] = last;
      last.index = index;
    }
    if (list.length === 0) this.#idle?.();
  }
}
