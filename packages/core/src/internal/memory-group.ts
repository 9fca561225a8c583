import type { PartitionCursor } from './memory-cursor.js';
import type { GroupMember, MemberGroup } from './memory-member.js';

/**
 * A consumer group on one topic: a cursor per partition and the members sharing them.
 * Assignment is round-robin over members in join order (partition p goes to member p mod n),
 * recomputed whenever a member joins or leaves.
 */
export class ConsumerGroup implements MemberGroup {
  readonly name: string;
  readonly cursors: readonly PartitionCursor[];
  readonly #members: GroupMember[] = [];
  readonly #onEmpty: (group: ConsumerGroup) => void;

  constructor(name: string, cursors: readonly PartitionCursor[], onEmpty: (group: ConsumerGroup) => void) {
    this.name = name;
    this.cursors = cursors;
    this.#onEmpty = onEmpty;
  }

  /** How many members the group has. */
  get size(): number {
    return this.#members.length;
  }

  join(member: GroupMember): void {
    this.#members.push(member);
    this.#rebalance();
  }

  leave(member: GroupMember): void {
    const index = this.#members.indexOf(member);
    if (index < 0) return;
    this.#members.splice(index, 1);
    for (const cursor of this.cursors) {
      if (cursor.owner === member) cursor.release();
      else if (cursor.nextOwner === member) cursor.nextOwner = undefined;
    }
    this.#rebalance();
    if (this.#members.length === 0) this.#onEmpty(this);
  }

  /** Stops timers; the group is gone with its topic. */
  dispose(): void {
    for (const cursor of this.cursors) cursor.dispose();
  }

  #rebalance(): void {
    const members = this.#members;
    for (const member of members) member.cursors = [];
    this.cursors.forEach((cursor, partition) => {
      const target = members.length > 0 ? members[partition % members.length] : undefined;
      cursor.assign(target);
      target?.cursors.push(cursor);
    });
    for (const member of members) member.wake();
  }
}
