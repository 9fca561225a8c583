import type { Publisher } from '@bus/core';
import { type BusOptions, checkBusOptions, type PublishOptions } from './bus-options.js';
import type { AnyNewCommand } from './definition.js';
import type { Envelope } from './envelope.js';
import { assertDraft, outgoing } from './internal/outgoing.js';
import type { TopicStrategy } from './topics.js';

/**
 * Sends typed commands as CloudEvents to the topic the strategy names. The one handler of each
 * command type runs in a `CommandProcessor`, usually in another service.
 * @example
 * const commands = new CommandBus({ publisher, topics: topics.perType('shop'), source: 'urn:shop:web' });
 * await commands.send(PlaceOrder.create({ total: 9.5 }, { aggregateId: 'order-1' }));
 */
export class CommandBus implements AsyncDisposable {
  readonly #publisher: Publisher;
  readonly #topics: TopicStrategy;
  readonly #source: string;
  readonly #closePublisher: boolean;

  /** @throws {ConfigError} listing every invalid option. */
  constructor(options: BusOptions) {
    checkBusOptions(options, 'CommandBus');
    this.#publisher = options.publisher;
    this.#topics = options.topics;
    this.#source = options.source;
    this.#closePublisher = options.closePublisher ?? false;
  }

  /** The topic strategy, shared with processors reading these commands. */
  get topics(): TopicStrategy {
    return this.#topics;
  }

  /**
   * Sends one command; resolves with its envelope once the transport accepted it.
   * @throws {CqrsError} `NOT_A_MESSAGE` for anything not made by a command definition's `create`.
   * @throws {CodecError} when the codec refuses the data.
   */
  async send(command: AnyNewCommand, options: PublishOptions = {}): Promise<Envelope> {
    assertDraft(command, 'command', 0);
    const item = await outgoing(command, this.#source, this.#topics, options.causedBy);
    await this.#publisher.publish(item.topic, item.message);
    return item.envelope;
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
