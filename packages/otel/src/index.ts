/**
 * @bus/otel: OpenTelemetry tracing and metrics for bus, on `@opentelemetry/api` only. Spans follow the
 * messaging semantic conventions (`send`, `process`, `settle`), trace context travels in W3C headers,
 * and metrics cover the convention's instruments plus bus-specific ones. Without an SDK every call is
 * a no-op. The Kafka consumer-lag gauge lives in `@bus/otel/kafka`.
 */
export { MESSAGING_SYSTEM, MessagingAttributes, SpanEvents } from './attributes.js';
export { recordDeadLetter, recordRetry } from './events.js';
export { headersGetter, headersSetter } from './headers.js';
export {
  type OtelOptions,
  type ProducerContextMode,
  type ResolvedOtelOptions,
  resolveOtelOptions,
  type SettleSpans,
  type SpanAttributeLevel,
} from './options.js';
export { instrumentPublisher } from './publisher.js';
export { type RouterInstrumentation, routerInstrumentation } from './router.js';
export { instrumentSubscriber } from './subscriber.js';
export { tracing } from './tracing.js';
