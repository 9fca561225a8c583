import {
  ConfigIssues,
  type CloseOptions,
  type CloseReport,
  type DeadLetterQueue,
  type Router,
  type RunOptions,
} from '@bus/core';
import type { CqrsContext } from './context.js';
import type { EventDefinition, Received } from './definition.js';
import { type AnyHandler, ProcessorRuntime, type Route } from './internal/runtime.js';
import type { ProcessorOptions } from './processor-options.js';
import type { ProcessorStats } from './stats.js';

/** Handles one event type. Throwing fails the message: retried, then dead-lettered or nacked. */
export type EventHandler<N extends string, T> = (event: Received<N, T>, context: CqrsContext) => void | Promise<void>;

/** Handles every event type: `data` is decoded for types registered on the processor, raw bytes otherwise. */
export type AnyEventHandler = (event: Received<string, unknown>, context: CqrsContext) => void | Promise<void>;

/** Options of {@link EventProcessor.on}. */
export interface OnOptions {
  /**
   * Handler name, unique per processor; its consumer group is `<groupPrefix>.<name>`. Default: the
   * event type. Required for a second handler of the same type (groups must not change across restarts).
   */
  name?: string;
}

/** Options of {@link EventProcessor.onAny}. */
export interface OnAnyOptions {
  /** Handler name, unique per processor. Default `any`. */
  name?: string;
  /** Topic to read. Default: the strategy's topic for every type, which only `topics.stream` has. */
  topic?: string;
}

/**
 * Runs typed event handlers on a core `Router`, so every router and core middleware applies.
 * Each `on` handler reads with a consumer group of its own (fan-out: every handler sees every event);
 * a {@link EventGroup} shares one consumer among many types of one topic. Messages of one aggregate
 * are handled one at a time, in order. Failures are retried with backoff and jitter, then dead-lettered
 * to `<topic>.dlq` (with `deadLetter`) or nacked.
 * @example
 * await using processor = new EventProcessor({ subscriber, topics: topics.stream('shop') });
 * processor.on(OrderPlaced, async (event) => console.log(event.data.total, event.envelope.aggregateId));
 * await processor.run();
 */
export class EventProcessor implements AsyncDisposable {
  readonly #runtime: ProcessorRuntime;
  readonly #names = new Set<string>();

  /** @throws {ConfigError} listing every invalid option. */
  constructor(options: ProcessorOptions) {
    this.#runtime = new ProcessorRuntime(options, 'EventProcessor');
  }

  /** The router the handlers run on. */
  get router(): Router {
    return this.#runtime.router;
  }

  /**
   * Handles events of `definition` in a consumer group of this handler's own.
   * @throws {ConfigError} for a duplicate name or a topic the strategy cannot give.
   */
  on<N extends string, T>(
    definition: EventDefinition<N, T>,
    handler: EventHandler<N, T>,
    options: OnOptions = {},
  ): this {
    const name = options.name ?? definition.name;
    this.#checkNew(name, definition, handler, 'on');
    const def = definition as unknown as EventDefinition<string, unknown>;
    const topic = this.#runtime.topicOf(def);
    this.#runtime.known.set(definition.name, def);
    this.#names.add(name);
    const routes = new Map<string, Route>([[definition.name, { definition: def, handle: handler as AnyHandler }]]);
    this.#runtime.addConsumer({ name, topic, routes });
    return this;
  }

  /**
   * Handles every event of a topic in a consumer group of this handler's own.
   * @throws {ConfigError} for a duplicate name, or when no topic is given and the strategy has no single one.
   */
  onAny(handler: AnyEventHandler, options: OnAnyOptions = {}): this {
    const name = options.name ?? 'any';
    this.#checkNew(name, undefined, handler, 'onAny');
    const topic = options.topic ?? this.#runtime.topicOf(allEvents);
    this.#names.add(name);
    this.#runtime.addConsumer({ name, topic, routes: new Map(), any: handler as AnyHandler });
    return this;
  }

  /**
   * A handler group: one consumer (group `<groupPrefix>.<name>`) for many event types of one topic,
   * dispatching on `ce_type`, in order per aggregate across the types (Watermill's EventGroupProcessor).
   * @throws {ConfigError} for a duplicate name.
   */
  group(name: string): EventGroup {
    this.#checkNew(name, undefined, () => {}, 'group');
    this.#names.add(name);
    return new EventGroup(name, this.#runtime);
  }

  /**
   * The dead-letter queue of a type's topic (or of a topic), from the `deadLetter.queue` factory:
   * list, count, replay and purge what failed there. One queue per dead-letter topic, made on first
   * use; the processor's `close()` closes it.
   * @throws {ConfigError} when the processor has no `deadLetter.queue`.
   */
  deadLetterQueue<N extends string, T>(target: EventDefinition<N, T> | string): DeadLetterQueue {
    return this.#runtime.deadLetterQueue(target as unknown as EventDefinition<string, unknown> | string);
  }

  /** What the handlers did so far. */
  stats(): ProcessorStats {
    return this.#runtime.stats.snapshot();
  }

  /** Runs the router (see `Router.run`): resolves once it stopped. */
  run(options?: RunOptions): Promise<void> {
    return this.#runtime.router.run(options);
  }

  /**
   * Drains and closes the router (see `Router.close`), then closes the dead-letter queues that
   * {@link deadLetterQueue} got from the `deadLetter.queue` factory.
   */
  close(options?: CloseOptions): Promise<CloseReport> {
    return this.#runtime.close(options);
  }

  /** For `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #checkNew(
    name: string,
    definition: EventDefinition<string, unknown> | undefined,
    handler: unknown,
    method: string,
  ): void {
    const issues = new ConfigIssues(`EventProcessor.${method}`);
    if (definition !== undefined)
      issues.require(definition?.kind === 'event', 'definition', 'must be an event definition (defineEvent)');
    issues.require(typeof name === 'string' && name.length > 0, 'name', 'must be a non-empty string');
    issues.require(
      !this.#names.has(name),
      'name',
      `a handler named "${name}" is already registered; pass a distinct { name }`,
    );
    issues.require(typeof handler === 'function', 'handler', 'must be a function');
    issues.throwIfAny();
  }
}

const allEvents = { kind: 'event', name: '*', aggregateType: undefined } as unknown as EventDefinition<string, unknown>;

/** Handlers of many event types sharing one consumer; see {@link EventProcessor.group}. */
export class EventGroup {
  readonly #name: string;
  readonly #runtime: ProcessorRuntime;
  readonly #routes = new Map<string, Route>();
  #topic: string | undefined;

  /** @internal Created by `EventProcessor.group`. */
  constructor(name: string, runtime: ProcessorRuntime) {
    this.#name = name;
    this.#runtime = runtime;
  }

  /**
   * Adds the handler of one type. Every type of a group must map to the same topic.
   * @throws {ConfigError} for a second handler of a type, or a type on another topic.
   */
  on<N extends string, T>(definition: EventDefinition<N, T>, handler: EventHandler<N, T>): this {
    const def = definition as unknown as EventDefinition<string, unknown>;
    const issues = new ConfigIssues(`EventGroup "${this.#name}".on`);
    issues.require(definition?.kind === 'event', 'definition', 'must be an event definition (defineEvent)');
    issues.require(typeof handler === 'function', 'handler', 'must be a function');
    issues.throwIfAny();
    issues.require(
      !this.#routes.has(definition.name),
      'definition',
      `"${definition.name}" already has a handler in this group`,
    );
    const topic = this.#runtime.topicOf(def);
    issues.require(
      this.#topic === undefined || this.#topic === topic,
      'definition',
      `"${definition.name}" is on topic "${topic}", but this group reads "${this.#topic}"`,
    );
    issues.throwIfAny();
    this.#runtime.known.set(definition.name, def);
    this.#routes.set(definition.name, { definition: def as Route['definition'], handle: handler as AnyHandler });
    if (this.#topic === undefined) {
      this.#topic = topic;
      this.#runtime.addConsumer({ name: this.#name, topic, routes: this.#routes });
    }
    return this;
  }
}
