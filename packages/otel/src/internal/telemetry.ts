import {
  type Attributes,
  type Counter,
  createNoopMeter,
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  type Span,
  type Histogram,
  type Meter,
  type MeterProvider,
  type ObservableCounter,
  type ObservableUpDownCounter,
  metrics,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { type OtelOptions, type ResolvedOtelOptions, resolveOtelOptions } from '../options.js';

/** Name of the tracer and meter (the instrumentation scope). */
export const SCOPE_NAME = '@bus/otel';

/** Bucket boundaries the conventions advise for messaging durations, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** The API's no-op tracer provider: what the global proxy delegates to until an SDK registers one. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
const NOOP_METER = createNoopMeter();

/**
 * The slot on `globalThis` where `@opentelemetry/api` keeps what was registered (tracer and meter
 * providers, propagator, context manager, diag logger). Every 1.x copy of the API shares it: that is how
 * two copies in one process see one SDK. While it is absent, nothing was registered by anyone.
 */
const API_GLOBALS = Symbol.for('opentelemetry.js.api.1');

/** A span that records nothing, for when tracing is off. */
export const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** The instruments of one meter. */
export class Instruments {
  readonly meter: Meter;
  /** Whether the meter is the API's no-op one (no SDK): then recording is skipped altogether. */
  readonly noop: boolean;
  /** `messaging.client.sent.messages`: add with {@link Instruments.countSent}. */
  readonly sent: ObservableCounter;
  /** `messaging.client.consumed.messages`: add with {@link Instruments.countConsumed}. */
  readonly consumed: ObservableCounter;
  /** `messaging.client.operation.duration`, seconds. */
  readonly operationDuration: Histogram;
  /** `messaging.process.duration`, seconds. */
  readonly processDuration: Histogram;
  /** `<prefix>.handler.errors`. */
  readonly handlerErrors: Counter;
  /** `<prefix>.handler.retries`. */
  readonly retries: Counter;
  /** `<prefix>.messages.dead_lettered`. */
  readonly deadLettered: Counter;
  /** `<prefix>.messages.in_flight`: change with {@link Instruments.countInFlight}. */
  readonly inFlight: ObservableUpDownCounter;
  // The per-message counts are summed here and observed at each collection (the final one at shutdown
  // included, so exports stay exact): a synchronous add() hashes its attributes on every call, which
  // costs more than the rest of the instrumentation of a message. Keyed by attribute objects that the
  // callers cache, so a message costs one map update.
  readonly #sentCounts = new Map<Attributes, number>();
  readonly #consumedCounts = new Map<Attributes, number>();
  readonly #inFlightCounts = new Map<Attributes, number>();
  /** `<prefix>.consumer.errors`: crashes and failed background operations reported by transport events. */
  readonly consumerErrors: Counter;

  constructor(meter: Meter, p: string) {
    this.meter = meter;
    this.noop = meter === NOOP_METER;
    const m = meter;
    this.sent = m.createObservableCounter('messaging.client.sent.messages', {
      description: 'Messages a producer attempted to send.',
      unit: '{message}',
    });
    this.consumed = m.createObservableCounter('messaging.client.consumed.messages', {
      description: 'Messages delivered to a consumer.',
      unit: '{message}',
    });
    this.operationDuration = m.createHistogram('messaging.client.operation.duration', {
      description: 'Duration of a messaging operation (send, settle).',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.processDuration = m.createHistogram('messaging.process.duration', {
      description: 'Duration of processing one message: handler, forwarding and settlement.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.handlerErrors = m.createCounter(`${p}.handler.errors`, {
      description: 'Handler calls that failed (after in-process retries).',
      unit: '{error}',
    });
    this.retries = m.createCounter(`${p}.handler.retries`, {
      description: 'In-process retries of a handler.',
      unit: '{retry}',
    });
    this.deadLettered = m.createCounter(`${p}.messages.dead_lettered`, {
      description: 'Messages moved to a dead-letter topic.',
      unit: '{message}',
    });
    this.inFlight = m.createObservableUpDownCounter(`${p}.messages.in_flight`, {
      description: 'Messages delivered to a consumer and not settled yet.',
      unit: '{message}',
    });
    if (!this.noop) {
      // Registered once per meter: the callback reads this instance's maps.
      m.addBatchObservableCallback(
        (result) => {
          for (const [attributes, value] of this.#sentCounts) result.observe(this.sent, value, attributes);
          for (const [attributes, value] of this.#consumedCounts) result.observe(this.consumed, value, attributes);
          for (const [attributes, value] of this.#inFlightCounts) result.observe(this.inFlight, value, attributes);
        },
        [this.sent, this.consumed, this.inFlight],
      );
    }
    this.consumerErrors = m.createCounter(`${p}.consumer.errors`, {
      description: 'Consumer crashes and failed background operations (commits, ...).',
      unit: '{error}',
    });
  }

  /** Counts `n` messages sent with `attributes` (reuse the object: counts are keyed by it). */
  countSent(attributes: Attributes, n: number): void {
    bump(this.#sentCounts, attributes, n);
  }

  /** Counts one message delivered with `attributes` (reuse the object). */
  countConsumed(attributes: Attributes): void {
    bump(this.#consumedCounts, attributes, 1);
  }

  /** Changes the in-flight count of `attributes` (reuse the object) by `delta`. */
  countInFlight(attributes: Attributes, delta: number): void {
    bump(this.#inFlightCounts, attributes, delta);
  }
}

/** Adds `n` to the count of `attributes` (an object the caller reuses). */
function bump(counts: Map<Attributes, number>, attributes: Attributes, n: number): void {
  counts.set(attributes, (counts.get(attributes) ?? 0) + n);
}

/** The tracer and instruments behind one set of options. */
export class Telemetry {
  readonly options: ResolvedOtelOptions;
  readonly tracer: Tracer;
  /** Whether a provider was passed in the options: then something may record whatever the globals say. */
  readonly #explicit: boolean;
  #provider: MeterProvider | undefined;
  #instruments: Instruments | undefined;

  constructor(options: ResolvedOtelOptions) {
    this.options = options;
    this.#explicit = options.tracerProvider !== undefined || options.meterProvider !== undefined;
    // The API's global tracer is a proxy that follows the SDK registered later; its meter is not.
    this.tracer = (options.tracerProvider ?? trace).getTracer(SCOPE_NAME);
  }

  /**
   * Whether spans are recorded: a tracer provider was passed, or an SDK registered a global one. Checked
   * per message, so that without an SDK the instrumentation does no work at all, and an SDK registered
   * later still takes effect.
   */
  get tracingOn(): boolean {
    if (this.options.tracerProvider !== undefined) return true;
    const global = trace.getTracerProvider();
    return !(global instanceof ProxyTracerProvider) || global.getDelegate() !== NOOP_TRACER_PROVIDER;
  }

  /**
   * Whether anything is recorded at all (spans or metrics). Checked per message, so that an SDK
   * registered later takes effect at the next message. With no provider in the options and nothing
   * registered with the API (no SDK), it costs one property read.
   */
  get active(): boolean {
    if (!this.#explicit && (globalThis as Record<symbol, unknown>)[API_GLOBALS] === undefined) return false;
    return this.tracingOn || !this.metrics.noop;
  }

  /**
   * The instruments of the current meter provider: the one in the options, else the global one at the
   * time of the call, so an SDK registered after the instrumentation still gets the metrics.
   */
  get metrics(): Instruments {
    const provider = this.options.meterProvider ?? metrics.getMeterProvider();
    if (provider !== this.#provider || this.#instruments === undefined) {
      this.#provider = provider;
      this.#instruments = new Instruments(provider.getMeter(SCOPE_NAME), this.options.metricPrefix);
    }
    return this.#instruments;
  }
}

const byOptions = new WeakMap<OtelOptions, Telemetry>();
let defaults: Telemetry | undefined;

/**
 * The telemetry of `options`: one per options object (so instruments are created once), validated.
 * @throws {ConfigError} for invalid options.
 */
export function telemetryFor(options: OtelOptions | Telemetry | undefined, subject: string): Telemetry {
  if (options instanceof Telemetry) return options;
  if (options === undefined) {
    defaults ??= new Telemetry(resolveOtelOptions({}, subject));
    return defaults;
  }
  let telemetry = byOptions.get(options);
  if (telemetry === undefined) {
    telemetry = new Telemetry(resolveOtelOptions(options, subject));
    byOptions.set(options, telemetry);
  }
  return telemetry;
}

/** A stable, low-cardinality `error.type` for `error`: its bus `code`, else its class name. */
export function errorType(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  }
  return '_OTHER';
}
