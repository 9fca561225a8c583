/**
 * A partition assignment strategy, by the name every Kafka client uses for it on the wire:
 * - `range`: Java's `RangeAssignor` (and librdkafka's `range`). Per topic, members sorted by id
 *   take contiguous ranges of the sorted partitions; the first members take one extra.
 * - `roundrobin`: Java's `RoundRobinAssignor` (and librdkafka's `roundrobin`). All partitions of
 *   all topics, sorted, dealt in turn to the sorted members that subscribe to each topic.
 * - `RoundRobinAssigner`: the only strategy kafkajs (and bus before this option) offered, under a
 *   name no other client knows. Keep it last in the list while older bus members share the group.
 *
 * The group coordinator picks a strategy that every member offers, so a group of bus, Java and
 * librdkafka members needs one name in common. Cooperative strategies (`cooperative-sticky`) need
 * the incremental rebalance protocol, which kafkajs does not speak.
 */
export type KafkaPartitionAssignor = 'range' | 'roundrobin' | 'RoundRobinAssigner';

/** Every strategy `partitionAssignors` accepts. */
export const KAFKA_PARTITION_ASSIGNORS: readonly KafkaPartitionAssignor[] = [
  'range',
  'roundrobin',
  'RoundRobinAssigner',
];

/**
 * The strategies a subscriber offers by default, most preferred first: `range` and `roundrobin`
 * are what Java (`[range, cooperative-sticky]`) and librdkafka (`range,roundrobin`) consumers offer
 * by default, so a bus member can join their groups and they can join a bus group (the group then
 * uses `range`); `RoundRobinAssigner` lets a group still holding bus members of earlier versions
 * accept the new ones during a rolling upgrade.
 */
export const DEFAULT_PARTITION_ASSIGNORS: readonly KafkaPartitionAssignor[] = [
  'range',
  'roundrobin',
  'RoundRobinAssigner',
];
