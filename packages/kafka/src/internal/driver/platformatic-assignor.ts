import type * as Platformatic from '@platformatic/kafka';

/**
 * Java's `roundrobin` assignment for @platformatic/kafka's classic groups: every topic-partition,
 * in topic then partition order, goes to the next member (in member id order) that subscribes to
 * its topic. The client's own round robin hands partitions to members regardless of what they
 * subscribe to, so in a group whose members read different topics (a topic and its retry topics,
 * one group) some partitions went to members that never read them.
 *
 * The topics are every member's, not only the `topics` the client passes: those are the leader's
 * own subscription (@platformatic/kafka 2.12), so members reading other topics got nothing. The
 * client looked up the metadata of every member's topics before calling this.
 */
export const subscriptionRoundRobin: Platformatic.GroupPartitionsAssigner = (_current, members, topics, metadata) => {
  const memberIds = [...members.keys()].sort();
  const assignments = memberIds.map((memberId) => ({
    memberId,
    assignments: new Map<string, { topic: string; partitions: number[] }>(),
  }));
  const subscribed = new Set(topics);
  for (const member of members.values()) for (const topic of member.topics ?? []) subscribed.add(topic);
  let next = 0;
  for (const topic of [...subscribed].sort()) {
    const subscribers = assignments.filter(({ memberId }) => {
      const subscribed = members.get(memberId)?.topics;
      return subscribed === undefined || subscribed.includes(topic);
    });
    if (subscribers.length === 0) continue;
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    for (let partition = 0; partition < count; partition++) {
      const member = subscribers[next++ % subscribers.length]!;
      let assignment = member.assignments.get(topic);
      if (assignment === undefined) {
        assignment = { topic, partitions: [] };
        member.assignments.set(topic, assignment);
      }
      assignment.partitions.push(partition);
    }
  }
  return assignments;
};
