import type { ResolvedMemoryOptions } from '../memory/options.js';
import { PartitionLog } from './memory-log.js';
import { MemoryTopic } from './memory-topic.js';

/** Something the broker ends when it closes. */
export interface Closable {
  close(): Promise<void>;
}

/** State shared by a broker and the publishers and subscribers it made. */
export class MemoryCore {
  readonly options: ResolvedMemoryOptions;
  readonly #topics = new Map<string, MemoryTopic>();
  readonly #open = new Set<Closable>();
  #closed = false;

  constructor(options: ResolvedMemoryOptions) {
    this.options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The topic named `name`, created with `partitions` (default: the broker's default) if missing. */
  topic(name: string, partitions = this.options.defaultPartitions): MemoryTopic {
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      const logs = Array.from({ length: partitions }, () => new PartitionLog(this.options.retention));
      topic = new MemoryTopic(name, logs, this.options);
      this.#topics.set(name, topic);
      this.options.logger.debug({ topic: name, partitions }, 'topic created');
    }
    return topic;
  }

  /** The topic named `name`, if it exists. */
  findTopic(name: string): MemoryTopic | undefined {
    return this.#topics.get(name);
  }

  /** Remembers a publisher or subscriber so `close()` closes it. */
  track(closable: Closable): void {
    this.#open.add(closable);
  }

  untrack(closable: Closable): void {
    this.#open.delete(closable);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#open].map((closable) => closable.close()));
    this.#open.clear();
    for (const topic of this.#topics.values()) topic.dispose();
  }
}
