import { ConfigError, ConfigIssues, topicNameProblem } from '@bus/core';
import type { DefinitionKind } from './definition.js';

/** What a {@link TopicStrategy} decides on: the definition's kind, type name and aggregate type. */
export interface TopicTarget {
  readonly kind: DefinitionKind;
  readonly name: string;
  readonly aggregateType: string | undefined;
}

/**
 * Maps a definition to its topic. Publishers and processors use the same strategy, so they agree
 * on the topic of every type. It may return the same topic for many types: processors then
 * dispatch on `ce_type`.
 */
export type TopicStrategy = (target: TopicTarget) => string;

function checkPrefix(prefix: string, strategy: string): void {
  const issues = new ConfigIssues(`topics.${strategy}`);
  issues.require(typeof prefix === 'string' && prefix.length > 0, 'prefix', 'must be a non-empty string');
  issues.throwIfAny();
}

function checked(topic: string, target: TopicTarget): string {
  const problem = topicNameProblem(topic);
  if (problem !== undefined) {
    new ConfigIssues('topic strategy').add(target.name, `gives topic "${topic}": ${problem}`).throwIfAny();
  }
  return topic;
}

/** Most services have a few dozen types; a strategy fed unbounded names stops remembering past this. */
const MAX_REMEMBERED = 10_000;

/**
 * The topic of `name` from `cache`, else made and checked once, then remembered: a strategy runs
 * for every published message, and its answer for a name never changes.
 */
function remembered(cache: Map<string, string>, name: string, target: TopicTarget, make: () => string): string {
  const known = cache.get(name);
  if (known !== undefined) return known;
  const topic = checked(make(), target);
  if (cache.size < MAX_REMEMBERED) cache.set(name, topic);
  return topic;
}

/** Topic strategies: where each event and command type is published. */
export const topics = Object.freeze({
  /** One topic per type: `<prefix>.<type>` (python-api-base, Watermill's default). */
  perType(prefix: string): TopicStrategy {
    checkPrefix(prefix, 'perType');
    const cache = new Map<string, string>();
    return (target) => remembered(cache, target.name, target, () => `${prefix}.${target.name}`);
  },
  /**
   * One stream topic for every type of a kind: `<prefix>.stream` for events, `<prefix>.commands`
   * for commands (eventsource-py). Per-aggregate order holds across types.
   */
  stream(prefix: string): TopicStrategy {
    checkPrefix(prefix, 'stream');
    const cache = new Map<string, string>();
    return (target) =>
      remembered(cache, target.kind, target, () => `${prefix}.${target.kind === 'event' ? 'stream' : 'commands'}`);
  },
  /**
   * One topic per aggregate type: `<prefix>.<aggregateType>` (commands: `<prefix>.<aggregateType>.commands`).
   * Every definition must then name its `aggregateType`.
   */
  perAggregateType(prefix: string): TopicStrategy {
    checkPrefix(prefix, 'perAggregateType');
    const events = new Map<string, string>();
    const commands = new Map<string, string>();
    return (target) => {
      const aggregateType = target.aggregateType;
      if (aggregateType === undefined) {
        throw new ConfigError('topics.perAggregateType', [
          { path: target.name, message: 'has no aggregateType; define it with one to use this strategy' },
        ]);
      }
      return target.kind === 'event'
        ? remembered(events, aggregateType, target, () => `${prefix}.${aggregateType}`)
        : remembered(commands, aggregateType, target, () => `${prefix}.${aggregateType}.commands`);
    };
  },
  /** Any function of the target; called for every message, each topic it gives validated once. */
  custom(strategy: TopicStrategy): TopicStrategy {
    const issues = new ConfigIssues('topics.custom');
    issues.require(typeof strategy === 'function', 'strategy', 'must be a function');
    issues.throwIfAny();
    const valid = new Set<string>();
    return (target) => {
      const topic = strategy(target);
      if (valid.has(topic)) return topic;
      checked(topic, target);
      if (valid.size < MAX_REMEMBERED) valid.add(topic);
      return topic;
    };
  },
});
