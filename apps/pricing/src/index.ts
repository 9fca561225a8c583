/** @example/pricing: a request/reply pricing service and its typed client on @bus/rpc. */
export { main } from './cli.js';
export { type PricingAppOptions, type PricingAppReport, runPricingApp } from './app.js';
export { quote, SKUS, UnknownSkuError } from './catalog.js';
export { PricingClient, type PricingClientOptions } from './client.js';
export { formatMs, LatencyRecorder } from './latency.js';
export { QuoteReply, QuoteRequest, quoteRoute } from './route.js';
export { type PricingServiceOptions, startPricingService } from './service.js';
export { openTransport, type Transport, type TransportSettings, transportSettings } from './transport.js';
