import { CodecError } from '@bus/codecs';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { registryCodec } from '@bus/codecs/registry';
import { KafkaAdmin, KafkaSubscriber } from '@bus/kafka';
import { pythonEnv, pythonScriptPath, startPythonScript, testInfra, uniqueName } from '@bus/test-infra';
import { beforeAll, describe, expect, it } from 'vitest';
import { realRegistry, registryUrl } from './support/registry.ts';

/** The schema `protobuf_producer.py` builds as a descriptor, as `.proto` text for the reader. */
const shopProto = `
syntax = "proto3";
package shop;
message Order {
  string id = 1;
  int64 amount_cents = 2;
  map<string, string> tags = 3;
  repeated Line lines = 4;
  message Line { string sku = 1; int32 quantity = 2; }
}
message Refund { string order_id = 1; Reason reason = 2; enum Reason { UNKNOWN = 0; DAMAGED = 1; } }
`;

const expected: Record<string, unknown> = {
  'shop.Order': {
    id: 'o-1',
    amountCents: '1234567890123',
    tags: { channel: 'web' },
    lines: [
      { sku: 'sku-1', quantity: 2 },
      { sku: 'sku-2', quantity: 1 },
    ],
  },
  'shop.Order.Line': { sku: 'sku-9', quantity: 7 },
  'shop.Refund': { orderId: 'o-1', reason: 'DAMAGED' },
};

describe("Protobuf written by Confluent's Python ProtobufSerializer", () => {
  beforeAll(async () => {
    await pythonEnv();
  }, 600_000);

  it('decodes top-level and nested messages registered as a base64 FileDescriptorProto', async () => {
    const brokers = testInfra().kafka.brokers;
    const topic = uniqueName('codecs-python-proto');
    const admin = new KafkaAdmin({ brokers });
    await admin.ensureTopics([{ name: topic, partitions: 1 }]);
    await admin.close();

    await using producer = await startPythonScript(pythonScriptPath('protobuf_producer.py'), {
      args: [brokers.join(','), registryUrl(), topic],
    });
    const done = await producer.waitFor((event) => event.type === 'done', 120_000);
    expect(done.undelivered).toBe(0);
    const delivered = producer.events.filter((event) => event.type === 'delivered');
    expect(delivered.map((event) => event.message)).toHaveLength(3);
    const typeAtOffset = new Map(delivered.map((event) => [event.offset as number, event.message as string]));

    // The registry holds what the serializer sent: a base64 descriptor, not .proto text.
    const registry = realRegistry();
    const registered = await registry.getVersion(`${topic}-shop.Order`, 'latest');
    expect(registered.schema.schema).toMatch(/^[A-Za-z0-9+/]+=*$/);

    const readers = Object.fromEntries(
      Object.keys(expected).map((typeName) => [
        typeName,
        registryCodec({ registry, format: protobufSchemaFormat({ proto: shopProto, typeName }) }),
      ]),
    );
    const subscriber = new KafkaSubscriber({ brokers, groupId: uniqueName('codecs-python-proto') });
    const decoded: Record<string, unknown> = {};
    const mismatches: string[] = [];
    try {
      for await (const message of subscriber.subscribe(topic)) {
        const typeName = typeAtOffset.get(message.offset) as string;
        const ctx = { topic, role: 'value' as const };
        decoded[typeName] = await readers[typeName]?.decode(message.payload, ctx);
        // The message indexes decide the writer type: another reader refuses it by name.
        const other = typeName === 'shop.Order' ? 'shop.Order.Line' : 'shop.Order';
        try {
          await readers[other]?.decode(message.payload, ctx);
          mismatches.push(`${other} decoded a ${typeName}`);
        } catch (error) {
          expect(CodecError.isInstance(error) && error.code).toBe('SCHEMA_MISMATCH');
          expect((error as CodecError).message).toContain(`Payload is a ${typeName}, expected ${other}`);
        }
        message.ack();
        if (Object.keys(decoded).length === 3) break;
      }
    } finally {
      await subscriber.close();
    }
    expect(decoded).toEqual(expected);
    expect(mismatches).toEqual([]);
  }, 300_000);
});
