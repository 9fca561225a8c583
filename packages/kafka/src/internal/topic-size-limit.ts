import type { Kafka as KafkaClient } from 'kafkajs';
import { withDeadline } from './deadline.js';

/** How long the publisher waits to look up a topic's size limit for a clearer error message. */
const LIMIT_LOOKUP_TIMEOUT_MS = 2_000;

/**
 * The topic's `max.message.bytes`, so a `KAFKA_MESSAGE_TOO_LARGE` error can name the limit that
 * was exceeded; `undefined` when it cannot be looked up within 2 s.
 */
export async function topicSizeLimit(kafka: KafkaClient, topic: string): Promise<number | undefined> {
  const admin = kafka.admin();
  try {
    const limit = await withDeadline(
      (async () => {
        await admin.connect();
        const described = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{ type: 2, name: topic, configNames: ['max.message.bytes'] }],
        });
        const value = described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes');
        return value === undefined ? undefined : Number(value.configValue);
      })(),
      LIMIT_LOOKUP_TIMEOUT_MS,
      () => new Error('size limit lookup timed out'),
    );
    return limit === undefined || !Number.isFinite(limit) ? undefined : limit;
  } finally {
    void admin.disconnect().catch(() => {});
  }
}
