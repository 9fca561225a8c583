import type { Logger } from '../logger.js';
import { type CursorHooks, PartitionCursor } from './memory-cursor.js';
import { ConsumerGroup } from './memory-group.js';
import type { PartitionLog, StoredRecord } from './memory-log.js';
import { partitionForKey } from './memory-murmur2.js';

/** A topic: its partition logs and the consumer groups reading it. */
export class MemoryTopic {
  readonly name: string;
  readonly logs: readonly PartitionLog[];
  readonly #groups = new Map<string, ConsumerGroup>();
  readonly #logger: Logger;
  readonly #rebalanceTimeoutMs: number;
  #nextPartition = 0;

  constructor(name: string, logs: readonly PartitionLog[], options: { logger: Logger; rebalanceTimeoutMs: number }) {
    this.name = name;
    this.logs = logs;
    this.#logger = options.logger;
    this.#rebalanceTimeoutMs = options.rebalanceTimeoutMs;
  }

  /** The partition a message goes to: Kafka's murmur2 of the key, round-robin without one. */
  partitionOf(key: Uint8Array | undefined): number {
    const count = this.logs.length;
    if (key === undefined) {
      const partition = this.#nextPartition;
      this.#nextPartition = (partition + 1) % count;
      return partition;
    }
    return partitionForKey(key, count);
  }

  /** Appends to a partition and wakes the members waiting on it. */
  append(partition: number, record: StoredRecord): void {
    this.logs[partition]?.append(record);
    for (const group of this.#groups.values()) group.cursors[partition]?.owner?.wake();
  }

  /** The group named `name`, created at the earliest retained offsets if new. */
  group(name: string, options: { ephemeral: boolean }): ConsumerGroup {
    let group = this.#groups.get(name);
    if (group === undefined) {
      const logger = this.#logger;
      const hooks: CursorHooks = {
        rebalanceTimeoutMs: this.#rebalanceTimeoutMs,
        onLost: (count, cursor) =>
          logger.warn(
            { topic: this.name, partition: cursor.partition, group: name, count },
            'retention dropped messages this group had not consumed',
          ),
        onHandoffTimeout: (held, cursor) =>
          logger.warn(
            { topic: this.name, partition: cursor.partition, group: name, held, timeoutMs: this.#rebalanceTimeoutMs },
            'a member kept unsettled messages past the rebalance timeout; the partition moved and they will be redelivered',
          ),
      };
      const cursors = this.logs.map((log, partition) => new PartitionCursor(this.name, partition, log, hooks));
      const onEmpty = options.ephemeral
        ? (empty: ConsumerGroup) => {
            empty.dispose();
            this.#groups.delete(name);
          }
        : () => {};
      group = new ConsumerGroup(name, cursors, onEmpty);
      this.#groups.set(name, group);
    }
    return group;
  }

  /** The group named `name`, if it exists. */
  findGroup(name: string): ConsumerGroup | undefined {
    return this.#groups.get(name);
  }

  /** Stops every group's timers. */
  dispose(): void {
    for (const group of this.#groups.values()) group.dispose();
  }
}
