import type { BusError, Logger } from '@bus/core';
import { toKafkaError } from '../../errors.js';
import type { KafkaSubscriberEvents } from '../../subscriber-events.js';
import type { ConsumerStats } from '../consumer-stats.js';
import type { TypedEvents } from '../typed-events.js';

/** Pause between attempts to open the message stream again after it failed (as the kafkajs session's). */
const RESTART_RETRY_MS = 1_000;

/** What the platformatic session's restart handling needs to know and do. */
export interface StreamRestartOptions {
  readonly topic: string;
  readonly group: string;
  readonly secrets: readonly string[];
  readonly logger: Logger;
  readonly events: TypedEvents<KafkaSubscriberEvents>;
  readonly stats: ConsumerStats;
  /** Whether the session runs: a session that starts or stops is not restarted. */
  readonly running: () => boolean;
  /** Whether the session stops (a failure then is not reported). */
  readonly stopping: () => boolean;
  /**
   * Drops what the member holds (it stays uncommitted, so it is fetched again) and detaches the
   * failed message stream; returns what closes it.
   */
  readonly detach: () => () => Promise<void>;
  /** Leaves the group (a forced rejoin); best effort, never throws. */
  readonly leaveGroup: () => Promise<void>;
  /** A request a broker must answer first: a stream opened without one would only fail again. */
  readonly probe: () => Promise<unknown>;
  /** Opens a new message stream (joins the group when the member has no membership). */
  readonly open: () => Promise<void>;
  /** Notes a failure in the subscription's stats (`lastError`). */
  readonly record: (error: BusError) => void;
  /** Ends the subscription's loop with `error`: nothing a later attempt would change. */
  readonly fatal: (error: BusError) => void;
}

/**
 * The platformatic session's restart handling. When its message stream fails (the client's
 * retries ran out in an outage, a coordinator or leader did not come back in time) or a rejoin
 * the client started gives up, a retryable failure restarts the stream with the same consumer, as
 * kafkajs restarts its consumer, so a broker that comes back later is picked up again; anything
 * else ends the subscription. A stall forces a rejoin the same way, leaving the group first.
 * A restart closes the failed stream, then opens a new one every `RESTART_RETRY_MS` (the first
 * at once) until one opens, the session stops, or an attempt fails for good. One at a time.
 */
export class StreamRestart {
  readonly #o: StreamRestartOptions;
  #restarting: Promise<void> | undefined;
  /** Ends the pause before the next attempt (at once when the session stops). */
  #wait: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(options: StreamRestartOptions) {
    this.#o = options;
  }

  /** Whether a restart is under way. */
  get active(): boolean {
    return this.#restarting !== undefined;
  }

  /** The message stream failed, or a rejoin the client started gave up: restart, or end the loop. */
  crashed(error: unknown): void {
    const o = this.#o;
    if (o.stopping()) return;
    const typed = this.#typed(error);
    o.record(typed);
    const { topic, group } = o;
    const willRestart = typed.isRetryable && o.running();
    o.events.emit('crash', { topic, group, error: typed, willRestart });
    if (willRestart) {
      o.stats.reconnections++;
      o.logger.warn({ topic, group, err: typed }, 'Kafka consumer failed; restarting its message stream');
      this.#start(false);
      return;
    }
    o.logger.error({ topic, group, err: typed }, 'Kafka consumer failed and will not restart');
    o.fatal(typed);
  }

  /**
   * A rebalance never ended: leave the group and join as a new member, as the kafkajs session's
   * forced rejoin does. (A restart after a crash rejoins with the membership it has, so the group
   * takes it back without waiting for a session timeout.)
   */
  rejoin(): void {
    this.#start(true);
  }

  /** Cuts the pause before the next attempt short (the session stops: the loop then ends). */
  cancel(): void {
    const wait = this.#wait;
    if (wait === undefined) return;
    clearTimeout(wait.timer);
    wait.resolve();
  }

  #typed(error: unknown): BusError {
    return toKafkaError(error, { operation: 'consume', topic: this.#o.topic, secrets: this.#o.secrets });
  }

  #start(leave: boolean): void {
    if (this.#restarting !== undefined) return;
    const close = this.#o.detach();
    this.#restarting = this.#run(leave, close).finally(() => {
      this.#restarting = undefined;
    });
  }

  async #run(leave: boolean, close: () => Promise<void>): Promise<void> {
    const o = this.#o;
    await close().catch(() => undefined);
    // Best effort: a coordinator that does not answer lets the old member's session expire instead.
    if (leave) await o.leaveGroup();
    for (let attempt = 0; ; attempt++) {
      if (!o.running()) return;
      // The first attempt at once (a leader that moved is found by fresh metadata), then paced.
      await new Promise<void>((resolve) => {
        this.#wait = { timer: setTimeout(resolve, attempt === 0 ? 0 : RESTART_RETRY_MS), resolve };
      });
      this.#wait = undefined;
      if (!o.running()) return;
      try {
        await o.probe();
        if (!o.running()) return;
        await o.open();
        return;
      } catch (error) {
        const typed = this.#typed(error);
        o.record(typed);
        if (!typed.isRetryable) {
          // Nothing a later attempt would change (authorization, a deleted topic): the loop ends with it.
          o.fatal(typed);
          return;
        }
        o.logger.debug({ topic: o.topic, group: o.group, err: typed }, 'stream restart failed');
      }
    }
  }
}
