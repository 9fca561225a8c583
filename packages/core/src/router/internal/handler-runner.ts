import { ClosedError, TimeoutError, toError } from '../../errors.js';
import type { Handler, HandlerContext } from '../../handler.js';
import type { Logger } from '../../logger.js';
import type { ReceivedMessage } from '../../message.js';
import type { Publisher, Subscriber } from '../../pubsub.js';
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
  readonly controller: AbortController;
  abandoned: boolean;
}

const STOP = Symbol('stop');
const REQUEUED_BEHIND_FAILURE = 'requeued behind a failed message of the same ordering lane';

/**
 * Pulls one subscription, schedules its messages by lane, runs the handler and settles each message:
 * forward what it returned, then ack; nack on any failure. Draining is split in steps the router
 * drives: {@link stopIntake}, {@link drain}, {@link endSubscription}.
 */
export class HandlerRunner {
  readonly #spec: RunnerSpec;
  readonly #scheduler: LaneScheduler<ReceivedMessage>;
  readonly #inFlight = new Map<ReceivedMessage, InFlight>();
  /** Wakes `drain()` once the last in-flight handler finished. */
  #idle: (() => void) | undefined;
  readonly #subscription = new AbortController();
  readonly #ready = deferred<void>();
  #iterator: AsyncIterator<ReceivedMessage> | undefined;
  /** The request for a message that was outstanding when intake stopped. */
  #lateNext: Promise<unknown> | undefined;
  #stopping = false;
  #capacity: (() => void) | undefined;
  /** Ends the wait for the next message when intake stops. */
  #interrupt: (() => void) | undefined;
  /** Settles when the pull loop has returned; rejects with the subscription's error if it failed. */
  readonly loop: Promise<void>;

  constructor(spec: RunnerSpec) {
    this.#spec = spec;
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
    this.#interrupt?.();
    this.#capacityFreed();
    for (const message of this.#scheduler.pauseAndTakeWaiting()) message.nack({ reason });
  }

  /**
   * Waits for in-flight handlers until `deadline` aborts; then aborts their signals and nacks their
   * messages without waiting any longer.
   */
  async drain(deadline: AbortSignal, timeoutMs: number): Promise<void> {
    if (this.#inFlight.size > 0 && !deadline.aborted) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        deadline.addEventListener('abort', () => resolve(), { once: true });
      });
      this.#idle = undefined;
    }
    if (this.#inFlight.size === 0) return;
    const reason = new TimeoutError(`Handler "${this.#spec.name}" during router close`, timeoutMs);
    for (const [message, flight] of this.#inFlight) {
      flight.abandoned = true;
      flight.controller.abort(reason);
      settled(message, 'nacked');
      if (message.nack({ reason })) {
        this.#spec.logger.warn({ messageId: message.id }, 'handler did not finish before the close deadline; nacked');
      }
    }
    this.#inFlight.clear();
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

  async #pull(): Promise<void> {
    const { subscriber, topic, group } = this.#spec;
    try {
      const iterable = subscriber.subscribe(topic, {
        ...(group === undefined ? {} : { group }),
        signal: this.#subscription.signal,
      });
      const iterator = iterable[Symbol.asyncIterator]();
      this.#iterator = iterator;
      const limit = this.#spec.concurrency + this.#spec.maxBuffered;
      while (!this.#stopping) {
        const next = iterator.next();
        this.#ready.resolve();
        // Not Promise.race with a long-lived stop promise: every race would leave a reaction on it,
        // growing with each message for as long as the router runs.
        const result = await new Promise<IteratorResult<ReceivedMessage> | typeof STOP>((resolve, reject) => {
          this.#interrupt = () => resolve(STOP);
          next.then(resolve, reject);
        });
        this.#interrupt = undefined;
        if (result === STOP) {
          // A message that arrives after intake stopped goes back to the transport.
          this.#lateNext = next.then(
            (late) => {
              if (!late.done) late.value.nack({ reason: new ClosedError('Router') });
            },
            () => {},
          );
          break;
        }
        if (result.done) break;
        this.#dispatch(result.value);
        while (!this.#stopping && this.#scheduler.running + this.#scheduler.waiting >= limit) {
          await new Promise<void>((resolve) => {
            this.#capacity = resolve;
          });
        }
      }
    } finally {
      this.#ready.resolve();
    }
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

  async #process(message: ReceivedMessage, lane: string | undefined): Promise<void> {
    const { name, logger, publisher, publishTopic } = this.#spec;
    // A signal per message, not one shared: listeners a handler forgets to remove die with it.
    const flight: InFlight = { controller: new AbortController(), abandoned: false };
    this.#inFlight.set(message, flight);
    const context: HandlerContext = { handlerName: name, signal: flight.controller.signal, logger };
    try {
      const output = await this.#spec.handler(message, context);
      if (flight.abandoned) return;
      if (output !== undefined && !Array.isArray(output)) throw new InvalidOutputError(name, output);
      if (output !== undefined && output.length > 0) {
        if (publisher === undefined || publishTopic === undefined) throw new UnroutableOutputError(name, output.length);
        await publisher.publish(publishTopic, ...output);
        if (flight.abandoned) return;
      }
      message.ack();
      settled(message, message.settlement === 'nacked' ? 'nacked' : 'acked');
    } catch (thrown) {
      if (flight.abandoned) return;
      const err = toError(thrown);
      logger.warn({ err, messageId: message.id, deliveryAttempt: message.deliveryAttempt }, 'handler failed; nacked');
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
    } finally {
      this.#inFlight.delete(message);
      if (this.#inFlight.size === 0) this.#idle?.();
    }
  }
}
