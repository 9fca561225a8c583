import type { Assigner, Cluster, GroupMember, GroupMemberAssignment, PartitionAssigner } from 'kafkajs';
import type { KafkaPartitionAssignor } from '../../partition-assignors.js';
import { AssignerProtocol, PartitionAssigners } from '../kafkajs.js';
import type { AssignorMember, GroupAssignment } from './group-member.js';
import { rangeAssign } from './range.js';
import { roundRobinAssign } from './round-robin.js';

type Algorithm = (
  members: readonly AssignorMember[],
  partitionsPerTopic: ReadonlyMap<string, number>,
) => GroupAssignment;

const ALGORITHMS: Record<'range' | 'roundrobin', Algorithm> = { range: rangeAssign, roundrobin: roundRobinAssign };

/**
 * The kafkajs partition assigners for `names`, in order of preference. Member metadata and
 * assignments use the standard consumer protocol encoding (version 0: topics and user data), which
 * Java and librdkafka read and write, and which kafkajs' `AssignerProtocol` implements.
 */
export function kafkajsPartitionAssigners(names: readonly KafkaPartitionAssignor[]): PartitionAssigner[] {
  return names.map((name) => (name === 'RoundRobinAssigner' ? PartitionAssigners.roundRobin : javaAssigner(name)));
}

function javaAssigner(name: 'range' | 'roundrobin'): PartitionAssigner {
  const algorithm = ALGORITHMS[name];
  return ({ cluster }) => ({
    name,
    version: 0,
    async assign({ members, topics }): Promise<GroupMemberAssignment[]> {
      const subscribers = members.map(toAssignorMember);
      // Other members may subscribe to topics this leader does not: fetch their metadata too.
      const allTopics = [...new Set([...topics, ...subscribers.flatMap((member) => member.topics)])];
      const partitionsPerTopic = await partitionCounts(cluster, allTopics);
      const assignment = algorithm(subscribers, partitionsPerTopic);
      return [...assignment].map(([memberId, perTopic]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: Object.fromEntries(perTopic),
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }): ReturnType<Assigner['protocol']> {
      return {
        name,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}

/** A member's subscription, from the metadata it sent; a member whose metadata cannot be read subscribes to nothing. */
function toAssignorMember(member: GroupMember & { groupInstanceId?: string | null }): AssignorMember {
  let topics: string[] = [];
  try {
    topics = AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.topics ?? [];
  } catch {
    // Not the consumer protocol's encoding: it gets no partitions rather than failing the whole group.
  }
  return {
    memberId: member.memberId,
    groupInstanceId: member.groupInstanceId ?? undefined,
    topics,
  };
}

async function partitionCounts(cluster: Cluster, topics: readonly string[]): Promise<Map<string, number>> {
  const known = (topic: string) => {
    try {
      return cluster.findTopicPartitionMetadata(topic).length > 0;
    } catch {
      return false;
    }
  };
  const missing = topics.filter((topic) => !known(topic));
  if (missing.length > 0) {
    // A topic that does not exist stays without partitions, as Java's assignors leave it.
    await cluster.addMultipleTargetTopics(missing).catch(() => undefined);
  }
  return new Map(
    topics.map((topic) => {
      try {
        return [topic, cluster.findTopicPartitionMetadata(topic).length];
      } catch {
        return [topic, 0];
      }
    }),
  );
}
