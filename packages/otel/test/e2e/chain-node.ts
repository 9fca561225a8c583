// One process of the end-to-end chain, exporting spans and metrics over OTLP/HTTP to a real Jaeger:
//   ROLE=publish: publishes COUNT messages to FROM_TOPIC, then exits;
//   ROLE=relay:   a Router handler consumes FROM_TOPIC and returns one message per input to TO_TOPIC;
//   ROLE=sink:    a Router handler consumes FROM_TOPIC.
// relay and sink print "ready" once consuming, and exit after COUNT messages (closing the router, so
// every ack is done, and shutting the SDK down, so every span and the final metrics are exported).
import { createMessage, Router } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { instrumentPublisher, routerInstrumentation } from '@bus/otel';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const role = env('ROLE');
const otlp = env('OTLP_HTTP');
const brokers = env('BROKERS').split(',');
const count = Number(env('COUNT'));
const from = env('FROM_TOPIC');

const sdk = new NodeSDK({
  serviceName: env('SERVICE_NAME'),
  traceExporter: new OTLPTraceExporter({ url: `${otlp}/v1/traces` }),
  metricReaders: [
    new PeriodicExportingMetricReader({
      exporter: new OTLPMetricExporter({ url: `${otlp}/v1/metrics` }),
      exportIntervalMillis: 1_000,
    }),
  ],
  instrumentations: [],
  resourceDetectors: [],
});
sdk.start();

if (role === 'publish') {
  const publisher = instrumentPublisher(new KafkaPublisher({ brokers }));
  for (let i = 0; i < count; i++) {
    await publisher.publish(
      from,
      createMessage({ payload: new TextEncoder().encode(`order ${i}`), key: `order-${i}` }),
    );
  }
  await publisher.close();
} else {
  const router = new Router({ ...routerInstrumentation({ settleSpans: 'all' }) });
  let handled = 0;
  const done = Promise.withResolvers<void>();
  const onHandled = () => {
    handled++;
    if (handled === count) done.resolve();
  };
  const subscriber = new KafkaSubscriber({ brokers, fetchMaxWaitMs: 20 });
  if (role === 'relay') {
    router.addHandler({
      name: 'relay',
      subscribeTopic: from,
      subscriber,
      group: env('GROUP'),
      publishTopic: env('TO_TOPIC'),
      publisher: new KafkaPublisher({ brokers }),
      handle: (message) => {
        onHandled();
        return [createMessage({ payload: message.payload, key: message.key ?? 'none' })];
      },
    });
  } else {
    router.addConsumerHandler({
      name: 'sink',
      subscribeTopic: from,
      subscriber,
      group: env('GROUP'),
      handle: onHandled,
    });
  }
  const running = router.run();
  await router.running;
  process.stdout.write('ready\n');
  await done.promise;
  await router.close();
  await running;
}
await sdk.shutdown();
process.stdout.write('done\n');
