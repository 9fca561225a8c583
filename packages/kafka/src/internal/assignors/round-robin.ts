import type { AssignorMember, GroupAssignment } from './group-member.js';
import { assignPartition, compareMembers, compareStrings, emptyAssignment } from './group-member.js';

/**
 * Java's `RoundRobinAssignor`: every partition of every subscribed topic, sorted by topic then
 * partition, goes to the next member in a circle of the sorted members, skipping members that do
 * not subscribe to its topic. The circle carries on from topic to topic.
 */
export function roundRobinAssign(
  members: readonly AssignorMember[],
  partitionsPerTopic: ReadonlyMap<string, number>,
): GroupAssignment {
  const assignment = emptyAssignment(members);
  const sorted = [...members].sort(compareMembers);
  const topics = [...new Set(members.flatMap((member) => member.topics))].sort(compareStrings);
  let next = 0;
  for (const topic of topics) {
    const partitions = partitionsPerTopic.get(topic) ?? 0;
    for (let partition = 0; partition < partitions; partition++) {
      // Some member subscribes to every topic in the list, so this finds one within a full circle.
      while (!sorted[next % sorted.length]?.topics.includes(topic)) next++;
      const member = sorted[next % sorted.length] as AssignorMember;
      next++;
      assignPartition(assignment, member.memberId, topic, partition);
    }
  }
  return assignment;
}
