import type * as Platformatic from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { subscriptionRoundRobin } from '../src/internal/driver/platformatic-assignor.ts';

function metadata(partitions: Record<string, number>): Platformatic.ClusterMetadata {
  const topics = new Map(
    Object.entries(partitions).map(([name, count]) => [
      name,
      { id: name, partitions: [], partitionsCount: count, lastUpdate: 0 },
    ]),
  );
  return { id: 'cluster', brokers: new Map(), controllerId: 1, topics, lastUpdate: 0 };
}

function assign(subscriptions: Record<string, string[]>, leaderTopics: string[], counts: Record<string, number>) {
  const members = new Map(
    Object.entries(subscriptions).map(([memberId, topics]) => [memberId, { memberId, version: 1, topics }]),
  );
  const result = subscriptionRoundRobin('a', members, new Set(leaderTopics), metadata(counts));
  return Object.fromEntries(
    result.map(({ memberId, assignments }) => [
      memberId,
      Object.fromEntries([...assignments].map(([t, a]) => [t, a.partitions])),
    ]),
  );
}

describe('the platformatic round-robin assignor', () => {
  it('assigns every member’s topics, not only the leader’s (a topic and its retry topics in one group)', () => {
    const assignments = assign({ a: ['main'], b: ['main.retry.1'], c: ['main.retry.2'] }, ['main'], {
      main: 3,
      'main.retry.1': 3,
      'main.retry.2': 2,
    });
    expect(assignments).toEqual({
      a: { main: [0, 1, 2] },
      b: { 'main.retry.1': [0, 1, 2] },
      c: { 'main.retry.2': [0, 1] },
    });
  });

  it('deals the partitions of a shared topic round robin, in member id order, to its subscribers only', () => {
    const assignments = assign({ b: ['t', 'u'], a: ['t'], c: ['u'] }, ['t'], { t: 3, u: 2 });
    expect(assignments).toEqual({ a: { t: [0, 2] }, b: { t: [1], u: [1] }, c: { u: [0] } });
  });
});
