/**
 * @bus/otel/kafka: what needs `@bus/kafka`, kept apart so the main entry stays transport-free —
 * the consumer-lag observable gauge fed by `KafkaAdmin.consumerLag`.
 */
export {
  type ConsumerLagGauge,
  type ConsumerLagOptions,
  consumerLagGauge,
  type LagTarget,
} from './consumer-lag.js';
