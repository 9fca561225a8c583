import { ConfigIssues } from '@bus/core';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';

/** Which settlements get a span of their own: see {@link OtelOptions.settleSpans}. */
export type SettleSpans = 'nack' | 'all' | 'none';

/** Which attributes spans carry: see {@link OtelOptions.spanAttributes}. */
export type SpanAttributeLevel = 'recommended' | 'required';

/** How a process span relates to the span of the message's producer. */
export type ProducerContextMode = 'parent' | 'link';

/** Options shared by every entry point of `@bus/otel`. */
export interface OtelOptions {
  /** Where spans go. Default: the global tracer provider (`trace.setGlobalTracerProvider`, set by the SDK). */
  tracerProvider?: TracerProvider;
  /**
   * Where metrics go. Default: the global meter provider. Instruments are created when the instrumentation
   * is, so register the SDK first (`sdk.start()`), or pass the provider here.
   */
  meterProvider?: MeterProvider;
  /**
   * How a `process` span relates to the producer's `send` span, whose context travels in the message's
   * `traceparent` header:
   * - `'parent'` (default): the process span is its child (and links to it), so publish, process and
   *   every republish form one trace;
   * - `'link'`: the process span continues the consumer's current context and only links to the producer,
   *   as the conventions recommend when one operation handles messages of many traces.
   */
  producerContext?: ProducerContextMode;
  /** Prefix of the bus-specific metrics (`<prefix>.handler.errors`, ...). Default `bus`. */
  metricPrefix?: string;
  /**
   * Whether spans carry the message key (`messaging.kafka.message.key`). Default `true`; turn it off
   * when keys hold personal data.
   */
  recordKeys?: boolean;
  /**
   * Which attributes of the messaging conventions spans carry:
   * - `'recommended'` (default): the Required and Conditionally Required ones (system, destination,
   *   operation, consumer group, batch size, `error.type`) and the Recommended ones that describe the
   *   message: `messaging.message.id`, `messaging.kafka.message.key` (see `recordKeys`),
   *   `messaging.destination.partition.id`, `messaging.kafka.offset`, and `bus.handler.name`;
   * - `'required'`: only the Required and Conditionally Required ones, plus what cqrs/rpc headers say and
   *   `bus.delivery.attempt` on redeliveries. Each attribute costs the SDK and the OTLP exporter about
   *   0.5 µs per span: this is the cheaper setting for high-throughput consumers (docs/observability.md).
   */
  spanAttributes?: SpanAttributeLevel;
  /**
   * Which settlements get a `settle` span (`ack <topic>` / `nack <topic>`, CLIENT) under the process span:
   * - `'nack'` (default): only nacks, which make the transport deliver the message again;
   * - `'all'`: acks too (one more span per message: an ack is in-memory bookkeeping, the offset commit
   *   that follows is batched, and the process span already ends at the ack);
   * - `'none'`.
   */
  settleSpans?: SettleSpans;
}

const METRIC_PREFIX = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

/** Options with defaults applied. */
export interface ResolvedOtelOptions {
  readonly tracerProvider: TracerProvider | undefined;
  readonly meterProvider: MeterProvider | undefined;
  readonly producerContext: ProducerContextMode;
  readonly metricPrefix: string;
  readonly recordKeys: boolean;
  readonly spanAttributes: SpanAttributeLevel;
  readonly settleSpans: SettleSpans;
}

/**
 * Validates `options`, listing every problem at once.
 * @throws {ConfigError} for invalid options.
 */
export function resolveOtelOptions(options: OtelOptions = {}, subject = '@bus/otel'): ResolvedOtelOptions {
  const issues = new ConfigIssues(subject);
  if (typeof options !== 'object' || options === null) {
    issues.add('options', 'must be an object').throwIfAny();
  }
  issues.oneOf(options.producerContext, 'producerContext', ['parent', 'link']);
  if (
    options.metricPrefix !== undefined &&
    (typeof options.metricPrefix !== 'string' || !METRIC_PREFIX.test(options.metricPrefix))
  ) {
    issues.add('metricPrefix', 'must be lowercase dot-separated words (letters, digits, _), e.g. "bus" or "acme.bus"');
  }
  issues.oneOf(options.settleSpans, 'settleSpans', ['nack', 'all', 'none']);
  issues.oneOf(options.spanAttributes, 'spanAttributes', ['recommended', 'required']);
  if (options.recordKeys !== undefined && typeof options.recordKeys !== 'boolean') {
    issues.add('recordKeys', 'must be a boolean');
  }
  if (options.tracerProvider !== undefined && typeof options.tracerProvider?.getTracer !== 'function') {
    issues.add('tracerProvider', 'must be an OpenTelemetry TracerProvider (with getTracer)');
  }
  if (options.meterProvider !== undefined && typeof options.meterProvider?.getMeter !== 'function') {
    issues.add('meterProvider', 'must be an OpenTelemetry MeterProvider (with getMeter)');
  }
  issues.throwIfAny();
  return {
    tracerProvider: options.tracerProvider,
    meterProvider: options.meterProvider,
    producerContext: options.producerContext ?? 'parent',
    metricPrefix: options.metricPrefix ?? 'bus',
    recordKeys: options.recordKeys ?? true,
    spanAttributes: options.spanAttributes ?? 'recommended',
    settleSpans: options.settleSpans ?? 'nack',
  };
}
