/** A member of a consumer group as an assignor sees it: its ids and the topics it subscribes to. */
export interface AssignorMember {
  readonly memberId: string;
  /** Static membership id (`group.instance.id`), when the member has one. */
  readonly groupInstanceId?: string | undefined;
  readonly topics: readonly string[];
}

/** Partitions per topic for each member id. Every member has an entry, possibly empty. */
export type GroupAssignment = Map<string, Map<string, number[]>>;

/**
 * Java's `MemberInfo` order, which its assignors (and librdkafka's) sort members by: members with a
 * static instance id first, by that id, then the others by member id (UTF-16 code unit order, like
 * `String.compareTo`).
 */
export function compareMembers(a: AssignorMember, b: AssignorMember): number {
  if (a.groupInstanceId !== undefined && b.groupInstanceId !== undefined) {
    return compareStrings(a.groupInstanceId, b.groupInstanceId);
  }
  if (a.groupInstanceId !== undefined) return -1;
  if (b.groupInstanceId !== undefined) return 1;
  return compareStrings(a.memberId, b.memberId);
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An assignment with an empty entry for every member, so members left without partitions still get one. */
export function emptyAssignment(members: readonly AssignorMember[]): GroupAssignment {
  return new Map(members.map((member) => [member.memberId, new Map<string, number[]>()]));
}

/** Appends `partition` of `topic` to `memberId`'s assignment. */
export function assignPartition(assignment: GroupAssignment, memberId: string, topic: string, partition: number): void {
  const topics = assignment.get(memberId);
  if (topics === undefined) return;
  const partitions = topics.get(topic);
  if (partitions === undefined) topics.set(topic, [partition]);
  else partitions.push(partition);
}
