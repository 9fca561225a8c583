import 'reflect-metadata';
import { jsonCodec } from '@bus/codecs/json';
import { defineRoute, NestKafkaHeaders, nestReplyTopic, RemoteError, type RpcClient } from '@bus/rpc';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientKafka, MessagePattern, RpcException, Transport } from '@nestjs/microservices';
import { logLevel } from 'kafkajs';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OutOfStock } from './fixtures.ts';
import { brokers, createTopics, kafkaClient, kafkaServer, uniquePrefix } from './support/kafka.ts';

const ask = z.object({ sku: z.string(), qty: z.number().int() });
const answer = z.object({ sku: z.string(), total: z.number() });

/** A real Nest microservice on the Kafka transport serving `pattern`, with decorators applied as functions. */
async function startNestService(pattern: string, groupId: string) {
  class QuoteController {
    quote(data: z.infer<typeof ask>) {
      if (data.sku === 'gone') {
        throw new RpcException({ code: 'OUT_OF_STOCK', message: `${data.sku} is out of stock`, isRetryable: true });
      }
      return { sku: data.sku, total: data.qty * 3 };
    }
  }
  const method = Object.getOwnPropertyDescriptor(QuoteController.prototype, 'quote') as PropertyDescriptor;
  MessagePattern(pattern)(QuoteController.prototype, 'quote', method);
  Controller()(QuoteController);
  class QuoteModule {}
  Module({ controllers: [QuoteController] })(QuoteModule);
  const app = await NestFactory.createMicroservice(QuoteModule, {
    transport: Transport.KAFKA,
    logger: false,
    options: {
      client: { brokers: brokers(), clientId: `${groupId}-svc`, logLevel: logLevel.NOTHING },
      consumer: { groupId },
      subscribe: { fromBeginning: true },
    },
  });
  await app.listen();
  return app;
}

describe('NestJS interop (@nestjs/microservices Kafka transport, real broker)', () => {
  it('our RpcClient with the nest profile calls a Nest @MessagePattern; its RpcException arrives as a typed RemoteError', async () => {
    const prefix = uniquePrefix('nest-svc');
    const pattern = `${prefix}.quote`;
    await createTopics([pattern], 1);
    const app = await startNestService(pattern, `${prefix}.nest`);
    try {
      const route = defineRoute({
        name: pattern,
        request: jsonCodec({ schema: ask }),
        reply: jsonCodec({ schema: answer }),
      });
      await using c = kafkaClient(prefix, 30_000, 'nest');
      const client: RpcClient = c.client;
      await expect(client.request(route, { sku: 'tea', qty: 2 })).resolves.toEqual({ sku: 'tea', total: 6 });
      const error = await client.request(route, { sku: 'gone', qty: 1 }).catch((e: unknown) => e);
      expect(RemoteError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'OUT_OF_STOCK', isRetryable: true, message: 'gone is out of stock' });
    } finally {
      await app.close();
    }
  });

  it('a Nest ClientKafka.send calls our RpcServer; a thrown error reaches Nest with its code', async () => {
    const prefix = uniquePrefix('nest-client');
    const pattern = `${prefix}.quote`;
    await createTopics([pattern, nestReplyTopic(pattern)], 1);
    await using s = kafkaServer({ group: `${prefix}.servers` });
    const route = defineRoute({
      name: pattern,
      request: jsonCodec({ schema: ask }),
      reply: jsonCodec({ schema: answer }),
    });
    const seenHeaders: string[][] = [];
    s.server.handle(route, ({ sku, qty }, ctx) => {
      seenHeaders.push(Object.keys(ctx.headers));
      if (sku === 'gone') throw new OutOfStock(`${sku} is out of stock`);
      return { sku, total: qty * 4 };
    });
    const nest = new ClientKafka({
      client: { brokers: brokers(), clientId: `${prefix}-nest-client`, logLevel: logLevel.NOTHING },
      consumer: { groupId: `${prefix}.nest` },
      subscribe: { fromBeginning: true },
    });
    nest.subscribeToResponseOf(pattern);
    await nest.connect();
    try {
      await expect(firstValueFrom(nest.send(pattern, { sku: 'tea', qty: 2 }))).resolves.toEqual({
        sku: 'tea',
        total: 8,
      });
      const error = await firstValueFrom(nest.send(pattern, { sku: 'gone', qty: 1 })).catch((e: unknown) => e);
      expect(error).toEqual({ code: 'OUT_OF_STOCK', message: 'gone is out of stock', isRetryable: true });
      expect(seenHeaders[0]).toEqual(
        expect.arrayContaining([
          NestKafkaHeaders.correlationId,
          NestKafkaHeaders.replyTopic,
          NestKafkaHeaders.replyPartition,
        ]),
      );
    } finally {
      await nest.close();
    }
  });
});
