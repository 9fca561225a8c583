import { type CodecContext, decodeWith, encodeWith } from '@bus/codecs';
import {
  assertSpecVersion,
  ClosedError,
  ConfigIssues,
  childLogger,
  type Logger,
  type Message,
  noopLogger,
  type Publisher,
  type ReceivedMessage,
  type Subscriber,
  kafkaPartitionForKey,
} from '@bus/core';
import { errorBody } from './error-reply.js';
import { RpcError } from './errors.js';
import { type CorrelationOptions, DEFAULT_CORRELATION_HEADERS, RpcHeaders, readCorrelationId } from './headers.js';
import { errorReply, NestKafkaHeaders, okReply, type ReplyParts, replyAddress } from './profiles.js';
import type { Route } from './route.js';

/** What a handler gets besides the request. */
export interface RpcContext {
  /** The request's correlation id. */
  readonly correlationId: string;
  /** Epoch ms after which the client stops waiting, when the client sent one. */
  readonly deadline: number | undefined;
  /** Aborted at the deadline and when the server closes. */
  readonly signal: AbortSignal;
  /** The request's headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** The request's header values that are not text (see core's `Message.binaryHeaders`). */
  readonly binaryHeaders: Readonly<Record<string, Uint8Array>> | undefined;
  /** The request's key. */
  readonly key: string | Uint8Array | undefined;
}

/** Answers requests of one route. Throwing sends an error reply with the error's `code`, message and `isRetryable`. */
export type RpcHandler<Req, Rep> = (request: Req, context: RpcContext) => Rep | Promise<Rep>;

/** Options of {@link RpcServer}. */
export interface RpcServerOptions {
  /** Publishes replies. The server never closes it. */
  publisher: Publisher;
  /** Reads requests. The server never closes it, only its own subscriptions. */
  subscriber: Subscriber;
  /** Consumer group of the servers of a service: its members share the requests. Default `rpc-server`. */
  group?: string;
  /** Requests handled at once, per route. Default 64. */
  concurrency?: number;
  /** How the correlation id of a request is found. */
  correlation?: CorrelationOptions;
  /**
   * Partition count of a reply topic, for requests that name a reply partition (Nest's clients read
   * only their assigned partitions, Spring's when their reply container has one assigned partition):
   * the reply gets a key that lands on that partition. Without it,
   * such replies are keyed by correlation id, which is right only for single-partition reply topics.
   */
  replyTopicPartitions?: (topic: string) => Promise<number>;
  /** Logger; default a no-op. */
  logger?: Logger;
}

/** Counters of an {@link RpcServer}. */
export interface RpcServerStats {
  /** Requests answered with a reply. */
  replied: number;
  /** Requests answered with an error reply. */
  failed: number;
  /** Requests dropped because their deadline had passed when read. */
  expired: number;
  /** Requests dropped for lack of a correlation id or of a reply-to topic. */
  invalid: number;
}

/** A key the Kafka default partitioner maps to `partition` of a `partitions`-partition topic. */
function keyForPartition(base: string, partition: number, partitions: number): string {
  if (partitions <= 1 || partition >= partitions) return base;
  for (let i = 0; ; i++) {
    const key = `${base}.${i}`;
    if (kafkaPartitionForKey(key, partitions) === partition) return key;
  }
}

/**
 * Serves routes: reads each route's request topic as a member of `group`, runs the handler, and
 * publishes the reply to every reply-to topic of the request before committing it. A request the
 * server could not answer (it closed, or publishing the reply failed) is not committed, so another
 * member answers it.
 */
export class RpcServer implements AsyncDisposable {
  readonly #publisher: Publisher;
  readonly #subscriber: Subscriber;
  readonly #group: string;
  readonly #concurrency: number;
  readonly #correlation: CorrelationOptions;
  readonly #logger: Logger;
  readonly #replyTopicPartitions: ((topic: string) => Promise<number>) | undefined;
  readonly #partitionCounts = new Map<string, Promise<number>>();
  readonly #stop = new AbortController();
  readonly #loops: Promise<void>[] = [];
  readonly #routes = new Set<string>();
  readonly #stats: RpcServerStats = { replied: 0, failed: 0, expired: 0, invalid: 0 };
  #closed = false;

  constructor(options: RpcServerOptions) {
    const issues = new ConfigIssues('RpcServer');
    issues.require(typeof options?.publisher?.publish === 'function', 'publisher', 'must be a Publisher');
    issues.require(typeof options?.subscriber?.subscribe === 'function', 'subscriber', 'must be a Subscriber');
    if (options?.group !== undefined && (typeof options.group !== 'string' || options.group === '')) {
      issues.add('group', 'must be a non-empty string');
    }
    issues.integer(options?.concurrency, 'concurrency', { min: 1, max: 100_000 });
    const headers = options?.correlation?.headers;
    if (headers !== undefined && (!Array.isArray(headers) || headers.some((h) => typeof h !== 'string' || h === ''))) {
      issues.add('correlation.headers', 'must be a list of non-empty header names');
    }
    issues.throwIfAny();
    assertSpecVersion(options.publisher, 'publisher');
    assertSpecVersion(options.subscriber, 'subscriber');
    this.#publisher = options.publisher;
    this.#subscriber = options.subscriber;
    this.#group = options.group ?? 'rpc-server';
    this.#concurrency = options.concurrency ?? 64;
    // Nest's correlation header is always understood, after the configured ones.
    const correlationHeaders = options.correlation?.headers ?? DEFAULT_CORRELATION_HEADERS;
    this.#correlation = { ...options.correlation, headers: [...correlationHeaders, NestKafkaHeaders.correlationId] };
    this.#replyTopicPartitions = options.replyTopicPartitions;
    this.#logger = childLogger(options.logger ?? noopLogger, { component: 'RpcServer', group: this.#group });
  }

  /** Counters since construction (a snapshot). */
  get stats(): RpcServerStats {
    return { ...this.#stats };
  }

  /** Starts serving `route` with `handler`. One handler per route; throws `RpcError` on a second. */
  handle<Req, Rep>(route: Route<Req, Rep>, handler: RpcHandler<Req, Rep>): this {
    if (this.#closed) throw new ClosedError('RpcServer');
    if (typeof handler !== 'function') throw new TypeError('handler must be a function');
    if (this.#routes.has(route.name)) {
      throw new RpcError(`Route "${route.name}" already has a handler`, { code: 'RPC_BAD_REQUEST', route: route.name });
    }
    this.#routes.add(route.name);
    this.#loops.push(this.#serve(route as Route<unknown, unknown>, handler as RpcHandler<unknown, unknown>));
    return this;
  }

  async #serve(route: Route<unknown, unknown>, handler: RpcHandler<unknown, unknown>): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    try {
      const requests = this.#subscriber.subscribe(route.topic, { group: this.#group, signal: this.#stop.signal });
      for await (const message of requests) {
        const task = this.#answer(route, handler, message).finally(() => inFlight.delete(task));
        inFlight.add(task);
        if (inFlight.size >= this.#concurrency) await Promise.race(inFlight);
      }
    } catch (error) {
      if (!this.#closed) this.#logger.error({ err: error, route: route.name }, 'request subscription failed');
    }
  }

  async #answer(route: Route<unknown, unknown>, handler: RpcHandler<unknown, unknown>, message: ReceivedMessage) {
    const address = replyAddress(message);
    // A Nest or Spring client matches on its kafka_correlationId, whatever other ids the request has.
    const correlationId = address.correlation?.id ?? readCorrelationId(message, this.#correlation);
    const replyTo = address.topics;
    if (correlationId === undefined || replyTo.length === 0) {
      this.#stats.invalid++;
      this.#logger.warn({ route: route.name, offset: message.offset }, 'request without correlation id or reply-to');
      message.ack();
      return;
    }
    const deadlineHeader = message.headers[RpcHeaders.deadline];
    const deadline = deadlineHeader === undefined ? undefined : Number(deadlineHeader);
    if (deadline !== undefined && Number.isFinite(deadline) && Date.now() >= deadline) {
      this.#stats.expired++;
      message.ack();
      return;
    }
    const signals = [this.#stop.signal];
    if (deadline !== undefined && Number.isFinite(deadline)) signals.push(AbortSignal.timeout(deadline - Date.now()));
    const signal = AbortSignal.any(signals);
    const ctx: CodecContext = { topic: message.topic, role: 'value', headers: message.headers };
    let reply: Message;
    try {
      const request = await decodeWith(route.request, message.payload, {
        ...ctx,
        partition: message.partition,
        offset: message.offset,
      });
      const value = await handler(request, {
        correlationId,
        deadline,
        signal,
        headers: message.headers,
        binaryHeaders: message.binaryHeaders,
        key: message.key,
      });
      if (this.#stop.signal.aborted) {
        message.nack();
        return;
      }
      const payload = await encodeWith(route.reply, value, { topic: replyTo[0], role: 'value' });
      reply = await this.#reply(correlationId, okReply(address, correlationId, payload), address.partition, replyTo);
      this.#stats.replied++;
    } catch (error) {
      // Closing mid-request means no answer: another member gets the request after the rebalance.
      if (this.#stop.signal.aborted) {
        message.nack();
        return;
      }
      const body = errorBody(error);
      reply = await this.#reply(correlationId, errorReply(address, correlationId, body), address.partition, replyTo);
      this.#stats.failed++;
    }
    try {
      await Promise.all(replyTo.map((topic) => this.#publisher.publish(topic, reply)));
      message.ack();
    } catch (error) {
      this.#logger.warn(
        { err: error, route: route.name },
        'reply could not be published; the request will be redelivered',
      );
      message.nack({ delayMs: 100, reason: 'reply publish failed' });
    }
  }

  async #reply(
    correlationId: string,
    reply: ReplyParts,
    partition: number | undefined,
    topics: readonly string[],
  ): Promise<Message> {
    let key = correlationId;
    if (partition !== undefined && this.#replyTopicPartitions !== undefined && topics[0] !== undefined) {
      key = keyForPartition(correlationId, partition, await this.#partitionsOf(topics[0]));
    }
    const message = { id: crypto.randomUUID(), payload: reply.payload, key, headers: reply.headers };
    return reply.binaryHeaders === undefined ? message : { ...message, binaryHeaders: reply.binaryHeaders };
  }

  #partitionsOf(topic: string): Promise<number> {
    let count = this.#partitionCounts.get(topic);
    if (count === undefined) {
      count = (this.#replyTopicPartitions as (topic: string) => Promise<number>)(topic);
      count.catch(() => this.#partitionCounts.delete(topic));
      this.#partitionCounts.set(topic, count);
    }
    return count;
  }

  /**
   * Stops reading requests and aborts the handlers' signals. Requests not answered yet are not
   * committed, so another member of the group answers them. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stop.abort(new ClosedError('RpcServer'));
    await Promise.all(this.#loops);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
