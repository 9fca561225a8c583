import { CodecError, createMarshaler, stringCodec } from '@bus/codecs';
import { avroCodec } from '@bus/codecs/avro';
import { jsonCodec } from '@bus/codecs/json';
import { ConfigError, type ReceivedMessage, createMessage } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type OrderPlaced, orderSchemaV1, sampleOrder } from './fixtures.ts';

const OrderSchema = z.object({ orderId: z.string(), total: z.number() });

function received(message: ReturnType<typeof createMessage>, offset: number): ReceivedMessage {
  return {
    ...message,
    topic: 'orders',
    partition: 1,
    offset,
    deliveryAttempt: 1,
    settlement: 'pending',
    ack: () => true,
    nack: () => true,
  };
}

describe('createMarshaler', () => {
  it('marshals a typed value with content-type, type header, key and extra headers', async () => {
    const orders = createMarshaler({
      codec: jsonCodec({ schema: OrderSchema }),
      type: 'OrderPlaced',
      key: (order) => order.orderId,
    });
    const message = await orders.marshal(
      { orderId: 'o-1', total: 3 },
      { topic: 'orders', headers: { trace: 't1', 'content-type': 'wrong' }, id: 'id-1', timestamp: 5 },
    );
    expect(message).toMatchObject({
      id: 'id-1',
      key: 'o-1',
      timestamp: 5,
      headers: { 'content-type': 'application/json', 'bus-type': 'OrderPlaced', trace: 't1' },
    });
    expect(orders.typeOf(message)).toBe('OrderPlaced');
    expect(await orders.unmarshal(message)).toEqual({ orderId: 'o-1', total: 3 });
    expect(await orders.unmarshalKey(message)).toBe('o-1');
  });

  it('names the type per value and uses a custom header', async () => {
    type Event = { kind: 'created'; id: string } | { kind: 'deleted'; id: string };
    const events = createMarshaler<Event>({ codec: jsonCodec<Event>(), type: (e) => e.kind, typeHeader: 'event-type' });
    const message = await events.marshal({ kind: 'deleted', id: 'x' }, { topic: 't' });
    expect(message.headers['event-type']).toBe('deleted');
    expect(message.key).toBeUndefined();
  });

  it('encodes keys and values with different codecs on one topic', async () => {
    const orders = createMarshaler({
      codec: avroCodec<OrderPlaced>({ schema: orderSchemaV1 }),
      keyCodec: jsonCodec<{ customerId: string }>(),
      key: (order) => ({ customerId: order.customerId }),
    });
    const order = sampleOrder(2);
    const message = await orders.marshal(order, { topic: 'orders' });
    expect(message.key).toEqual(new TextEncoder().encode('{"customerId":"customer-2"}'));
    expect(message.headers['content-type']).toBe('application/avro');
    expect(await orders.unmarshal(message)).toEqual(order);
    expect(await orders.unmarshalKey(message)).toEqual({ customerId: 'customer-2' });
  });

  it('refuses a message of another type instead of misreading it', async () => {
    const orders = createMarshaler({ codec: jsonCodec(), type: 'OrderPlaced' });
    const other = createMessage({ payload: new TextEncoder().encode('{}'), headers: { 'bus-type': 'OrderShipped' } });
    const error = await orders.unmarshal(received(other, 41)).catch((e: unknown) => e);
    expect(CodecError.isInstance(error) && error.code).toBe('TYPE_MISMATCH');
    expect((error as CodecError).offset).toBe(41);
  });

  it('carries topic, partition and offset of a received message into decode errors', async () => {
    const orders = createMarshaler({ codec: jsonCodec({ schema: OrderSchema }) });
    const bad = received(createMessage({ payload: new TextEncoder().encode('{"orderId":1}') }), 12);
    const error = (await orders.unmarshal(bad).catch((e: unknown) => e)) as CodecError;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect({ topic: error.topic, partition: error.partition, offset: error.offset, role: error.role }).toEqual({
      topic: 'orders',
      partition: 1,
      offset: 12,
      role: 'value',
    });
    const keyed = createMarshaler({ codec: stringCodec, keyCodec: stringCodec, key: (v: string) => v });
    const badKey = received(createMessage({ payload: new Uint8Array(), key: new Uint8Array([0xff]) }), 3);
    const keyError = (await keyed.unmarshalKey(badKey).catch((e: unknown) => e)) as CodecError;
    expect(keyError.code).toBe('INVALID_UTF8');
    expect(keyError.role).toBe('key');
  });

  it('rejects a key function returning a non-key without a key codec', async () => {
    const m = createMarshaler({ codec: jsonCodec<{ n: number }>(), key: (v) => v.n as unknown as string });
    const error = (await m.marshal({ n: 1 }, { topic: 't' }).catch((e: unknown) => e)) as CodecError;
    expect(error.code).toBe('ENCODE_FAILED');
    expect(error.role).toBe('key');
  });

  it('reports every bad option at once', () => {
    try {
      createMarshaler({ codec: {} as never, type: '', typeHeader: '', keyCodec: stringCodec } as never);
      expect.unreachable();
    } catch (error) {
      expect(ConfigError.isInstance(error)).toBe(true);
      expect((error as ConfigError).issues.map((issue) => issue.path).sort()).toEqual([
        'codec',
        'key',
        'type',
        'typeHeader',
      ]);
    }
  });
});
