import { KafkaErrorCode, KafkaTransportError } from './errors.js';

/**
 * A `publish()` whose messages were not all acknowledged by their partition's leader within the
 * call's `timeoutMs`: kafkajs answered without them (partition leadership moved mid-send) and bus's
 * resends did not get through in time. Code `KAFKA_NOT_ACKNOWLEDGED`, retryable. The messages of
 * {@link UnacknowledgedPartitionsError.partitions} may or may not be in the log; the others are.
 */
export class UnacknowledgedPartitionsError extends KafkaTransportError {
  /** The topic published to. */
  declare readonly topic: string;
  /** The partitions (of this call's messages) without an acknowledgement, ascending. */
  readonly partitions: readonly number[];

  constructor(topic: string, partitions: Iterable<number>, options: { timeoutMs: number; attempts: number }) {
    const sorted = [...new Set(partitions)].sort((a, b) => a - b);
    super(
      `publish to "${topic}": partition(s) ${sorted.join(', ')} not acknowledged within ${options.timeoutMs} ms ` +
        `(${options.attempts} attempt(s); partition leadership moved)`,
      { code: KafkaErrorCode.NOT_ACKNOWLEDGED, isRetryable: true, topic },
    );
    this.name = 'UnacknowledgedPartitionsError';
    this.partitions = sorted;
  }
}
