import { KafkaErrorCode, KafkaTransportError } from './errors.js';
import { type AdminDriver, kafkaErrorName } from './internal/driver/admin-driver.js';

/** Partitions of one topic assigned to a group member. */
export interface MemberAssignment {
  /** Topic. */
  topic: string;
  /** Assigned partitions, ascending. */
  partitions: number[];
}

/** One member of a consumer group. */
export interface ConsumerGroupMember {
  /** Member id given by the coordinator. */
  memberId: string;
  /** The member's `client.id`. */
  clientId: string;
  /** The member's host as the broker saw it (address, without the leading `/`). */
  host: string;
  /** What the member consumes, sorted by topic; empty while the group rebalances. */
  assignment: MemberAssignment[];
}

/** A consumer group with its members. */
export interface ConsumerGroupDescription {
  /** Group id. */
  groupId: string;
  /** State, e.g. `Stable`, `Empty`, `PreparingRebalance`. */
  state: string;
  /** Protocol type, `consumer` for regular consumer groups. */
  protocolType: string;
  /** The assignor the group agreed on (e.g. `RoundRobinAssigner`); empty when the group has no members. */
  protocol: string;
  /** Members, sorted by client id then member id. */
  members: ConsumerGroupMember[];
}

/** Describes `groupId`; `KAFKA_UNKNOWN_GROUP` when the broker does not know it. */
export async function describeGroup(admin: AdminDriver, groupId: string): Promise<ConsumerGroupDescription> {
  const groups = await admin.describeGroups([groupId]);
  const group = groups.find((g) => g.groupId === groupId);
  if (group === undefined || group.state === 'Dead') throw unknownGroup(groupId);
  const members = group.members
    .map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.clientHost.replace(/^\//, ''),
      assignment: m.assignment
        .map(({ topic, partitions }) => ({ topic, partitions: [...partitions].sort((a, b) => a - b) }))
        .sort((a, b) => a.topic.localeCompare(b.topic)),
    }))
    .sort((a, b) => a.clientId.localeCompare(b.clientId) || a.memberId.localeCompare(b.memberId));
  return {
    groupId,
    state: group.state,
    protocolType: group.protocolType,
    protocol: group.protocol,
    members,
  };
}

/**
 * Deletes `groupId` and its committed offsets. `KAFKA_UNKNOWN_GROUP` when it does not exist,
 * `KAFKA_GROUP_NOT_EMPTY` when it has members.
 */
export async function deleteGroup(admin: AdminDriver, groupId: string): Promise<void> {
  try {
    await admin.deleteGroup(groupId);
  } catch (error) {
    const type = groupErrorType(error);
    if (type === 'GROUP_ID_NOT_FOUND') throw unknownGroup(groupId);
    if (type === 'NON_EMPTY_GROUP') {
      throw new KafkaTransportError(`Cannot delete group "${groupId}": it has active members; stop them first`, {
        code: KafkaErrorCode.GROUP_NOT_EMPTY,
        cause: error,
      });
    }
    throw error;
  }
}

function unknownGroup(groupId: string): KafkaTransportError {
  return new KafkaTransportError(`Consumer group "${groupId}" does not exist`, { code: KafkaErrorCode.UNKNOWN_GROUP });
}

/**
 * Kafka's error name for the group in a failed deletion: @platformatic/kafka's `apiId`, or the
 * first failed group's `type` in kafkajs' `KafkaJSDeleteGroupsError`, however wrapped.
 */
function groupErrorType(error: unknown): string | undefined {
  const name = kafkaErrorName(error);
  if (name !== '') return name;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const record = current as { groups?: { error?: { type?: unknown } }[]; originalError?: unknown; cause?: unknown };
    const type = record.groups?.[0]?.error?.type;
    if (typeof type === 'string') return type;
    current = record.originalError ?? record.cause;
  }
  return undefined;
}
