import { jsonCodec } from '@bus/codecs/json';
import { KafkaAdmin } from '@bus/kafka';
import { defineRoute, RemoteError, type RpcClient } from '@bus/rpc';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OutOfStock } from './fixtures.ts';
import { brokers, createTopics, kafkaClient, kafkaServer, uniquePrefix } from './support/kafka.ts';
import { type PeerEvent, SpringPeer, springPeerClasspath } from './support/spring.ts';

// A real Spring Kafka peer (spring-kafka 3.3, kafka-clients 3.8, no Spring Boot) in a child JVM:
// test/spring/SpringPeer.java. The first run resolves it from Maven Central and compiles it (about a
// minute); later runs start the cached build (a few seconds).

const ask = z.object({ sku: z.string(), qty: z.number().int() });
const answer = z.object({ sku: z.string(), total: z.number() });

function quoteRoute(topic: string) {
  return defineRoute({ name: topic, request: jsonCodec({ schema: ask }), reply: jsonCodec({ schema: answer }) });
}

function uuidOfHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

describe('Spring Kafka interop (spring-kafka ReplyingKafkaTemplate and @KafkaListener/@SendTo, real broker)', () => {
  // Resolving and compiling the peer happens once per machine, outside the tests' time budget.
  beforeAll(() => springPeerClasspath(), 600_000);

  it('our RpcClient with the spring profile calls a Spring @KafkaListener with @SendTo; its error handler’s reply arrives as a typed RemoteError', async () => {
    const prefix = uniquePrefix('spring-svc');
    const topic = `${prefix}.quote`;
    await createTopics([topic], 1);
    await using peer = await SpringPeer.start(['serve', brokers().join(','), topic, `${prefix}.spring`]);
    await peer.waitFor((event) => event.type === 'assigned', 45_000);
    const route = quoteRoute(topic);
    await using c = kafkaClient(prefix, 20_000, 'spring');
    const client: RpcClient = c.client;

    await expect(client.request(route, { sku: 'tea', qty: 2 })).resolves.toEqual({ sku: 'tea', total: 8 });
    // Spring read our correlation id as the 16 bytes of a UUID, its default.
    const [request] = peer.events.filter((event) => event.type === 'request');
    expect(request?.correlation).toMatch(/^[0-9a-f]{32}$/);

    // Many at once: each reply matches its own request by the echoed bytes (some random 16 bytes are
    // valid UTF-8 and come back as text; they match all the same).
    const many = Array.from({ length: 40 }, (_, i) => client.request(route, { sku: `s${i}`, qty: i }));
    expect(await Promise.all(many)).toEqual(Array.from({ length: 40 }, (_, i) => ({ sku: `s${i}`, total: i * 4 })));

    const error = await client.request(route, { sku: 'gone', qty: 1 }).catch((e: unknown) => e);
    expect(RemoteError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'OUT_OF_STOCK', isRetryable: true, message: 'gone is out of stock' });
    expect(client.stats).toMatchObject({ matched: 42, dropped: 0, timedOut: 0 });
  });

  it('a Spring ReplyingKafkaTemplate calls our RpcServer: binary correlation echoed, 4-byte reply partition honoured, errors through its replyErrorChecker', async () => {
    const prefix = uniquePrefix('spring-client');
    const topic = `${prefix}.quote`;
    const replyTopic = `${prefix}.replies`;
    await createTopics([topic], 1);
    await createTopics([replyTopic], 2);
    await using admin = new KafkaAdmin({ brokers: brokers() });
    await using s = kafkaServer({
      group: `${prefix}.servers`,
      replyTopicPartitions: async (name) => (await admin.describeTopic(name)).partitions.length,
    });
    const seen: string[] = [];
    s.server.handle(quoteRoute(topic), ({ sku, qty }, ctx) => {
      seen.push(ctx.correlationId);
      if (sku === 'gone') throw new OutOfStock(`${sku} is out of stock`);
      return { sku, total: qty * 5 };
    });
    // The template's reply container reads partition 1 only, so it names it in kafka_replyPartition.
    await using peer = await SpringPeer.start([
      'call',
      brokers().join(','),
      topic,
      replyTopic,
      `${prefix}.spring-client`,
      '1',
    ]);
    await peer.waitFor((event) => event.type === 'ready', 45_000);
    const count = 20;
    for (let i = 0; i < count; i++) peer.send({ id: String(i), value: { sku: `s${i}`, qty: i } });
    peer.send({ id: 'gone', value: { sku: 'gone', qty: 1 } });

    const outcome = (id: string) =>
      peer.waitFor((event) => (event.type === 'reply' || event.type === 'error') && event.id === id, 30_000);
    const sent = (id: string) => peer.waitFor((event) => event.type === 'sent' && event.id === id);
    for (let i = 0; i < count; i++) {
      const reply: PeerEvent = await outcome(String(i));
      expect(reply).toMatchObject({ type: 'reply', value: { sku: `s${i}`, total: i * 5 }, partition: 1 });
      const request = await sent(String(i));
      expect(request.replyPartition).toBe('00000001');
      expect(request.correlation).toMatch(/^[0-9a-f]{32}$/);
      // Echoed byte for byte; our handler saw it in UUID form.
      expect(reply.correlation).toBe(request.correlation);
      expect(seen).toContain(uuidOfHex(request.correlation as string));
    }
    const failed = await outcome('gone');
    expect(failed).toMatchObject({
      type: 'error',
      exception: 'RemoteBusException',
      code: 'OUT_OF_STOCK',
      isRetryable: true,
      message: 'gone is out of stock',
    });
    expect(s.server.stats).toMatchObject({ replied: count, failed: 1, invalid: 0 });
  });
});
