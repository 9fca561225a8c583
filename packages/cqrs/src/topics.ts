import { ConfigIssues, topicNameProblem } from '@bus/core';
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

/** Topic strategies: where each event and command type is published. */
export const topics = Object.freeze({
  /** One topic per type: `<prefix>.<type>` (python-api-base, Watermill's default). */
  perType(prefix: string): TopicStrategy {
    checkPrefix(prefix, 'perType');
    return (target) => checked(`${prefix}.${target.name}`, target);
  },
  /**
   * One stream topic for every type of a kind: `<prefix>.stream` for events, `<prefix>.commands`
   * for commands (eventsource-py). Per-aggregate order holds across types.
   */
  stream(prefix: string): TopicStrategy {
    checkPrefix(prefix, 'stream');
    return (target) => checked(`${prefix}.${target.kind === 'event' ? 'stream' : 'commands'}`, target);
  },
  /**
   * One topic per aggregate type: `<prefix>.<aggregateType>` (commands: `<prefix>.<aggregateType>.commands`).
   * Every definition must then name its `aggregateType`.
   */
  perAggregateType(prefix: string): TopicStrategy {
    checkPrefix(prefix, 'perAggregateType');
    return (target) => {
      if (target.aggregateType === undefined) {
        new ConfigIssues('topics.perAggregateType')
          .add(target.name, 'has no aggregateType; define it with one to use this strategy')
          .throwIfAny();
      }
      const base = `${prefix}.${target.aggregateType}`;
      return checked(target.kind === 'event' ? base : `${base}.commands`, target);
    };
  },
  /** Any function of the target; validated on each call. */
  custom(strategy: TopicStrategy): TopicStrategy {
    const issues = new ConfigIssues('topics.custom');
    issues.require(typeof strategy === 'function', 'strategy', 'must be a function');
    issues.throwIfAny();
    return (target) => checked(strategy(target), target);
  },
});
