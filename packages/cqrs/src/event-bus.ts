import type { Publisher } from '@bus/core';
import { type BusOptions, checkBusOptions, type PublishOptions } from './bus-options.js';
import type { AnyNewEvent } from './definition.js';
import type { Envelope } from './envelope.js';
import { assertDraft, byTopic, outgoing, settleAll } from './internal/outgoing.js';
import type { TopicStrategy } from './topics.js';

/**
 * Publishes typed events as CloudEvents: each event's data encoded by its definition's codec, the
 * envelope in `ce_*` headers, keyed by its aggregate id, to the topic the strategy names.
 * @example
 * const events = new EventBus({ publisher, topics: topics.stream('shop'), source: 'urn:shop:orders' });
 * await events.publish(OrderPlaced.create({ total: 9.5 }, { aggregateId: 'order-1' }));
 */
export class EventBus implements AsyncDisposable {
  readonly #publisher: Publisher;
  readonly #topics: TopicStrategy;
  readonly #source: string;
  readonly #closePublisher: boolean;

  /** @throws {ConfigError} listing every invalid option. */
  constructor(options: BusOptions) {
    checkBusOptions(options, 'EventBus');
    this.#publisher = options.publisher;
    this.#topics = options.topics;
    this.#source = options.source;
    this.#closePublisher = options.closePublisher ?? false;
  }

  /** The topic strategy, shared with processors reading these events. */
  get topics(): TopicStrategy {
    return this.#topics;
  }

  /**
   * Publishes one event or several; resolves with their envelopes once the transport accepted all.
   * Events of one call for the same topic go in one publish call, in order.
   * @throws {CqrsError} `NOT_A_MESSAGE` for anything not made by a definition's `create`.
   * @throws {CodecError} when a codec refuses the data (e.g. `INCOMPATIBLE_SCHEMA` from the registry; nothing is published then).
   * @throws the transport's typed errors (`PublishError`, `ClosedError`, ...).
   */
  async publish(events: AnyNewEvent | readonly AnyNewEvent[], options: PublishOptions = {}): Promise<Envelope[]> {
    const list: readonly unknown[] = Array.isArray(events) ? events : [events];
    list.forEach((event, index) => {
      assertDraft(event, 'event', index);
    });
    const items = await settleAll(
      (list as readonly AnyNewEvent[]).map((event) => outgoing(event, this.#source, this.#topics, options.causedBy)),
    );
    await Promise.all([...byTopic(items)].map(([topic, messages]) => this.#publisher.publish(topic, ...messages)));
    return items.map((item) => item.envelope);
  }

  /** Closes the publisher when `closePublisher` was set; otherwise does nothing. */
  async close(): Promise<void> {
    if (this.#closePublisher) await this.#publisher.close();
  }

  /** For `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
