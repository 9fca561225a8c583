import type { AssignorMember, GroupAssignment } from './group-member.js';
import { assignPartition, compareMembers, emptyAssignment } from './group-member.js';

/**
 * Java's `RangeAssignor` (without rack awareness): for each topic, the members subscribing to it,
 * sorted, take contiguous ranges of its partitions; when they do not divide evenly, the first
 * members take one more. Topics without partitions (unknown to the metadata) are left out.
 */
export function rangeAssign(
  members: readonly AssignorMember[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): GroupAssignment {
  const assignment = emptyAssignment(members);
  const sorted = [...members].sort(compareMembers);
  const topics = new Set(members.flatMap((member) => member.topics));
  for (const topic of topics) {
    const partitions = partitionsPerTopic.get(topic) ?? 0;
    const consumers = sorted.filter((member) => member.topics.includes(topic));
    if (partitions === 0 || consumers.length === 0) continue;
    const perConsumer = Math.floor(partitions / consumers.length);
    const withExtra = partitions % consumers.length;
    consumers.forEach((consumer, i) => {
      const start = perConsumer * i + Math.min(i, withExtra);
      const length = perConsumer + (i < withExtra ? 1 : 0);
      for (let partition = start; partition < start + length; partition++) {
        assignPartition(assignment, consumer.memberId, topic, partition);
      }
    });
  }
  return assignment;
}
