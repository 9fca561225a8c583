import type { NackOptions, ReceivedMessage, Settlement } from '@bus/core';
import { type Attributes, type Context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { headersGetter } from '../headers.js';
import { endProcess, PROCESS, type ProcessHolder, type ProcessRecord } from './process-state.js';
import { errorType, type Telemetry } from './telemetry.js';

/**
 * A received message as an instrumented subscriber hands it out: the transport's message behind the
 * same interface, which also sees the settlement (for settle spans, in-flight and the end of the
 * process span). A class with plain getters, not a Proxy: this runs for every message.
 */
export class InstrumentedMessage implements ReceivedMessage, ProcessHolder {
  readonly #inner: ReceivedMessage;
  readonly #telemetry: Telemetry;
  readonly #metricAttributes: Attributes;
  #producer: Context | undefined;
  [PROCESS]: ProcessRecord | undefined = undefined;

  constructor(inner: ReceivedMessage, telemetry: Telemetry, metricAttributes: Attributes) {
    this.#inner = inner;
    this.#telemetry = telemetry;
    this.#metricAttributes = metricAttributes;
  }

  get id(): string {
    return this.#inner.id;
  }
  get payload(): Uint8Array {
    return this.#inner.payload;
  }
  get headers(): Readonly<Record<string, string>> {
    return this.#inner.headers;
  }
  // Optional fields as getters: `undefined` when the transport's message has none.
  get binaryHeaders(): Readonly<Record<string, Uint8Array>> {
    return this.#inner.binaryHeaders as Readonly<Record<string, Uint8Array>>;
  }
  get key(): string | Uint8Array {
    return this.#inner.key as string | Uint8Array;
  }
  get timestamp(): number {
    return this.#inner.timestamp as number;
  }
  get topic(): string {
    return this.#inner.topic;
  }
  get partition(): number {
    return this.#inner.partition;
  }
  get offset(): number {
    return this.#inner.offset;
  }
  get deliveryAttempt(): number {
    return this.#inner.deliveryAttempt;
  }
  get settlement(): Settlement {
    return this.#inner.settlement;
  }

  /** The producer's context from the headers, extracted once. */
  get producerContext(): Context {
    this.#producer ??= propagation.extract(ROOT_CONTEXT, this.#inner.headers, headersGetter);
    return this.#producer;
  }

  ack(): boolean {
    const took = this.#inner.ack();
    if (took) this.#settled('ack', undefined);
    return took;
  }

  nack(options?: NackOptions): boolean {
    const took = this.#inner.nack(options);
    if (took) this.#settled('nack', options?.reason);
    return took;
  }

  #settled(operation: 'ack' | 'nack', reason: string | Error | undefined): void {
    const telemetry = this.#telemetry;
    const instruments = telemetry.metrics;
    if (!instruments.noop) instruments.countInFlight(this.#metricAttributes, -1);
    const record = this[PROCESS];
    const settleSpans = telemetry.options.settleSpans;
    if ((settleSpans === 'all' || (settleSpans === 'nack' && operation === 'nack')) && telemetry.tracingOn) {
      const parent = record?.context ?? this.producerContext;
      const span = telemetry.tracer.startSpan(`${operation} ${this.topic}`, { kind: SpanKind.CLIENT }, parent);
      if (span.isRecording()) {
        span.setAttributes({
          'messaging.system': 'kafka',
          'messaging.destination.name': this.topic,
          'messaging.destination.partition.id': String(this.partition),
          'messaging.kafka.offset': this.offset,
          'messaging.message.id': this.id,
          'messaging.operation.type': 'settle',
          'messaging.operation.name': operation,
        });
        if (operation === 'nack' && reason !== undefined) {
          span.setAttribute('error.type', reason instanceof Error ? errorType(reason) : '_OTHER');
          span.setStatus({ code: SpanStatusCode.ERROR, message: reason instanceof Error ? reason.message : reason });
        }
      }
      span.end();
    }
    if (record !== undefined) {
      if (operation === 'nack' && record.failed === undefined) {
        // Nacked without a handler failure: a drain deadline, an abandoned lane, ...
        record.failed = reason instanceof Error ? errorType(reason) : 'nacked';
        if (record.span.isRecording()) {
          record.span.setStatus({
            code: SpanStatusCode.ERROR,
            message: reason instanceof Error ? reason.message : (reason ?? 'nacked'),
          });
          record.span.setAttribute('error.type', record.failed);
        }
      }
      endProcess(record);
    }
  }
}
