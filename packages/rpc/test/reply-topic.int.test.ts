import { jsonCodec } from '@bus/codecs/json';
import { KafkaAdmin, KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { defineRoute, RpcClient, type RpcClientOptions } from '@bus/rpc';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { brokers, createTopics, kafkaServer, uniquePrefix } from './support/kafka.ts';

/** Polls `condition` until it holds; fails at the deadline. */
async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('reply topics on the real broker', () => {
  it('a client deletes the reply topic it generated when it closes; keepReplyTopic and a configured replyTopic keep theirs', async () => {
    const prefix = uniquePrefix('reply-topics');
    const route = defineRoute({
      name: `${prefix}.quote`,
      request: jsonCodec({ schema: z.object({ qty: z.number() }) }),
      reply: jsonCodec({ schema: z.object({ total: z.number() }) }),
    });
    await createTopics([route.topic], 1);
    await using s = kafkaServer({ group: `${prefix}.servers` });
    s.server.handle(route, ({ qty }) => ({ total: qty * 2 }));
    await using admin = new KafkaAdmin({ brokers: brokers() });
    await using publisher = new KafkaPublisher({ brokers: brokers(), lingerMs: 0 });
    await using subscriber = new KafkaSubscriber({ brokers: brokers(), fetchMaxWaitMs: 20 });
    const exists = async (topic: string) => (await admin.listTopics()).some((t) => t.name === topic);
    const options = (extra: Partial<RpcClientOptions>): RpcClientOptions => ({
      publisher,
      subscriber,
      replyTopicPrefix: `${prefix}.replies`,
      createReplyTopic: async (topic) => {
        await admin.ensureTopics([{ name: topic, partitions: 1 }]);
      },
      deleteReplyTopic: async (topic) => {
        await admin.deleteTopics([topic]);
      },
      ...extra,
    });

    const deleting = new RpcClient(options({}));
    await expect(deleting.request(route, { qty: 2 })).resolves.toEqual({ total: 4 });
    expect(await exists(deleting.replyTopic)).toBe(true);
    await deleting.close();
    await eventually(async () => !(await exists(deleting.replyTopic)), 'the generated reply topic is deleted');

    const keeping = new RpcClient(options({ keepReplyTopic: true }));
    await expect(keeping.request(route, { qty: 3 })).resolves.toEqual({ total: 6 });
    await keeping.close();

    const fixed = `${prefix}.fixed-replies`;
    await createTopics([fixed], 1);
    const { deleteReplyTopic: _never, ...withoutDelete } = options({ replyTopic: fixed });
    const configured = new RpcClient(withoutDelete);
    await expect(configured.request(route, { qty: 4 })).resolves.toEqual({ total: 8 });
    await configured.close();

    expect(await exists(keeping.replyTopic)).toBe(true);
    expect(await exists(fixed)).toBe(true);
    await admin.deleteTopics([keeping.replyTopic, fixed]);
  });
});
