import {
  ConfigError,
  ConfigIssues,
  type Handler,
  type HandlerContext,
  keyString,
  type Middleware,
  type ReceivedMessage,
  Router,
  type CloseOptions,
  type CloseReport,
  type ConsumerHandlerConfig,
  type DeadLetterQueue,
  deadLetter,
  type Publisher,
  retry,
  withRetryTopics,
} from '@bus/core';
import type { CqrsContext } from '../context.js';
import type { Definition, DefinitionKind, Received } from '../definition.js';
import type { Envelope } from '../envelope.js';
import { CloudEventHeaders, cloudEventType, envelopeFromHeaders } from '../cloudevents-headers.js';
import { CqrsError } from '../errors.js';
import type { ProcessorOptions } from '../processor-options.js';
import { MessageContext } from './handler-context.js';
import { StatsRecorder } from './stats-recorder.js';
import { isThenable } from './thenable.js';

const UNKNOWN_TYPE_POLICIES = ['ack', 'nack', 'dead-letter'] as const;
const DEFAULT_NACK_DELAY_MS = 5_000;

/** A handler as the runtime calls it: data already decoded. */
export type AnyHandler = (received: Received<string, unknown>, context: CqrsContext) => unknown;

/** One type a consumer dispatches to. */
export interface Route {
  readonly definition: Definition<DefinitionKind, string, unknown>;
  readonly handle: AnyHandler;
}

/** One router handler: a consumer group reading one topic, dispatching on `ce_type`. */
export interface ConsumerSpec {
  readonly name: string;
  readonly topic: string;
  /** The routes, by type; the map may grow until the router starts. */
  readonly routes: ReadonlyMap<string, Route>;
  /** Handles every type (known ones decoded, unknown ones as raw bytes). */
  readonly any?: AnyHandler;
}

/** What event and command processors share: options, the router, stats and dispatching. */
export class ProcessorRuntime {
  readonly router: Router;
  readonly stats = new StatsRecorder();
  /** Every definition registered on this processor, by type: other handlers' types are skipped, not unknown. */
  readonly known = new Map<string, Definition<DefinitionKind, string, unknown>>();
  readonly #options: ProcessorOptions;
  readonly #groupPrefix: string;
  readonly #queues = new Map<string, DeadLetterQueue>();

  constructor(options: ProcessorOptions, subject: string) {
    const issues = new ConfigIssues(subject);
    issues.require(typeof options?.subscriber?.subscribe === 'function', 'subscriber', 'must be a Subscriber');
    issues.require(
      typeof options?.topics === 'function',
      'topics',
      'must be a TopicStrategy (see topics.perType, ...)',
    );
    issues.require(options?.router === undefined || options.router instanceof Router, 'router', 'must be a Router');
    issues.require(
      options?.groupPrefix === undefined || (typeof options.groupPrefix === 'string' && options.groupPrefix.length > 0),
      'groupPrefix',
      'must be a non-empty string',
    );
    issues.integer(options?.concurrency, 'concurrency', { min: 1, max: 10_000 });
    issues.oneOf(options?.unknownType, 'unknownType', UNKNOWN_TYPE_POLICIES);
    issues.integer(options?.unknownTypeNackDelayMs, 'unknownTypeNackDelayMs', { min: 0, max: 2 ** 31 - 1 });
    issues.require(
      options?.retry === undefined || options.retry === false || typeof options.retry === 'object',
      'retry',
      'must be retry options or false',
    );
    const dead = options?.deadLetter;
    if (dead !== undefined) {
      issues.require(typeof dead?.publisher?.publish === 'function', 'deadLetter.publisher', 'must be a Publisher');
      issues.require(
        dead.topicOf === undefined || typeof dead.topicOf === 'function',
        'deadLetter.topicOf',
        'must be a function',
      );
    }
    const hops = options?.retryTopics;
    if (hops !== undefined) {
      issues.require(
        dead !== undefined,
        'retryTopics',
        'needs the deadLetter option (its publisher moves messages along)',
      );
      issues.require(
        Array.isArray(hops?.delaysMs) &&
          hops.delaysMs.length > 0 &&
          hops.delaysMs.every((d) => Number.isInteger(d) && d >= 0 && d <= 2 ** 31 - 1),
        'retryTopics.delaysMs',
        'must be 1 or more delays, integers from 0 to 2147483647 ms',
      );
    }
    issues.require(
      options?.unknownType !== 'dead-letter' || dead !== undefined,
      'unknownType',
      '"dead-letter" needs the deadLetter option',
    );
    if (
      options?.middleware !== undefined &&
      !(Array.isArray(options.middleware) && options.middleware.every((m) => typeof m === 'function'))
    ) {
      issues.add('middleware', 'must be an array of functions');
    }
    issues.throwIfAny();
    this.#options = options;
    this.#groupPrefix = options.groupPrefix ?? 'cqrs';
    this.router = options.router ?? new Router(options.logger === undefined ? {} : { logger: options.logger });
  }

  /** The topic of a definition under the processor's strategy. */
  topicOf(definition: Definition<DefinitionKind, string, unknown>): string {
    return this.#options.topics({
      kind: definition.kind,
      name: definition.name,
      aggregateType: definition.aggregateType,
    });
  }

  /** The dead-letter topic of a consumed topic. */
  deadLetterTopic(topic: string): string {
    return this.#options.deadLetter?.topicOf?.(topic) ?? `${topic}.dlq`;
  }

  /** The user's queue of the dead-letter topic of `target` (a definition or a consumed topic), one per topic. */
  deadLetterQueue(target: Definition<DefinitionKind, string, unknown> | string): DeadLetterQueue {
    const factory = this.#options.deadLetter?.queue;
    if (factory === undefined) {
      throw new ConfigError('deadLetterQueue', [
        { path: 'deadLetter.queue', message: "pass the transport's DeadLetterQueue factory to the processor" },
      ]);
    }
    const topic = this.deadLetterTopic(typeof target === 'string' ? target : this.topicOf(target));
    let queue = this.#queues.get(topic);
    if (queue === undefined) {
      queue = factory(topic);
      this.#queues.set(topic, queue);
    }
    return queue;
  }

  /** Drains and closes the router, then closes the dead-letter queues the factory made for this processor. */
  async close(options?: CloseOptions): Promise<CloseReport> {
    try {
      return await this.router.close(options);
    } finally {
      await Promise.allSettled([...this.#queues.values()].map((queue) => queue.close()));
    }
  }

  /** Adds the consumer to the router: its own group, ordered per aggregate. */
  addConsumer(spec: ConsumerSpec): void {
    const { concurrency = 16, retryTopics: hops, deadLetter: dead } = this.#options;
    const config: ConsumerHandlerConfig = {
      name: `cqrs:${spec.name}`,
      subscribeTopic: spec.topic,
      subscriber: this.#options.subscriber,
      group: `${this.#groupPrefix}.${spec.name}`,
      concurrency,
      orderBy: aggregateOf,
      middleware: this.#middleware(spec.topic),
      handle: this.#dispatcher(spec),
    };
    if (hops === undefined || dead === undefined) {
      this.router.addConsumerHandler(config);
      return;
    }
    // The same handler on <topic>.retry.<n>, same group; core's retryTopics moves failures along and dead-letters.
    const deadLetterTopic = this.deadLetterTopic(spec.topic);
    const configs = withRetryTopics(config, {
      publisher: countingPublisher(dead.publisher, deadLetterTopic, this.stats),
      delaysMs: hops.delaysMs,
      deadLetterTopic,
      filter: this.#deadLetterFilter,
    });
    for (const each of configs) this.router.addConsumerHandler(each);
  }

  /** The nack policy hands unknown types back to the group instead of dead-lettering them. */
  readonly #deadLetterFilter = (error: Error): boolean =>
    !(this.#options.unknownType === 'nack' && CqrsError.isInstance(error) && error.code === 'UNKNOWN_TYPE');

  #middleware(topic: string): Middleware[] {
    const { stats } = this;
    const options = this.#options;
    const chain: Middleware[] = [stats.outer];
    const dead = options.deadLetter;
    // With retry topics, core's retryTopics dead-letters after the last hop.
    if (dead !== undefined && options.retryTopics === undefined) {
      chain.push(
        deadLetter({
          publisher: dead.publisher,
          topic: this.deadLetterTopic(topic),
          filter: this.#deadLetterFilter,
          onDeadLetter: () => {
            stats.deadLettered++;
          },
        }),
      );
    }
    if (options.retry !== false) {
      const retryOptions = options.retry ?? {};
      const onRetry = retryOptions.onRetry;
      chain.push(
        retry({
          maxRetries: 3,
          ...retryOptions,
          onRetry: (event) => {
            stats.retried++;
            onRetry?.(event);
          },
        }),
      );
    }
    chain.push(...(options.middleware ?? []), stats.inner);
    return chain;
  }

  /**
   * Decodes, then calls the route's handler. Not an async function: with a synchronous codec and
   * handler nothing here allocates a promise, and the router settles the message synchronously.
   */
  #dispatcher(spec: ConsumerSpec): Handler {
    return (message, context) => {
      const type = cloudEventType(message.headers);
      const route = type === undefined ? undefined : spec.routes.get(type);
      if (route === undefined && spec.any === undefined) {
        if (type !== undefined && this.known.has(type)) {
          this.stats.skipped++;
          return;
        }
        this.#unknown(message, type, context);
        return;
      }
      const envelope = envelopeFromHeaders(message.headers, { id: message.id });
      const definition = route?.definition ?? this.known.get(envelope.type);
      const handle = (route?.handle ?? spec.any) as AnyHandler;
      const data =
        definition === undefined
          ? message.payload
          : definition.schema.decode(message.payload, {
              topic: message.topic,
              role: 'value',
              headers: message.headers,
              partition: message.partition,
              offset: message.offset,
            });
      if (isThenable(data)) {
        return Promise.resolve(data).then((decoded) => this.#handle(handle, envelope, decoded, message, context));
      }
      return this.#handle(handle, envelope, data, message, context);
    };
  }

  /** Calls the handler; counts it handled once it returned (or its promise resolved). */
  #handle(
    handle: AnyHandler,
    envelope: Envelope,
    data: unknown,
    message: ReceivedMessage,
    context: HandlerContext,
  ): Promise<undefined> | undefined {
    const output = handle({ type: envelope.type, data, envelope }, this.#context(envelope, message, context));
    if (!isThenable(output)) {
      this.stats.handled++;
      return undefined;
    }
    return Promise.resolve(output).then(() => {
      this.stats.handled++;
      return undefined;
    });
  }

  #unknown(message: ReceivedMessage, type: string | undefined, context: HandlerContext): void {
    const policy = this.#options.unknownType ?? 'ack';
    const what = type === undefined ? 'a message without ce_type' : `unknown type "${type}"`;
    if (policy === 'ack') {
      this.stats.skipped++;
      context.logger.warn({ messageId: message.id, type, topic: message.topic }, `acking ${what}`);
      return;
    }
    throw new CqrsError(`No handler of this processor knows ${what}`, {
      code: 'UNKNOWN_TYPE',
      type,
      retryAfterMs: policy === 'nack' ? (this.#options.unknownTypeNackDelayMs ?? DEFAULT_NACK_DELAY_MS) : undefined,
    });
  }

  #context(envelope: Envelope, message: ReceivedMessage, context: HandlerContext): CqrsContext {
    return new MessageContext(envelope, message, context, this.#options);
  }
}

/** Counts what core's retryTopics publishes: a hop to a retry topic, or a dead letter. */
function countingPublisher(publisher: Publisher, deadLetterTopic: string, stats: StatsRecorder): Publisher {
  return {
    specVersion: publisher.specVersion,
    async publish(topic, ...messages) {
      await publisher.publish(topic, ...messages);
      if (topic === deadLetterTopic) stats.deadLettered += messages.length;
      else stats.retried += messages.length;
    },
    close: () => publisher.close(),
    [Symbol.asyncDispose]: () => publisher.close(),
  };
}

/** Messages of one aggregate are handled one at a time, in order; others run in parallel. */
function aggregateOf(message: ReceivedMessage): string {
  const aggregate = message.headers[CloudEventHeaders.aggregateId];
  if (aggregate !== undefined) return `a:${aggregate}`;
  const key = keyString(message.key);
  return key === undefined ? `p:${message.partition}` : `k:${key}`;
}
