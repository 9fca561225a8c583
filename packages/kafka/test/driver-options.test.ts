import { ConfigError } from '@bus/core';
import { KafkaAdmin, KafkaDeadLetterQueue, KafkaSubscriber } from '@bus/kafka';
import { describe, expect, it } from 'vitest';
import { KafkaPublisher } from '../src/publisher.ts';

function issues(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (error) {
    if (ConfigError.isInstance(error)) return error.issues.map(({ path, message }) => ({ path, message }));
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the driver option', () => {
  it('rejects an unknown driver, together with the other problems', () => {
    const found = issues(
      () => new KafkaPublisher({ brokers: 'localhost:1', driver: 'librdkafka' as never, lingerMs: -1 }),
    );
    expect(found.map((i) => i.path).sort()).toEqual(['driver', 'lingerMs']);
  });

  it('fails construction, naming driver, where a client does not run on the chosen driver', () => {
    const subscriber = issues(
      () => new KafkaSubscriber({ brokers: 'localhost:1', driver: 'platformatic', partitionAssignors: ['range'] }),
    );
    expect(subscriber.map((i) => i.path)).toEqual(['partitionAssignors']);
  });

  it('runs the admin and the dead-letter queue on platformatic, checking their options there too', async () => {
    await new KafkaAdmin({ brokers: 'localhost:1', driver: 'platformatic' }).close();
    await new KafkaDeadLetterQueue({ brokers: 'localhost:1', driver: 'platformatic', topic: 'dlq' }).close();
    const admin = issues(() => new KafkaAdmin({ brokers: 'nohost', driver: 'platformatic', clientId: 7 as never }));
    expect(admin.map((i) => i.path).sort()).toEqual(['brokers', 'clientId']);
    const dlq = issues(() => new KafkaDeadLetterQueue({ brokers: 'nohost', driver: 'platformatic', topic: '' }));
    expect(dlq.map((i) => i.path).sort()).toEqual(['brokers', 'topic']);
  });

  it('accepts kafkajs explicitly, the default, and platformatic for the publisher', async () => {
    await new KafkaPublisher({ brokers: 'localhost:1', driver: 'kafkajs' }).close();
    await new KafkaPublisher({ brokers: 'localhost:1', driver: 'platformatic', compression: 'zstd' }).close();
  });

  it('checks the connection options on platformatic too, listing every problem', () => {
    const found = issues(
      () => new KafkaPublisher({ brokers: 'nohost', driver: 'platformatic', sasl: { mechanism: 'plain' } as never }),
    );
    expect(found.map((i) => i.path).sort()).toEqual(['brokers', 'sasl.password', 'sasl.username']);
  });
});
