import type { Middleware, PublisherDecorator, SubscriberDecorator } from '@bus/core';
import { telemetryFor } from './internal/telemetry.js';
import type { OtelOptions } from './options.js';
import { instrumentPublisherWith } from './publisher.js';
import { instrumentSubscriberWith } from './subscriber.js';
import { tracingWith } from './tracing.js';

/** Router options that instrument every handler, subscriber and forwarding publisher of a router. */
export interface RouterInstrumentation {
  /** `[tracing()]`: put it first in the router's `middleware`. */
  readonly middleware: readonly Middleware[];
  /** `[instrumentPublisher]`, for the publishers the router forwards through. */
  readonly publisherDecorators: readonly PublisherDecorator[];
  /** `[instrumentSubscriber]`, for every subscriber of the router. */
  readonly subscriberDecorators: readonly SubscriberDecorator[];
  /**
   * Instruments a publisher the router does not forward through (a dead-letter or retry-topic
   * publisher, one used inside a handler) with the same options.
   */
  readonly instrumentPublisher: PublisherDecorator;
}

/**
 * Everything to instrument a `Router` at once, sharing one set of options:
 * `new Router({ ...routerInstrumentation(), logger })`, or merge its arrays with your own (list
 * `middleware` first so the tracing sees the final outcome).
 * @throws {ConfigError} for invalid options.
 */
export function routerInstrumentation(options?: OtelOptions): RouterInstrumentation {
  const telemetry = telemetryFor(options, 'routerInstrumentation');
  const instrumentPublisher: PublisherDecorator = (publisher) => instrumentPublisherWith(publisher, telemetry);
  return {
    middleware: [tracingWith(telemetry)],
    publisherDecorators: [instrumentPublisher],
    subscriberDecorators: [(subscriber) => instrumentSubscriberWith(subscriber, telemetry)],
    instrumentPublisher,
  };
}
