import type { Message, ReceivedMessage } from '@bus/core';
import { type Attributes, type Context, type Span, SpanStatusCode } from '@opentelemetry/api';
import { errorType, type Telemetry } from './telemetry.js';

/** One message being processed: its `process` span, from the handler's start to the settlement. */
export interface ProcessRecord {
  readonly telemetry: Telemetry;
  readonly span: Span;
  /** The context with `span` active: the parent of settle spans and of forwarded messages' send spans. */
  readonly context: Context;
  /** `performance.now()` at the start. */
  readonly startedAt: number;
  /** Attributes of the process metrics. */
  readonly metricAttributes: Attributes;
  /** `error.type` once the handler failed. */
  failed: string | undefined;
  ended: boolean;
  /** Whether the record ends at the settlement (after the forwarding), not when the handler returns. */
  readonly endsAtSettlement: boolean;
  /** The first message the handler returned, while its forwarding has not read its context. */
  output: Message | undefined;
}

/** Process records of messages that did not come through an instrumented subscriber. */
const processes = new WeakMap<ReceivedMessage, ProcessRecord>();

/**
 * The process context of the handler call a message was returned from, so that the send span of its
 * forwarding (which the router does after the handler returned, outside its async context) is a child
 * of that process span. Keyed by the first message a handler returned (the router forwards them in one
 * call). A plain map, emptied when the forwarding reads it or the process ends: a WeakMap entry per
 * message cost more than the rest of our work for it (ephemeron tables grow until the next GC).
 */
const outputs = new Map<Message, Context>();

/** The same, for records that end before the forwarding (no instrumented subscriber): left to the GC. */
const orphanOutputs = new WeakMap<Message, Context>();

/** Messages an instrumented subscriber handed out carry their record themselves (no map lookup). */
export const PROCESS: unique symbol = Symbol('bus.otel.process');

/** A message handed out by an instrumented subscriber. */
export interface ProcessHolder {
  [PROCESS]: ProcessRecord | undefined;
}

export function isProcessHolder(message: ReceivedMessage): message is ReceivedMessage & ProcessHolder {
  return PROCESS in message;
}

export function setProcess(message: ReceivedMessage, record: ProcessRecord): void {
  if (isProcessHolder(message)) message[PROCESS] = record;
  else processes.set(message, record);
}

export function processOf(message: ReceivedMessage): ProcessRecord | undefined {
  return isProcessHolder(message) ? message[PROCESS] : processes.get(message);
}

/** Remembers the process context for the forwarding of what a handler returned. */
export function markOutputs(output: unknown, record: ProcessRecord): void {
  if (!Array.isArray(output) || output.length === 0) return;
  const first: unknown = output[0];
  if (first === null || typeof first !== 'object') return;
  if (record.endsAtSettlement) {
    outputs.set(first as Message, record.context);
    record.output = first as Message;
  } else orphanOutputs.set(first as Message, record.context);
}

/** The process context `message` was returned under, if it was; read once, by the forwarding's publish. */
export function takeOutputContext(message: Message | undefined): Context | undefined {
  if (message === undefined) return undefined;
  const context = outputs.get(message);
  if (context === undefined) return orphanOutputs.get(message);
  outputs.delete(message);
  return context;
}

/** Records a handler failure on the process span and in `<prefix>.handler.errors`. */
export function failProcess(record: ProcessRecord, error: unknown): void {
  const type = errorType(error);
  record.failed = type;
  const span = record.span;
  if (span.isRecording()) {
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    span.setAttribute('error.type', type);
  }
  const instruments = record.telemetry.metrics;
  if (!instruments.noop) instruments.handlerErrors.add(1, { ...record.metricAttributes, 'error.type': type });
}

/** Ends the process span once, recording `messaging.process.duration`. */
export function endProcess(record: ProcessRecord): void {
  if (record.ended) return;
  record.ended = true;
  if (record.output !== undefined) {
    // Returned but never forwarded (the forwarding failed, or the message was abandoned).
    outputs.delete(record.output);
    record.output = undefined;
  }
  record.span.end();
  const instruments = record.telemetry.metrics;
  if (instruments.noop) return;
  const seconds = (performance.now() - record.startedAt) / 1000;
  const attributes =
    record.failed === undefined ? record.metricAttributes : { ...record.metricAttributes, 'error.type': record.failed };
  instruments.processDuration.record(seconds, attributes);
}
