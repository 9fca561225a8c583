import { decodeWith, encodeWith } from '@bus/codecs';
import {
  assertSpecVersion,
  ClosedError,
  ConfigIssues,
  childLogger,
  type Logger,
  noopLogger,
  type Publisher,
  type ReceivedMessage,
  type Subscriber,
  topicNameProblem,
} from '@bus/core';
import { AbortError, RpcError, RpcTimeoutError } from './errors.js';
import { remoteErrorFrom, textOf } from './error-reply.js';
import { type RpcProfile, readReplyHeaders, requestHeaders } from './profiles.js';
import type { Route } from './route.js';

/** Options of {@link RpcClient}. */
export interface RpcClientOptions {
  /** Publishes requests. The client never closes it. */
  publisher: Publisher;
  /** Reads replies, in a group of its own. The client never closes it, only its own subscription. */
  subscriber: Subscriber;
  /** This instance's reply topic. Default: `<replyTopicPrefix>.<random uuid>`, unique to the instance. */
  replyTopic?: string;
  /** Prefix of the generated reply topic. Default `rpc.replies`. */
  replyTopicPrefix?: string;
  /**
   * Creates the reply topic before the first request (e.g. with `KafkaAdmin.ensureTopics`). Without
   * it, the topic must exist or the broker must create topics on subscribe.
   */
  createReplyTopic?: (topic: string) => Promise<void>;
  /**
   * Deletes the reply topic when the client closes (e.g. `(topic) => admin.deleteTopics([topic])`),
   * so short-lived clients leave no topics behind. Only a generated reply topic is deleted, after the
   * client has left its group: the topic is this instance's alone. A configured `replyTopic` is
   * never deleted (giving both is a configuration error). A failed deletion is logged, not thrown.
   */
  deleteReplyTopic?: (topic: string) => Promise<void>;
  /** Keeps the generated reply topic on close even though `deleteReplyTopic` is given. Default `false`. */
  keepReplyTopic?: boolean;
  /** Default timeout of a request, in ms. Default 30000. */
  timeoutMs?: number;
  /**
   * Wire format of requests: `bus` (default); `nest` to call NestJS `@MessagePattern` handlers (the
   * route's topic is the pattern); `spring` to call Spring Kafka `@KafkaListener` + `@SendTo`
   * listeners (binary `kafka_correlationId`). Replies of every format are understood.
   */
  profile?: RpcProfile;
  /** Logger; default a no-op. */
  logger?: Logger;
}

/** Options of {@link RpcClient.request}. */
export interface RequestOptions {
  /** Give up after this long with `RpcTimeoutError`; also sent to the server as the deadline. */
  timeoutMs?: number;
  /** Aborting rejects the request with `AbortError`. */
  signal?: AbortSignal;
  /** Record key of the request (partitioning). */
  key?: string | Uint8Array;
  /** Extra headers of the request. */
  headers?: Readonly<Record<string, string>>;
  /** Extra reply-to topics besides this client's own (their readers get the reply too). */
  alsoReplyTo?: readonly string[];
}

/** Counters of an {@link RpcClient}. */
export interface RpcClientStats {
  /** Requests sent. */
  sent: number;
  /** Replies that resolved or rejected a pending request. */
  matched: number;
  /** Replies read that were for no pending request (late, or for another client): dropped undecoded. */
  dropped: number;
  /** Requests that timed out. */
  timedOut: number;
}

interface Pending {
  readonly route: Route<unknown, unknown>;
  readonly correlationId: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * Sends typed requests and waits for their replies. Each instance reads replies from its own reply
 * topic in a consumer group of its own, so no reply is shared with, or stolen by, another client.
 */
export class RpcClient implements AsyncDisposable {
  /** This instance's reply topic. */
  readonly replyTopic: string;
  /** This instance's consumer group on the reply topic. */
  readonly group: string;
  readonly #publisher: Publisher;
  readonly #subscriber: Subscriber;
  readonly #createReplyTopic: ((topic: string) => Promise<void>) | undefined;
  readonly #deleteReplyTopic: ((topic: string) => Promise<void>) | undefined;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #profile: RpcProfile;
  readonly #pending = new Map<string, Pending>();
  readonly #stop = new AbortController();
  readonly #stats: RpcClientStats = { sent: 0, matched: 0, dropped: 0, timedOut: 0 };
  #started: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Whether a start failed: the reply topic may exist even so, and close() still deletes it. */
  #createFailed = false;

  constructor(options: RpcClientOptions) {
    const issues = new ConfigIssues('RpcClient');
    issues.require(typeof options?.publisher?.publish === 'function', 'publisher', 'must be a Publisher');
    issues.require(typeof options?.subscriber?.subscribe === 'function', 'subscriber', 'must be a Subscriber');
    const instance = crypto.randomUUID();
    const replyTopic = options?.replyTopic ?? `${options?.replyTopicPrefix ?? 'rpc.replies'}.${instance}`;
    const problem = topicNameProblem(replyTopic);
    if (problem !== undefined)
      issues.add(options?.replyTopic === undefined ? 'replyTopicPrefix' : 'replyTopic', problem);
    if (replyTopic.includes(',')) issues.add('replyTopic', 'must not contain a comma');
    issues.integer(options?.timeoutMs, 'timeoutMs', { min: 1, max: 2 ** 31 - 1 });
    issues.oneOf(options?.profile, 'profile', ['bus', 'nest', 'spring']);
    if (options?.createReplyTopic !== undefined && typeof options.createReplyTopic !== 'function') {
      issues.add('createReplyTopic', 'must be a function');
    }
    if (options?.deleteReplyTopic !== undefined) {
      if (typeof options.deleteReplyTopic !== 'function') issues.add('deleteReplyTopic', 'must be a function');
      else if (options.replyTopic !== undefined) {
        issues.add('deleteReplyTopic', 'a configured replyTopic is never deleted: leave deleteReplyTopic out');
      }
    }
    if (options?.keepReplyTopic !== undefined && typeof options.keepReplyTopic !== 'boolean') {
      issues.add('keepReplyTopic', 'must be a boolean');
    }
    issues.throwIfAny();
    assertSpecVersion(options.publisher, 'publisher');
    assertSpecVersion(options.subscriber, 'subscriber');
    this.#publisher = options.publisher;
    this.#subscriber = options.subscriber;
    this.#createReplyTopic = options.createReplyTopic;
    this.#deleteReplyTopic = options.keepReplyTopic === true ? undefined : options.deleteReplyTopic;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#profile = options.profile ?? 'bus';
    this.replyTopic = replyTopic;
    this.group = `rpc-client.${instance}`;
    this.#logger = childLogger(options.logger ?? noopLogger, { component: 'RpcClient', replyTopic });
  }

  /** Counters since construction (a snapshot). */
  get stats(): RpcClientStats {
    return { ...this.#stats };
  }

  /** Requests waiting for a reply. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Creates the reply topic if configured to and starts reading replies. `request` calls it; call it
   * ahead to take the group join off the first request's latency.
   */
  start(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError('RpcClient'));
    this.#started ??= (async () => {
      if (this.#createReplyTopic !== undefined) await this.#createReplyTopic(this.replyTopic);
      this.#loop = this.#readReplies();
    })().catch((error: unknown) => {
      // A failed creation (a broker hiccup) fails the requests waiting on it; the next one tries again.
      this.#started = undefined;
      this.#createFailed = true;
      throw error;
    });
    return this.#started;
  }

  /**
   * Sends `value` on `route` and resolves with the decoded reply. Rejects with `RpcTimeoutError`
   * after `timeoutMs`, `AbortError` when `signal` aborts, `RemoteError` when the handler failed,
   * `ClosedError` when the client closes first.
   */
  async request<Req, Rep>(route: Route<Req, Rep>, value: Req, options: RequestOptions = {}): Promise<Rep> {
    const issues = new ConfigIssues('request');
    issues.integer(options.timeoutMs, 'timeoutMs', { min: 1, max: 2 ** 31 - 1 });
    for (const [i, topic] of (options.alsoReplyTo ?? []).entries()) {
      const problem = topicNameProblem(topic);
      if (problem !== undefined) issues.add(`alsoReplyTo[${i}]`, problem);
    }
    issues.throwIfAny();
    if (this.#closed) throw new ClosedError('RpcClient');
    const signal = options.signal;
    if (signal?.aborted) throw new AbortError(route.name, undefined, signal.reason);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const correlationId = crypto.randomUUID();
    const reply = this.#await(route as Route<unknown, unknown>, correlationId, timeoutMs, signal);
    // It may reject (timeout, abort, close) while the request is still being sent: handled below.
    reply.catch(() => {});
    try {
      await this.start();
      const payload = await encodeWith(route.request, value, { topic: route.topic, role: 'value' });
      const replyTo = [this.replyTopic, ...(options.alsoReplyTo ?? [])];
      const own = requestHeaders(this.#profile, correlationId, replyTo, deadline);
      const headers = { ...options.headers, ...own.headers };
      // The profile's binary headers win over caller headers of the same name.
      for (const name in own.binaryHeaders) delete headers[name];
      await this.#publisher.publish(route.topic, {
        id: correlationId,
        payload,
        ...(options.key === undefined ? {} : { key: options.key }),
        headers,
        ...(own.binaryHeaders === undefined ? {} : { binaryHeaders: own.binaryHeaders }),
      });
      this.#stats.sent++;
    } catch (error) {
      this.#settle(correlationId)?.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return (await reply) as Rep;
  }

  #await(
    route: Route<unknown, unknown>,
    correlationId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = () =>
        this.#settle(correlationId)?.reject(new AbortError(route.name, correlationId, signal?.reason));
      const timer = setTimeout(() => {
        this.#stats.timedOut++;
        this.#settle(correlationId)?.reject(new RpcTimeoutError(route.name, correlationId, timeoutMs));
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.#pending.set(correlationId, {
        route,
        correlationId,
        resolve: (value) => {
          done();
          resolve(value);
        },
        reject: (error) => {
          done();
          reject(error);
        },
      });
    });
  }

  #settle(correlationId: string): Pending | undefined {
    const pending = this.#pending.get(correlationId);
    this.#pending.delete(correlationId);
    return pending;
  }

  async #readReplies(): Promise<void> {
    try {
      const replies = this.#subscriber.subscribe(this.replyTopic, { group: this.group, signal: this.#stop.signal });
      for await (const message of replies) {
        message.ack();
        void this.#onReply(message);
      }
    } catch (error) {
      if (this.#closed) return;
      this.#logger.error({ err: error }, 'reply subscription failed; failing pending requests');
      this.#failAll(new RpcError('The reply subscription failed', { code: 'RPC_CLOSED', cause: error }));
    }
  }

  async #onReply(message: ReceivedMessage): Promise<void> {
    const reply = readReplyHeaders(message);
    // Checked before decoding: a reply for another request costs no decode.
    const pending = reply.correlationId === undefined ? undefined : this.#settle(reply.correlationId);
    if (pending === undefined) {
      this.#stats.dropped++;
      return;
    }
    this.#stats.matched++;
    const { route } = pending;
    if (reply.error !== undefined) {
      const text = reply.error.text ?? textOf(message.payload);
      pending.reject(remoteErrorFrom(text, reply.error.code, route.name, pending.correlationId));
      return;
    }
    try {
      const ctx = {
        topic: message.topic,
        role: 'value' as const,
        headers: message.headers,
        partition: message.partition,
        offset: message.offset,
      };
      pending.resolve(await decodeWith(route.reply, message.payload, ctx));
    } catch (error) {
      pending.reject(
        new RpcError(`Reply to "${route.name}" could not be decoded`, {
          code: 'RPC_BAD_REPLY',
          route: route.name,
          correlationId: pending.correlationId,
          cause: error,
        }),
      );
    }
  }

  #failAll(error: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const pending of all) pending.reject(error);
  }

  /**
   * Fails every pending request with `ClosedError` at once, then ends the reply subscription and,
   * with `deleteReplyTopic`, deletes the generated reply topic. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#failAll(new ClosedError('RpcClient'));
    this.#stop.abort();
    const started = this.#started;
    await started?.catch(() => {});
    await this.#loop;
    // Only once the group was left: a member still fetching could bring the topic back.
    if ((started !== undefined || this.#createFailed) && this.#deleteReplyTopic !== undefined) {
      try {
        await this.#deleteReplyTopic(this.replyTopic);
      } catch (error) {
        this.#logger.warn({ err: error }, 'could not delete the reply topic');
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
