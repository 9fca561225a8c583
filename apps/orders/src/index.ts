/**
 * @example/orders: an order service on @bus/cqrs: typed Avro events on the registry, per-aggregate
 * ordering, retries then a dead-letter topic, an HTTP endpoint and a projection answering queries.
 */
export { type OrdersAppOptions, type OrdersAppReport, placeAll, runOrdersApp, sampleOrder } from './app.js';
export { main } from './cli.js';
export { type HttpApi, type HttpApiOptions, type NewOrder, parseNewOrder, startHttpApi } from './http.js';
export { getOrder, postOrder } from './http-client.js';
export { formatMs, LatencyRecorder } from './latency.js';
export {
  defineOrderMessages,
  ORDER_EVENT_TYPES,
  type OrderMessages,
  type OrderPlaced,
  orderTopics,
  type PaymentMethod,
} from './messages.js';
export { PaymentGateway, PaymentProviderDownError } from './payments.js';
export { OrderProjection, type OrderStatus, type OrderView, type ProjectionStats } from './projection.js';
export { type OrderService, type OrderServiceMetrics, type OrderServiceOptions, startOrderService } from './service.js';
export { startTracing, type Tracing, type TracingOptions, tracingFromEnv } from './tracing.js';
export {
  LOCAL_KAFKA_BROKERS,
  LOCAL_REGISTRY_URL,
  openTransport,
  type Transport,
  type TransportSettings,
  transportSettings,
} from './transport.js';
export { waitUntil, WaitTimeoutError } from './wait.js';
