import { ConfigIssues } from '../config.js';
import { ClosedError, ConfigError, toError } from '../errors.js';
import { assertSpecVersion, type Handler, type Middleware, type Publisher, type Subscriber } from '../pubsub.js';
import { childLogger, type Logger, noopLogger } from '../logger.js';
import { compose, decorate } from './internal/compose.js';
import { HandlerRunner } from './internal/handler-runner.js';
import { laneOf } from './internal/key-of.js';
import type {
  CloseOptions,
  CloseReport,
  ConsumerHandlerConfig,
  HandlerConfig,
  Plugin,
  PublisherDecorator,
  RouterHandle,
  RouterOptions,
  RouterState,
  RunOptions,
  SubscriberDecorator,
} from './types.js';

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;
const BUFFER_FACTOR = 4;
const ORDER_BY_VALUES = ['key', 'partition', 'none'] as const;

interface Registered {
  readonly config: HandlerConfig;
  runner?: HandlerRunner;
  /** Whether its subscription loop has returned. */
  ended?: boolean;
}

/**
 * Runs handlers: consumes each handler's topic, calls it with per-key ordering and bounded concurrency,
 * forwards what it returns to its publish topic, and settles every message.
 *
 * Delivery guarantees (at-least-once):
 * - A message is acked only after its handler returned and every returned message was published.
 * - A handler that throws, times out or is still running at the close deadline gets its message nacked.
 * - `close()` drains: intake stops, and the messages already received keep being handled, in order,
 *   until the deadline; only then are the rest nacked. Then the subscriptions end and (by default)
 *   the transports are closed. It resolves with a {@link CloseReport}.
 *
 * Errors thrown by handlers never escape as unhandled rejections; they are logged and nacked. An error
 * carrying a positive numeric `retryAfterMs` (such as `CircuitOpenError`) is nacked with that delay.
 *
 * Ownership: unless `closeTransports: false`, the router closes every subscriber and publisher given
 * to `addHandler` (after decoration) when it stops, subscribers first. Transports used by middleware
 * (a dead-letter publisher, say) are not the router's: close them yourself.
 *
 * @example
 * const router = new Router({ middleware: [retry({ maxRetries: 3 })] });
 * router.addHandler({ name: 'enrich', subscribeTopic: 'in', subscriber: pubsub,
 *   publishTopic: 'out', publisher: pubsub, concurrency: 16, handle: (m) => [transform(m)] });
 * await router.run({ signal: AbortSignal.timeout(60_000) });
 */
export class Router implements RouterHandle, AsyncDisposable {
  /** The router's logger (a no-op unless one was given). */
  readonly logger: Logger;
  readonly #middleware: readonly Middleware[];
  readonly #closeTimeoutMs: number;
  readonly #closeTransports: boolean;
  readonly #publisherDecorators: readonly PublisherDecorator[];
  readonly #subscriberDecorators: readonly SubscriberDecorator[];
  readonly #plugins: Plugin[];
  readonly #handlers = new Map<string, Registered>();
  readonly #decoratedSubscribers = new Map<Subscriber, Subscriber>();
  readonly #decoratedPublishers = new Map<Publisher, Publisher>();
  readonly #running = Promise.withResolvers<void>();
  readonly #stopped = Promise.withResolvers<void>();
  readonly #cleanups: (() => void)[] = [];
  #state: RouterState = 'idle';
  #runPromise: Promise<void> | undefined;
  #closePromise: Promise<CloseReport> | undefined;
  #failure: Error | undefined;

  /** @throws {ConfigError} listing every invalid option. */
  constructor(options: RouterOptions = {}) {
    const issues = new ConfigIssues('Router');
    issues.integer(options.closeTimeoutMs, 'closeTimeoutMs', { min: 0 });
    checkFunctions(issues, options.middleware, 'middleware');
    checkFunctions(issues, options.publisherDecorators, 'publisherDecorators');
    checkFunctions(issues, options.subscriberDecorators, 'subscriberDecorators');
    checkFunctions(issues, options.plugins, 'plugins');
    if (options.logger !== undefined) checkLogger(issues, options.logger);
    if (options.closeTransports !== undefined && typeof options.closeTransports !== 'boolean') {
      issues.add('closeTransports', 'must be a boolean');
    }
    issues.throwIfAny();
    this.logger = options.logger ?? noopLogger;
    this.#middleware = [...(options.middleware ?? [])];
    this.#closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.#closeTransports = options.closeTransports ?? true;
    this.#publisherDecorators = [...(options.publisherDecorators ?? [])];
    this.#subscriberDecorators = [...(options.subscriberDecorators ?? [])];
    this.#plugins = [...(options.plugins ?? [])];
    // Readiness is optional to await; a rejection nobody awaits must not crash the process.
    this.#running.promise.catch(() => {});
  }

  /** `idle` until `run()`, then `running`, `closing` while draining, and `closed`. */
  get state(): RouterState {
    return this.#state;
  }

  /**
   * Resolves once `run()` has subscribed every handler and requested its first message; rejects if
   * the router stops or fails before that. For Kafka, group membership may still be settling.
   */
  get running(): Promise<void> {
    return this.#running.promise;
  }

  /** Names of the registered handlers, in registration order. */
  get handlerNames(): readonly string[] {
    return [...this.#handlers.keys()];
  }

  /**
   * Registers a handler that consumes `subscribeTopic` and forwards what it returns to `publishTopic`.
   * Handlers added while the router runs start at once.
   * @throws {ConfigError} listing every problem (duplicate name, missing publisher, bad concurrency, ...).
   * @throws {ClosedError} once the router is closing or closed.
   */
  addHandler(config: HandlerConfig): this {
    if (this.#state === 'closing' || this.#state === 'closed') throw new ClosedError('Router');
    validateHandler(config, this.#handlers);
    const registered: Registered = { config };
    this.#handlers.set(config.name, registered);
    if (this.#state === 'running') this.#start(registered);
    return this;
  }

  /**
   * Registers a handler that only consumes. A consumer handler that returns messages gets its input
   * nacked with an `UnroutableOutputError`, since there is nowhere to forward them.
   * @throws {ConfigError} listing every problem.
   */
  addConsumerHandler(config: ConsumerHandlerConfig): this {
    const issues = new ConfigIssues(`Router handler "${String(config?.name)}"`);
    const extra = config as Partial<HandlerConfig> | undefined;
    issues.require(
      extra?.publishTopic === undefined,
      'publishTopic',
      'consumer handlers do not publish; use addHandler',
    );
    issues.require(extra?.publisher === undefined, 'publisher', 'consumer handlers do not publish; use addHandler');
    issues.throwIfAny();
    return this.addHandler(config);
  }

  /** Adds a plugin; it starts with `run()` (at once if the router already runs). */
  addPlugin(plugin: Plugin): this {
    if (typeof plugin !== 'function') new ConfigIssues('Router').add('plugin', 'must be a function').throwIfAny();
    if (this.#state === 'closing' || this.#state === 'closed') throw new ClosedError('Router');
    this.#plugins.push(plugin);
    if (this.#state === 'running') this.#startPlugin(plugin);
    return this;
  }

  /**
   * Starts every handler and plugin; resolves once the router has stopped (after `close()`, an aborted
   * `signal`, or every subscription ending). Calling it again returns the same promise.
   * @throws {ConfigError} when no handler is registered.
   * @throws the first subscription failure, after the router has drained and closed.
   */
  run(options: RunOptions = {}): Promise<void> {
    this.#runPromise ??= this.#run(options);
    return this.#runPromise;
  }

  /**
   * Drains and stops the router: stops pulling, keeps handling the messages already received (in
   * order, per lane) until `timeoutMs`, then aborts the handlers still running and nacks their
   * messages and those not started; ends subscriptions, closes owned transports and runs plugin
   * cleanups. Resolves with what the drain did. Idempotent: later calls return the first call's
   * promise. Transport close failures are logged, not thrown.
   * @throws {ConfigError} (as a rejection) for an invalid `timeoutMs`.
   */
  close(options: CloseOptions = {}): Promise<CloseReport> {
    if (this.#closePromise === undefined) {
      const issues = new ConfigIssues('Router.close');
      issues.integer(options.timeoutMs, 'timeoutMs', { min: 0 });
      if (issues.issues.length > 0) return Promise.reject(new ConfigError('Router.close', issues.issues));
      this.#closePromise = this.#close(options.timeoutMs ?? this.#closeTimeoutMs);
    }
    return this.#closePromise;
  }

  /** Closes the router with the default deadline, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #run(options: RunOptions): Promise<void> {
    if (this.#state !== 'idle') throw new ClosedError('Router');
    if (this.#handlers.size === 0) {
      const error = new ConfigError('Router', [
        { path: 'handlers', message: 'register at least one handler before run()' },
      ]);
      this.#running.reject(error);
      throw error;
    }
    this.#state = 'running';
    const { signal } = options;
    const onAbort = (): void => void this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) onAbort();
      for (const plugin of this.#plugins) this.#startPlugin(plugin);
      for (const registered of this.#handlers.values()) this.#start(registered);
      const runners = [...this.#handlers.values()].flatMap((r) => (r.runner ? [r.runner] : []));
      void Promise.all(runners.map((runner) => runner.ready)).then(() => {
        if (this.#state === 'running') this.#running.resolve();
      });
      await this.#stopped.promise;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (this.#failure) throw this.#failure;
  }

  #startPlugin(plugin: Plugin): void {
    if (this.#state !== 'running') return;
    try {
      const cleanup = plugin(this);
      if (typeof cleanup === 'function') this.#cleanups.push(cleanup);
    } catch (error) {
      this.#fail(toError(error), 'plugin failed to start');
    }
  }

  #start(registered: Registered): void {
    // A plugin failure or an already aborted run signal may have begun closing: start nothing then.
    if (this.#state !== 'running') return;
    const { config } = registered;
    const concurrency = config.concurrency ?? 1;
    const logger = childLogger(this.logger, { handler: config.name });
    let handler: Handler;
    let subscriber: Subscriber;
    let publisher: Publisher | undefined;
    try {
      // User code (middleware factories, decorators) runs here; its failure stops the router cleanly.
      handler = compose([...this.#middleware, ...(config.middleware ?? [])], config.handle);
      subscriber = this.#subscriber(config.subscriber);
      publisher = config.publisher === undefined ? undefined : this.#publisher(config.publisher);
    } catch (error) {
      this.#fail(toError(error), `handler "${config.name}" could not be set up`);
      return;
    }
    const runner = new HandlerRunner({
      name: config.name,
      topic: config.subscribeTopic,
      group: config.group,
      subscriber,
      publishTopic: config.publishTopic,
      publisher,
      handler,
      concurrency,
      maxBuffered: config.maxBuffered ?? BUFFER_FACTOR * concurrency,
      laneOf: laneOf(config.orderBy ?? 'key'),
      logger,
    });
    registered.runner = runner;
    runner.loop.then(
      () => {
        registered.ended = true;
        this.#subscriptionEnded(config.name);
      },
      (error: unknown) => {
        registered.ended = true;
        this.#fail(toError(error), `subscription of handler "${config.name}" failed`);
      },
    );
  }

  #subscriber(subscriber: Subscriber): Subscriber {
    let decorated = this.#decoratedSubscribers.get(subscriber);
    if (decorated === undefined) {
      decorated = decorate(subscriber, this.#subscriberDecorators);
      this.#decoratedSubscribers.set(subscriber, decorated);
    }
    return decorated;
  }

  #publisher(publisher: Publisher): Publisher {
    let decorated = this.#decoratedPublishers.get(publisher);
    if (decorated === undefined) {
      decorated = decorate(publisher, this.#publisherDecorators);
      this.#decoratedPublishers.set(publisher, decorated);
    }
    return decorated;
  }

  #fail(error: Error, what: string): void {
    this.logger.error({ err: error }, what);
    this.#failure ??= error;
    void this.close();
  }

  /** A subscription that ends on its own stops its handler; the router stops when none is left. */
  #subscriptionEnded(name: string): void {
    if (this.#state !== 'running') return;
    this.logger.info({ handler: name }, 'subscription ended');
    const anyLeft = [...this.#handlers.values()].some((r) => r.ended !== true);
    if (!anyLeft) void this.close();
  }

  async #close(timeoutMs: number): Promise<CloseReport> {
    const wasIdle = this.#state === 'idle';
    this.#state = 'closing';
    this.#running.reject(new ClosedError('Router'));
    const runners = [...this.#handlers.values()].flatMap((r) => (r.runner ? [r.runner] : []));
    for (const runner of runners) runner.stopIntake();
    // A referenced timer, unlike AbortSignal.timeout's, keeps the process alive until the deadline
    // even when the handlers being waited for hold no I/O of their own.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    try {
      await Promise.all(runners.map((runner) => runner.drain(deadline.signal, timeoutMs)));
      await Promise.all(runners.map((runner) => runner.endSubscription(deadline.signal)));
    } finally {
      clearTimeout(timer);
    }
    if (this.#closeTransports) await this.#closeOwnedTransports(wasIdle);
    for (const cleanup of this.#cleanups.splice(0).reverse()) {
      try {
        cleanup();
      } catch (error) {
        this.logger.warn({ err: toError(error) }, 'plugin cleanup failed');
      }
    }
    const report = sumReports(runners.map((runner) => runner.report()));
    this.#state = 'closed';
    this.#stopped.resolve();
    this.logger.info({ ...report }, 'router closed');
    return report;
  }

  async #closeOwnedTransports(wasIdle: boolean): Promise<void> {
    const subscribers = new Set<Subscriber>();
    const publishers = new Set<Publisher>();
    for (const { config } of this.#handlers.values()) {
      subscribers.add(wasIdle ? config.subscriber : this.#subscriber(config.subscriber));
      if (config.publisher) publishers.add(wasIdle ? config.publisher : this.#publisher(config.publisher));
    }
    const closeAll = async (transports: Set<{ close(): Promise<void> }>, what: string): Promise<void> => {
      const results = await Promise.allSettled([...transports].map((t) => t.close()));
      for (const result of results) {
        if (result.status === 'rejected') this.logger.warn({ err: toError(result.reason) }, `closing a ${what} failed`);
      }
    };
    await closeAll(subscribers, 'subscriber');
    await closeAll(publishers, 'publisher');
  }
}

function sumReports(reports: readonly CloseReport[]): CloseReport {
  let finished = 0;
  let nacked = 0;
  let uncommitted = 0;
  let deadlineReached = false;
  for (const report of reports) {
    finished += report.finished;
    nacked += report.nacked;
    uncommitted += report.uncommitted;
    deadlineReached ||= report.deadlineReached;
  }
  return { finished, nacked, uncommitted, deadlineReached };
}

function checkFunctions(issues: ConfigIssues, values: unknown, path: string): void {
  if (values === undefined) return;
  if (!Array.isArray(values)) {
    issues.add(path, 'must be an array of functions');
    return;
  }
  values.forEach((value, index) => {
    if (typeof value !== 'function') issues.add(`${path}[${index}]`, 'must be a function');
  });
}

function checkLogger(issues: ConfigIssues, logger: unknown): void {
  for (const method of ['debug', 'info', 'warn', 'error'] as const) {
    if (typeof (logger as Record<string, unknown> | null)?.[method] !== 'function') {
      issues.add(`logger.${method}`, 'must be a function (pass a pino-compatible logger)');
    }
  }
}

function validateHandler(config: HandlerConfig, existing: ReadonlyMap<string, Registered>): void {
  const issues = new ConfigIssues(`Router handler "${String(config?.name)}"`);
  if (typeof config !== 'object' || config === null) {
    issues.add('config', 'must be an object').throwIfAny();
  }
  const { name, subscribeTopic, subscriber, publishTopic, publisher, handle } = config;
  if (typeof name !== 'string' || name.length === 0) issues.add('name', 'must be a non-empty string');
  else if (existing.has(name)) issues.add('name', `a handler named "${name}" is already registered`);
  if (typeof subscribeTopic !== 'string' || subscribeTopic.length === 0) {
    issues.add('subscribeTopic', 'must be a non-empty string');
  }
  checkTransport(issues, subscriber, 'subscriber', 'subscribe');
  if (config.group !== undefined && (typeof config.group !== 'string' || config.group.length === 0)) {
    issues.add('group', 'must be a non-empty string when set');
  }
  if (typeof handle !== 'function') issues.add('handle', 'must be a function');
  if (publishTopic !== undefined) {
    if (typeof publishTopic !== 'string' || publishTopic.length === 0) {
      issues.add('publishTopic', 'must be a non-empty string when set');
    }
    if (publisher === undefined) issues.add('publisher', 'is required when publishTopic is set');
  }
  if (publisher !== undefined) {
    checkTransport(issues, publisher, 'publisher', 'publish');
    if (publishTopic === undefined) issues.add('publishTopic', 'is required when a publisher is set');
  }
  issues.integer(config.concurrency, 'concurrency', { min: 1, max: 10_000 });
  issues.integer(config.maxBuffered, 'maxBuffered', { min: 1, max: 1_000_000 });
  if (typeof config.orderBy !== 'function') issues.oneOf(config.orderBy, 'orderBy', ORDER_BY_VALUES);
  checkFunctions(issues, config.middleware, 'middleware');
  issues.throwIfAny();
}

function checkTransport(issues: ConfigIssues, transport: unknown, path: string, method: string): void {
  if (
    typeof transport !== 'object' ||
    transport === null ||
    typeof (transport as Record<string, unknown>)[method] !== 'function'
  ) {
    issues.add(path, `must be a ${path === 'subscriber' ? 'Subscriber' : 'Publisher'}`);
    return;
  }
  try {
    assertSpecVersion(transport as { specVersion?: unknown }, path);
  } catch (error) {
    issues.add(`${path}.specVersion`, toError(error).message);
  }
}
