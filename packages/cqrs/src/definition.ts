import type { Codec } from '@bus/codecs';
import { ConfigIssues } from '@bus/core';
import type { Envelope } from './envelope.js';

/** Whether a definition describes something that happened or something asked for. */
export type DefinitionKind = 'event' | 'command';

/** Options of {@link defineEvent} and {@link defineCommand}. */
export interface DefinitionOptions<N extends string, T> {
  /** The type name, written to `ce_type`; unique within a service. */
  name: N;
  /** Version of the type's schema, written to the `ce_typeversion` extension. Default 1. */
  version?: number;
  /** The codec of the data: any `@bus/codecs` codec (JSON with zod or valibot, registry Avro, Protobuf, ...). */
  schema: Codec<T>;
  /** Aggregate type of every instance, for the per-aggregate-type topic strategy and `ce_aggregatetype`. */
  aggregateType?: string;
  /** Message key of an instance. Default: its aggregate id, which keeps each aggregate in order. */
  key?: (data: T) => string;
}

/** What the caller may set on a new event or command; the rest is filled in when it is published. */
export interface MessageMeta {
  /** Event id; a random UUID by default. */
  id?: string;
  /** When it happened; now by default. */
  time?: Date;
  /** Id of the aggregate it concerns: `ce_subject`, and the default message key. */
  aggregateId?: string;
  /** Aggregate type; the definition's by default. */
  aggregateType?: string;
  /** Version of the aggregate after this event. */
  aggregateVersion?: number;
  /** Id shared by everything one request caused. Handler contexts propagate it. */
  correlationId?: string;
  /** Id of the event or command that caused this one. Handler contexts set it. */
  causationId?: string;
  /** Tenant, for multi-tenant services. */
  tenant?: string;
  /** Who or what acted. */
  actor?: string;
  /** Free-form string metadata, carried as JSON in the `ce_metadata` extension. */
  metadata?: Readonly<Record<string, string>>;
}

/** An event or command not published yet: its definition, data and caller-set metadata. */
export interface Draft<K extends DefinitionKind, N extends string, T> {
  /** The definition it was created from. */
  readonly definition: Definition<K, N, T>;
  /** The data, encoded by the definition's codec. */
  readonly data: T;
  /** Metadata set by the caller. */
  readonly meta: Readonly<MessageMeta>;
}

/** A typed event or command type. Create instances with {@link Definition.create}. */
export interface Definition<K extends DefinitionKind, N extends string, T> {
  /** `event` or `command`. */
  readonly kind: K;
  /** The type name (`ce_type`). */
  readonly name: N;
  /** The schema version (`ce_typeversion`). */
  readonly version: number;
  /** The codec of the data. */
  readonly schema: Codec<T>;
  /** The aggregate type, when the definition names one. */
  readonly aggregateType: string | undefined;
  /** The message key of an instance: the `key` option, else the aggregate id, else none. */
  keyOf(data: T, meta: Readonly<MessageMeta>): string | undefined;
  /** A new instance, ready to publish or send. */
  create(data: T, meta?: MessageMeta): Draft<K, N, T>;
}

/** A typed event type. */
export type EventDefinition<N extends string = string, T = unknown> = Definition<'event', N, T>;
/** A typed command type. */
export type CommandDefinition<N extends string = string, T = unknown> = Definition<'command', N, T>;

/** An event or command as a handler receives it: typed data plus its full envelope. */
export interface Received<N extends string, T> {
  /** The type name. */
  readonly type: N;
  /** The decoded data. */
  readonly data: T;
  /** Id, source, time, aggregate, correlation, ... as carried by the CloudEvents headers. */
  readonly envelope: Envelope;
}

/** The data type of a definition. */
export type DataOf<D> = D extends Definition<DefinitionKind, string, infer T> ? T : never;
/** The received event of an event definition, e.g. `EventOf<typeof OrderPlaced>`. */
export type EventOf<D> = D extends Definition<'event', infer N, infer T> ? Received<N, T> : never;
/** The received command of a command definition, e.g. `CommandOf<typeof PlaceOrder>`. */
export type CommandOf<D> = D extends Definition<'command', infer N, infer T> ? Received<N, T> : never;
/** A new, unpublished event of an event definition. */
export type NewEvent<D> = D extends Definition<'event', infer N, infer T> ? Draft<'event', N, T> : never;
/** A new, unsent command of a command definition. */
export type NewCommand<D> = D extends Definition<'command', infer N, infer T> ? Draft<'command', N, T> : never;

/** Any new event, whatever its type. */
export type AnyNewEvent = Draft<'event', string, unknown>;
/** Any new command, whatever its type. */
export type AnyNewCommand = Draft<'command', string, unknown>;

/** CloudEvents-safe type names: letters, digits and `.`, `_`, `-`, `:`, `/`. */
const TYPE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

function define<K extends DefinitionKind, const N extends string, T>(
  kind: K,
  options: DefinitionOptions<N, T>,
): Definition<K, N, T> {
  const issues = new ConfigIssues(kind === 'event' ? 'defineEvent' : 'defineCommand');
  issues.require(
    typeof options?.name === 'string' && TYPE_NAME.test(options.name),
    'name',
    'must be a non-empty type name (letters, digits, . _ - : /)',
  );
  issues.integer(options?.version, 'version', { min: 1 });
  const schema = options?.schema as Codec<T> | undefined;
  issues.require(
    typeof schema?.encode === 'function' &&
      typeof schema.decode === 'function' &&
      typeof schema.contentType === 'string',
    'schema',
    'must be a @bus/codecs Codec (encode, decode, contentType)',
  );
  issues.require(
    options?.aggregateType === undefined ||
      (typeof options.aggregateType === 'string' && options.aggregateType.length > 0),
    'aggregateType',
    'must be a non-empty string when set',
  );
  issues.require(options?.key === undefined || typeof options.key === 'function', 'key', 'must be a function');
  issues.throwIfAny();
  const { name, key } = options;
  const definition: Definition<K, N, T> = {
    kind,
    name,
    version: options.version ?? 1,
    schema: options.schema,
    aggregateType: options.aggregateType,
    keyOf: (data, meta) => (key === undefined ? meta.aggregateId : key(data)),
    create: (data, meta = {}) => Object.freeze({ definition, data, meta: Object.freeze({ ...meta }) }),
  };
  return Object.freeze(definition);
}

/**
 * Defines a typed event. Handlers and `publish` take their types from it, so no cast is needed.
 * @example
 * const OrderPlaced = defineEvent({ name: 'shop.OrderPlaced', schema: jsonCodec({ schema: z.object({ total: z.number() }) }) });
 * await events.publish(OrderPlaced.create({ total: 9.5 }, { aggregateId: 'order-1' }));
 * @throws {ConfigError} listing every invalid option.
 */
export function defineEvent<const N extends string, T>(options: DefinitionOptions<N, T>): EventDefinition<N, T> {
  return define('event', options);
}

/**
 * Defines a typed command. Exactly one handler per command type may be registered.
 * @throws {ConfigError} listing every invalid option.
 */
export function defineCommand<const N extends string, T>(options: DefinitionOptions<N, T>): CommandDefinition<N, T> {
  return define('command', options);
}
