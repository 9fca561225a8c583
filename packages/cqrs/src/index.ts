/**
 * @bus/cqrs: typed commands and domain events over any `@bus/codecs` codec, in a CloudEvents 1.0
 * envelope, with event and command buses and processors running on the core `Router`.
 */
export {
  type AnyNewCommand,
  type AnyNewEvent,
  type CommandDefinition,
  type CommandOf,
  type DataOf,
  type Definition,
  type DefinitionKind,
  type DefinitionOptions,
  type Draft,
  type EventDefinition,
  type EventOf,
  type MessageMeta,
  type NewCommand,
  type NewEvent,
  type Received,
  defineCommand,
  defineEvent,
} from './definition.js';
export type { Envelope } from './envelope.js';
export {
  CLOUDEVENTS_SPEC_VERSION,
  CloudEventHeaders,
  cloudEventType,
  envelopeFromHeaders,
  type EnvelopeReadOptions,
  envelopeHeaders,
} from './cloudevents-headers.js';
export { CqrsError, type CqrsErrorCode, type CqrsErrorOptions } from './errors.js';
export { type TopicStrategy, type TopicTarget, topics } from './topics.js';
export type { BusOptions, PublishOptions } from './bus-options.js';
export { EventBus } from './event-bus.js';
export { CommandBus } from './command-bus.js';
export type { CqrsContext } from './context.js';
export type {
  DeadLetterConfig,
  ProcessorOptions,
  RetryTopicsConfig,
  UnknownTypePolicy,
} from './processor-options.js';
export type { LastError, ProcessorStats } from './stats.js';
export {
  type AnyEventHandler,
  EventGroup,
  type EventHandler,
  EventProcessor,
  type OnAnyOptions,
  type OnOptions,
} from './event-processor.js';
export { type CommandHandler, CommandProcessor, type CommandProcessorOptions } from './command-processor.js';
