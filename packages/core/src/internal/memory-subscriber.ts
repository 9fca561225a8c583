import { ClosedError, ConfigError, type ConfigIssue } from '../errors.js';
import { type ReceivedMessage, SPEC_VERSION, type SubscribeOptions, type Subscriber } from '../pubsub.js';
import { topicNameProblem } from '../validation.js';
import type { MemoryCore } from './memory-core.js';
import { GroupMember } from './memory-member.js';

let anonymousGroups = 0;

/** Subscriber of a {@link MemoryCore}: every iteration of a subscription is one group member. */
export class MemorySubscriber implements Subscriber {
  readonly specVersion = SPEC_VERSION;
  readonly #core: MemoryCore;
  readonly #defaultGroup: string | undefined;
  readonly #members = new Set<GroupMember>();
  #closed = false;

  constructor(core: MemoryCore, defaultGroup: string | undefined) {
    this.#core = core;
    this.#defaultGroup = defaultGroup;
    core.track(this);
  }

  subscribe(topic: string, options: SubscribeOptions = {}): AsyncIterable<ReceivedMessage> {
    if (this.#closed || this.#core.closed) throw new ClosedError('MemorySubscriber');
    const issues: ConfigIssue[] = [];
    const topicProblem = topicNameProblem(topic);
    if (topicProblem !== undefined) issues.push({ path: 'topic', message: topicProblem });
    const group: unknown = options.group ?? this.#defaultGroup;
    if (group !== undefined && (typeof group !== 'string' || group.length === 0)) {
      issues.push({ path: 'group', message: 'must be a non-empty string' });
    }
    const signal: unknown = options.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      issues.push({ path: 'signal', message: 'must be an AbortSignal' });
    }
    if (issues.length > 0) throw new ConfigError('subscription', issues);
    return {
      [Symbol.asyncIterator]: () => this.#join(topic, group as string | undefined, options.signal),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const member of [...this.#members]) member.end();
    this.#core.untrack(this);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #join(topicName: string, groupName: string | undefined, signal: AbortSignal | undefined): GroupMember {
    const core = this.#core;
    const ended = this.#closed || core.closed;
    const topic = core.topic(topicName);
    // Without a group each subscription reads everything on its own, like a fresh Kafka group.
    const group = topic.group(groupName ?? `memory-anonymous-${++anonymousGroups}`, {
      ephemeral: groupName === undefined,
    });
    const member = new GroupMember(
      group,
      core.options.maxInFlight,
      (done) => this.#members.delete(done),
      ended ? AbortSignal.abort() : signal,
    );
    if (!ended) this.#members.add(member);
    return member;
  }
}
