import {
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  trace,
  type Tracer,
  type UpDownCounter,
} from '@opentelemetry/api';
import { type OtelOptions, type ResolvedOtelOptions, resolveOtelOptions } from '../options.js';

/** Name of the tracer and meter (the instrumentation scope). */
export const SCOPE_NAME = '@bus/otel';

/** Bucket boundaries the conventions advise for messaging durations, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** The instruments of one meter. */
export class Instruments {
  readonly meter: Meter;
  /** `messaging.client.sent.messages`. */
  readonly sent: Counter;
  /** `messaging.client.consumed.messages`. */
  readonly consumed: Counter;
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
  /** `<prefix>.messages.in_flight`. */
  readonly inFlight: UpDownCounter;
  /** `<prefix>.consumer.errors`: crashes and failed background operations reported by transport events. */
  readonly consumerErrors: Counter;

  constructor(meter: Meter, p: string) {
    this.meter = meter;
    const m = meter;
    this.sent = m.createCounter('messaging.client.sent.messages', {
      description: 'Messages a producer attempted to send.',
      unit: '{message}',
    });
    this.consumed = m.createCounter('messaging.client.consumed.messages', {
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
    this.inFlight = m.createUpDownCounter(`${p}.messages.in_flight`, {
      description: 'Messages delivered to a consumer and not settled yet.',
      unit: '{message}',
    });
    this.consumerErrors = m.createCounter(`${p}.consumer.errors`, {
      description: 'Consumer crashes and failed background operations (commits, ...).',
      unit: '{error}',
    });
  }
}

/** The tracer and instruments behind one set of options. */
export class Telemetry {
  readonly options: ResolvedOtelOptions;
  readonly tracer: Tracer;
  #provider: MeterProvider | undefined;
  #instruments: Instruments | undefined;

  constructor(options: ResolvedOtelOptions) {
    this.options = options;
    // The API's global tracer is a proxy that follows the SDK registered later; its meter is not.
    this.tracer = (options.tracerProvider ?? trace).getTracer(SCOPE_NAME);
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
