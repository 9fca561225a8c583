import type { Codec } from '@bus/codecs';
import { ConfigIssues, topicNameProblem } from '@bus/core';

/** A request/reply pair, defined once and shared by clients and servers. */
export interface Route<Req, Rep> {
  /** Name of the route; also the request topic unless `topic` was given. */
  readonly name: string;
  /** Topic requests are published to. */
  readonly topic: string;
  /** Codec of the request. */
  readonly request: Codec<Req>;
  /** Codec of the reply. */
  readonly reply: Codec<Rep>;
}

/** Options of {@link defineRoute}. */
export interface RouteDefinition<Req, Rep> {
  /** Name of the route, e.g. `billing.quote`. */
  name: string;
  /** Request topic. Default: `name`. */
  topic?: string;
  /** Codec of the request. */
  request: Codec<Req>;
  /** Codec of the reply. */
  reply: Codec<Rep>;
}

/** The request type of a route. */
export type RequestOf<R> = R extends Route<infer Req, unknown> ? Req : never;
/** The reply type of a route. */
export type ReplyOf<R> = R extends Route<unknown, infer Rep> ? Rep : never;

function isCodec(value: unknown): boolean {
  const codec = value as { encode?: unknown; decode?: unknown } | null;
  return (
    typeof codec === 'object' &&
    codec !== null &&
    typeof codec.encode === 'function' &&
    typeof codec.decode === 'function'
  );
}

/** Defines a route. Throws one `ConfigError` listing every problem. */
export function defineRoute<Req, Rep>(definition: RouteDefinition<Req, Rep>): Route<Req, Rep> {
  const issues = new ConfigIssues('route');
  if (typeof definition.name !== 'string' || definition.name === '') issues.add('name', 'must be a non-empty string');
  const topic = definition.topic ?? definition.name;
  const problem = typeof definition.name === 'string' && definition.name !== '' ? topicNameProblem(topic) : undefined;
  if (problem !== undefined) issues.add(definition.topic === undefined ? 'name' : 'topic', problem);
  if (!isCodec(definition.request)) issues.add('request', 'must be a codec (encode and decode)');
  if (!isCodec(definition.reply)) issues.add('reply', 'must be a codec (encode and decode)');
  issues.throwIfAny();
  return Object.freeze({ name: definition.name, topic, request: definition.request, reply: definition.reply });
}
