import {
  type CloseOptions,
  type CloseReport,
  type DeadLetterQueue,
  ConfigIssues,
  type Router,
  type RunOptions,
} from '@bus/core';
import type { CqrsContext } from './context.js';
import type { CommandDefinition, Received } from './definition.js';
import { CqrsError } from './errors.js';
import { type AnyHandler, ProcessorRuntime } from './internal/runtime.js';
import type { ProcessorOptions } from './processor-options.js';
import type { ProcessorStats } from './stats.js';

/** Handles one command type. Throwing fails the message: retried, then dead-lettered or nacked. */
export type CommandHandler<N extends string, T> = (
  command: Received<N, T>,
  context: CqrsContext,
) => void | Promise<void>;

/** Options of `new CommandProcessor()`. */
export interface CommandProcessorOptions extends ProcessorOptions {
  /**
   * The commands this service must handle. Running the router without a handler for one of them
   * fails at startup with a `CqrsError` `NO_HANDLER` naming all the missing ones.
   */
  expects?: readonly CommandDefinition<string, unknown>[];
}

/**
 * Runs command handlers on a core `Router`: exactly one handler per command type, in consumer group
 * `<groupPrefix>.<type>` shared by every instance of the service, in order per aggregate.
 * @example
 * await using processor = new CommandProcessor({ subscriber, topics: topics.perType('shop'), expects: [PlaceOrder] });
 * processor.on(PlaceOrder, async (command, ctx) => { await ctx.publish(OrderPlaced.create(...)); });
 * await processor.run();
 */
export class CommandProcessor implements AsyncDisposable {
  readonly #runtime: ProcessorRuntime;

  /** @throws {ConfigError} listing every invalid option. */
  constructor(options: CommandProcessorOptions) {
    this.#runtime = new ProcessorRuntime(options, 'CommandProcessor');
    const expects = options.expects ?? [];
    const issues = new ConfigIssues('CommandProcessor');
    issues.require(
      Array.isArray(expects) && expects.every((d) => d?.kind === 'command'),
      'expects',
      'must be an array of command definitions (defineCommand)',
    );
    // The check runs when the router starts; on a router already running it would run at once, before any `on`.
    issues.require(
      expects.length === 0 || this.#runtime.router.state === 'idle',
      'expects',
      'needs a router that has not started yet',
    );
    issues.throwIfAny();
    this.#runtime.router.addPlugin(() => {
      const missing = expects.filter((definition) => !this.#runtime.known.has(definition.name)).map((d) => d.name);
      if (missing.length > 0) {
        throw new CqrsError(
          `No handler registered for command${missing.length === 1 ? '' : 's'} ${missing.join(', ')}`,
          {
            code: 'NO_HANDLER',
            type: missing[0],
          },
        );
      }
    });
  }

  /** The router the handlers run on. */
  get router(): Router {
    return this.#runtime.router;
  }

  /**
   * Registers the one handler of a command type.
   * @throws {CqrsError} `DUPLICATE_HANDLER` when the type already has one.
   * @throws {ConfigError} for an invalid definition or handler, or a topic the strategy cannot give.
   */
  on<N extends string, T>(definition: CommandDefinition<N, T>, handler: CommandHandler<N, T>): this {
    const issues = new ConfigIssues('CommandProcessor.on');
    issues.require(definition?.kind === 'command', 'definition', 'must be a command definition (defineCommand)');
    issues.require(typeof handler === 'function', 'handler', 'must be a function');
    issues.throwIfAny();
    if (this.#runtime.known.has(definition.name)) {
      throw new CqrsError(`Command "${definition.name}" already has a handler; a command has exactly one`, {
        code: 'DUPLICATE_HANDLER',
        type: definition.name,
      });
    }
    const def = definition as unknown as CommandDefinition<string, unknown>;
    const topic = this.#runtime.topicOf(def);
    this.#runtime.known.set(definition.name, def);
    this.#runtime.addConsumer({
      name: definition.name,
      topic,
      routes: new Map([[definition.name, { definition: def, handle: handler as AnyHandler }]]),
    });
    return this;
  }

  /**
   * The dead-letter queue of a type's topic (or of a topic), from the `deadLetter.queue` factory:
   * list, count, replay and purge what failed there. One queue per dead-letter topic, made on first
   * use; the processor's `close()` closes it.
   * @throws {ConfigError} when the processor has no `deadLetter.queue`.
   */
  deadLetterQueue<N extends string, T>(target: CommandDefinition<N, T> | string): DeadLetterQueue {
    return this.#runtime.deadLetterQueue(target as unknown as CommandDefinition<string, unknown> | string);
  }

  /** What the handlers did so far. */
  stats(): ProcessorStats {
    return this.#runtime.stats.snapshot();
  }

  /**
   * Runs the router (see `Router.run`): resolves once it stopped.
   * @throws {CqrsError} `NO_HANDLER` when an expected command has no handler.
   */
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
}
