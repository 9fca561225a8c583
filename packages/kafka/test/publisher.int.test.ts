import { ClosedError, createMessage, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { testInfra } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic, readBack } from './publisher-helpers.ts';

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), written here independently of kafkajs. */
function murmur2(data: Uint8Array): number {
  const seed = 0x9747b28c;
  const m = 0x5bd1e995;
  const r = 24;
  const length = data.length;
  let h = (seed ^ length) | 0;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k =
      (data[i4]! & 0xff) +
      ((data[i4 + 1]! & 0xff) << 8) +
      ((data[i4 + 2]! & 0xff) << 16) +
      ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length % 4;
  // The Java switch falls through from the highest remaining byte down.
  if (rest >= 3) h ^= (data[tail + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[tail + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[tail]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The Java client's partition for a keyed record: toPositive(murmur2(key)) % partitions. */
function javaPartition(key: string, partitions: number): number {
  return (murmur2(new TextEncoder().encode(key)) & 0x7fffffff) % partitions;
}

const brokers = () => testInfra().kafka.brokers;

describe('KafkaPublisher (real broker)', () => {
  it('writes payload, key, headers, timestamp and the id header byte-exact', async () => {
    const topic = await createTopic('pub-roundtrip');
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    const binaryPayload = new Uint8Array([0, 255, 1, 254, 0x80, 0x7f]);
    const binaryKey = new Uint8Array([9, 8, 7, 0]);
    const first = textMessage('héllo wörld', {
      id: 'id-1',
      key: 'customer-7',
      headers: { 'content-type': 'text/plain', 'x-trace': 'abc=1;ü' },
      timestamp: 1_700_000_000_123,
    });
    const second = createMessage({ id: 'id-2', payload: binaryPayload, key: binaryKey });
    await publisher.publish(topic, first, second);

    const records = await readBack(topic, 2);
    const [a, b] = records.sort((x, y) => x.offset - y.offset);
    expect(a?.value?.toString('utf8')).toBe('héllo wörld');
    expect(a?.key?.toString('utf8')).toBe('customer-7');
    expect(a?.headers).toEqual({ 'content-type': 'text/plain', 'x-trace': 'abc=1;ü', 'bus-message-id': 'id-1' });
    expect(a?.timestamp).toBe('1700000000123');
    expect(new Uint8Array(b!.value!)).toEqual(binaryPayload);
    expect(new Uint8Array(b!.key!)).toEqual(binaryKey);
    expect(b?.headers).toEqual({ 'bus-message-id': 'id-2', 'bus-key-binary': '1' });
    expect(Number(b?.timestamp)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('carries the id in a configurable header, e.g. Watermill’s _watermill_message_uuid', async () => {
    const topic = await createTopic('pub-watermill');
    await using publisher = new KafkaPublisher({ brokers: brokers(), messageIdHeader: '_watermill_message_uuid' });
    await publisher.publish(topic, textMessage('x', { id: '5f1b7c9e-0000-4000-8000-000000000001' }));
    const [record] = await readBack(topic, 1);
    expect(record?.headers).toEqual({ _watermill_message_uuid: '5f1b7c9e-0000-4000-8000-000000000001' });
  });

  it('writes no id header for a CloudEvent whose ce_id is its id; subscribers read the id from ce_id', async () => {
    const topic = await createTopic('pub-ce-id');
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    await publisher.publish(
      topic,
      textMessage('same', { id: 'ev-1', headers: { ce_id: 'ev-1', ce_type: 'T' } }),
      textMessage('other', { id: 'id-2', headers: { ce_id: 'ev-2' } }),
    );
    const [same, other] = (await readBack(topic, 2)).sort((x, y) => x.offset - y.offset);
    expect(same?.headers).toEqual({ ce_id: 'ev-1', ce_type: 'T' });
    expect(other?.headers).toEqual({ ce_id: 'ev-2', 'bus-message-id': 'id-2' });
    // A custom id header is written regardless: whoever configured it reads it.
    await using watermill = new KafkaPublisher({ brokers: brokers(), messageIdHeader: '_watermill_message_uuid' });
    await watermill.publish(topic, textMessage('w', { id: 'ev-3', headers: { ce_id: 'ev-3' } }));
    const third = (await readBack(topic, 3)).find((r) => r.value?.toString() === 'w');
    expect(third?.headers).toEqual({ ce_id: 'ev-3', _watermill_message_uuid: 'ev-3' });
    await using subscriber = new KafkaSubscriber({ brokers: brokers() });
    const ids: string[] = [];
    for await (const message of subscriber.subscribe(topic, { group: `${topic}-reader` })) {
      ids.push(message.id);
      message.ack();
      if (ids.length === 3) break;
    }
    expect(ids).toEqual(['ev-1', 'id-2', 'ev-3']);
  });

  it.each([['all' as const], [1 as const], [0 as const]])('publishes with acks=%s', async (acks) => {
    const topic = await createTopic(`pub-acks-${acks}`);
    await using publisher = new KafkaPublisher({ brokers: brokers(), acks });
    await publisher.publish(topic, textMessage('a'), textMessage('b'));
    const records = await readBack(topic, 2);
    expect(records.map((r) => r.value?.toString()).sort()).toEqual(['a', 'b']);
  });

  it('publishes with the idempotent producer', async () => {
    const topic = await createTopic('pub-idempotent', 2);
    await using publisher = new KafkaPublisher({ brokers: brokers(), idempotent: true });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => publisher.publish(topic, textMessage(`m${i}`, { key: `k${i}` }))),
    );
    expect((await readBack(topic, 20)).length).toBe(20);
    expect(publisher.stats().messagesPublished).toBe(20);
  });

  it('murmur2 in this test matches vectors of the Java client', () => {
    // From Kafka's UtilsTest.testMurmur2.
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of vectors) expect(murmur2(new TextEncoder().encode(key))).toBe(hash);
  });

  it('puts keyed messages on the partition the Java client would choose', async () => {
    const partitions = 6;
    const topic = await createTopic('pub-partitioner', partitions);
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    const keys = Array.from({ length: 24 }, (_, i) => `order-${i * 7919}`);
    await publisher.publish(topic, ...keys.map((key) => textMessage(key, { key })));
    const records = await readBack(topic, keys.length);
    const seen = new Set<number>();
    for (const record of records) {
      const key = record.key!.toString('utf8');
      expect(record.partition, key).toBe(javaPartition(key, partitions));
      seen.add(record.partition);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  it('connects once for concurrent first publishes, and close() flushes lingering messages', async () => {
    const topic = await createTopic('pub-close-flush');
    const publisher = new KafkaPublisher({ brokers: brokers(), lingerMs: 60_000 });
    let connects = 0;
    publisher.on('connect', () => connects++);
    const publishes = Array.from({ length: 10 }, (_, i) => publisher.publish(topic, textMessage(`m${i}`)));
    expect(publisher.stats().pendingMessages).toBe(10);
    await publisher.close();
    await expect(Promise.all(publishes)).resolves.toHaveLength(10);
    expect(connects).toBe(1);
    expect(publisher.stats()).toMatchObject({ messagesPublished: 10, pendingMessages: 0, connected: false });
    expect((await readBack(topic, 10)).length).toBe(10);

    const after = publisher.publish(topic, textMessage('late'));
    await expect(after).rejects.toSatisfy(ClosedError.isInstance);
    await expect(publisher.close()).resolves.toBeUndefined();
  });
});
