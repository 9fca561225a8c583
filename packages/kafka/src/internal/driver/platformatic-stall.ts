import type { Logger } from '@bus/core';
import type { KafkaSubscriberEvents, StallReason } from '../../subscriber-events.js';
import { StallWatchdog } from '../stall-watchdog.js';
import type { TypedEvents } from '../typed-events.js';

/** What the platformatic session's stall handling needs to know and do. */
export interface PlatformaticStallOptions {
  readonly topic: string;
  readonly group: string;
  readonly bounds: { readonly rebalanceBoundMs: number; readonly progressBoundMs: number };
  readonly logger: Logger;
  readonly events: TypedEvents<KafkaSubscriberEvents>;
  /** Whether the session runs (a stall of a session that starts or stops is not reported). */
  readonly running: () => boolean;
  /** Whether a restart of the message stream is under way (it rejoins already). */
  readonly restarting: () => boolean;
  /** Leaves the group and joins again as a new member (a restart of the stream that leaves first). */
  readonly rejoin: () => void;
}

/**
 * The platformatic session's stall handling, with the same bounds, `stall` events and forced
 * rejoin as the kafkajs session. Signs of life: a fetch of the message stream answered, or a
 * heartbeat went through; rebalancing: the client's `consumer:group:rebalance`, or a restart of
 * the stream; settled: an assignment taken. A rebalance that outlasts its bound leaves the group
 * and joins again (unless a restart already rejoins); no progress is reported only, as on kafkajs.
 */
export class PlatformaticStall {
  readonly #o: PlatformaticStallOptions;
  readonly #watchdog: StallWatchdog;

  constructor(options: PlatformaticStallOptions) {
    this.#o = options;
    this.#watchdog = new StallWatchdog({
      ...options.bounds,
      onStall: (reason, stalledMs) => this.#onStall(reason, stalledMs),
    });
  }

  /** Starts watching (once the session runs). */
  start(): void {
    this.#watchdog.start();
  }

  /** Stops watching (the session stops, or ends with an error). */
  stop(): void {
    this.#watchdog.stop();
  }

  /** A sign of life: a fetch answered, a heartbeat went through. */
  progress(): void {
    this.#watchdog.progress();
  }

  /** Partitions are moving (a rebalance, a restart): nothing is handed out until `settled`. */
  rebalancing(): void {
    this.#watchdog.rebalancing();
  }

  /** An assignment was taken. */
  settled(): void {
    this.#watchdog.settled();
  }

  #onStall(reason: StallReason, stalledMs: number): void {
    const o = this.#o;
    if (!o.running()) return;
    const { topic, group } = o;
    const rejoining = reason === 'rebalance' && !o.restarting();
    o.logger.warn({ topic, group, reason, stalledMs, rejoining }, 'Kafka consumer stalled');
    o.events.emit('stall', { topic, group, reason, stalledMs, rejoining });
    if (rejoining) o.rejoin();
  }
}
