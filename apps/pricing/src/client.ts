import type { Publisher, Subscriber } from '@bus/core';
import { RpcClient } from '@bus/rpc';
import { type QuoteReply, type QuoteRequest, quoteRoute } from './route.js';

/** Options of {@link PricingClient}. */
export interface PricingClientOptions {
  publisher: Publisher;
  subscriber: Subscriber;
  /** Topic prefix, as in {@link quoteRoute}. Default `shop`. */
  prefix?: string;
  /** Creates this client's reply topic (on Kafka: `admin.ensureTopics`). */
  createReplyTopic?: (topic: string) => Promise<void>;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
}

/** A typed caller of the pricing service. Errors arrive as `RemoteError` (`UNKNOWN_SKU`) or `RpcTimeoutError`. */
export class PricingClient implements AsyncDisposable {
  readonly #rpc: RpcClient;
  readonly #route: ReturnType<typeof quoteRoute>;
  readonly #timeoutMs: number;

  constructor(options: PricingClientOptions) {
    const prefix = options.prefix ?? 'shop';
    this.#route = quoteRoute(prefix);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#rpc = new RpcClient({
      publisher: options.publisher,
      subscriber: options.subscriber,
      replyTopicPrefix: `${prefix}.pricing.replies`,
      ...(options.createReplyTopic ? { createReplyTopic: options.createReplyTopic } : {}),
    });
  }

  /** This client's reply topic. */
  get replyTopic(): string {
    return this.#rpc.replyTopic;
  }

  /** Joins the reply topic ahead of the first request, so that one is not slower. */
  start(): Promise<void> {
    return this.#rpc.start();
  }

  /** Asks for a quote. */
  quote(request: QuoteRequest, options: { signal?: AbortSignal } = {}): Promise<QuoteReply> {
    return this.#rpc.request(this.#route, request, { timeoutMs: this.#timeoutMs, ...options });
  }

  close(): Promise<void> {
    return this.#rpc.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
