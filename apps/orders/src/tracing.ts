import { type RouterInstrumentation, routerInstrumentation } from '@bus/otel';
import { NodeSDK } from '@opentelemetry/sdk-node';

/** The OpenTelemetry SDK of the process and the bus instrumentation that reports to it. */
export interface Tracing {
  /** Middleware and decorators for the service's routers and publishers (`@bus/otel`). */
  readonly instrumentation: RouterInstrumentation;
  /** Where spans go, for the app's output. */
  readonly description: string;
  /** Flushes the spans still buffered and stops the SDK. */
  shutdown(): Promise<void>;
}

/** Options of {@link startTracing}. */
export interface TracingOptions {
  /** `service.name` of the spans. */
  serviceName: string;
  /** Span processors; default: the OTLP exporter configured from the `OTEL_EXPORTER_OTLP_*` variables. */
  spanProcessors?: NonNullable<ConstructorParameters<typeof NodeSDK>[0]>['spanProcessors'];
  /** Detect host, process and OS attributes for the resource. Default true; spans wait for the detection. */
  detectResources?: boolean;
}

/**
 * Starts the OpenTelemetry Node SDK (W3C propagation, AsyncLocalStorage context) and returns the bus
 * instrumentation. Without `spanProcessors`, spans are batched to the OTLP endpoint the standard
 * environment variables name (`OTEL_EXPORTER_OTLP_ENDPOINT`, http/protobuf by default). `@bus/otel`'s metrics
 * are exported too when `OTEL_METRICS_EXPORTER` is set.
 */
export function startTracing(options: TracingOptions): Tracing {
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
    ...(options.detectResources === false ? { autoDetectResources: false } : {}),
    // Traces only, unless metrics are asked for by name (`OTEL_METRICS_EXPORTER=otlp`): the SDK's default
    // would also push metrics and logs to the endpoint, which a tracing backend (Jaeger) does not take.
    ...(process.env.OTEL_METRICS_EXPORTER ? {} : { metricReaders: [] }),
    logRecordProcessors: [],
  });
  sdk.start();
  const endpoint = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  return {
    instrumentation: routerInstrumentation(),
    description: options.spanProcessors ? 'the configured span processors' : `OTLP at ${endpoint}`,
    shutdown: () => sdk.shutdown(),
  };
}

/**
 * {@link startTracing} when `OTEL_EXPORTER_OTLP_ENDPOINT` (or its traces variant) is set, else `undefined`.
 * `OTEL_SERVICE_NAME`, when set, names the service instead of `serviceName`.
 */
export function tracingFromEnv(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  return startTracing({ serviceName: env.OTEL_SERVICE_NAME?.trim() || serviceName });
}
