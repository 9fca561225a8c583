import type { BusError, Logger } from '@bus/core';
import type { Consumer } from 'kafkajs';
import { toKafkaError } from '../errors.js';
import type { KafkaSubscriberEvents } from '../subscriber-events.js';
import { type CommitSchedule, CommitScheduler } from './commit-scheduler.js';
import type { ConsumerStats } from './consumer-stats.js';
import type { PartitionState } from './partition-state.js';
import type { TypedEvents } from './typed-events.js';

/** What a session's commits need from it. */
export interface SessionCommitsOptions {
  readonly topic: string;
  readonly group: string;
  /** `undefined` for manual mode: nothing is committed. */
  readonly commit: CommitSchedule | undefined;
  readonly logger: Logger;
  readonly events: TypedEvents<KafkaSubscriberEvents>;
  readonly stats: ConsumerStats;
  readonly secrets: readonly string[];
}

/**
 * The commits of one subscription: each partition's contiguous acked prefix, on the schedule of
 * a {@link CommitScheduler}, through the kafkajs consumer; and the final commit when it stops.
 */
export class SessionCommits {
  readonly #o: SessionCommitsOptions;
  readonly #consumer: Pick<Consumer, 'commitOffsets'>;
  readonly #partitions: () => readonly PartitionState[];
  readonly #recordError: (error: BusError) => void;
  readonly #scheduler: CommitScheduler | undefined;

  /** `partitions` gives the partitions served now; `recordError` keeps a failure in the stats. */
  constructor(
    options: SessionCommitsOptions,
    consumer: Pick<Consumer, 'commitOffsets'>,
    partitions: () => readonly PartitionState[],
    recordError: (error: BusError) => void,
  ) {
    this.#o = options;
    this.#consumer = consumer;
    this.#partitions = partitions;
    this.#recordError = recordError;
    this.#scheduler =
      options.commit === undefined ? undefined : new CommitScheduler(options.commit, () => this.#commitPending());
  }

  /** An ack moved a commit position: commit on schedule. */
  noteAck(): void {
    this.#scheduler?.noteAck();
  }

  /** Commits the acked prefixes now (a rebalance is coming, or an ack raced with shutdown). */
  flush(): void {
    void this.#scheduler?.flush();
  }

  /** Stops the schedule and commits what is acked, once more for acks that land meanwhile. */
  async final(): Promise<void> {
    if (this.#scheduler === undefined) return;
    this.#scheduler.stop();
    await this.#scheduler.flush();
    // Acks that landed while that commit was on the wire get one more.
    if (this.#partitions().some((state) => !state.retired && state.tracker.pendingCommit() !== undefined)) {
      await this.#scheduler.flush();
    }
  }

  async #commitPending(): Promise<void> {
    const offsets: { topic: string; partition: number; offset: string }[] = [];
    const committed: { state: PartitionState; offset: number }[] = [];
    for (const state of this.#partitions()) {
      if (state.retired) continue;
      const offset = state.tracker.pendingCommit();
      if (offset === undefined) continue;
      offsets.push({ topic: state.topic, partition: state.partition, offset: String(offset) });
      committed.push({ state, offset });
    }
    if (offsets.length === 0) return;
    const { topic, group } = this.#o;
    try {
      await this.#consumer.commitOffsets(offsets);
      for (const { state, offset } of committed) state.tracker.markCommitted(offset);
      this.#o.stats.commits++;
      this.#o.events.emit('commit', {
        topic,
        group,
        offsets: committed.map(({ state, offset }) => ({ partition: state.partition, offset })),
      });
    } catch (error) {
      const typed = toKafkaError(error, { operation: 'commit', topic, secrets: this.#o.secrets });
      this.#o.stats.commitFailures++;
      this.#recordError(typed);
      this.#o.logger.warn({ topic, group, err: typed }, 'offset commit failed');
      this.#o.events.emit('error', { topic, group, operation: 'commit', error: typed });
    }
  }
}
