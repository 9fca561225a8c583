import { ConfigError } from '@bus/core';
import { avroCodec } from '@bus/codecs/avro';
import { jsonCodec } from '@bus/codecs/json';
import { type CommandOf, defineEvent, type EventOf, type NewEvent } from '@bus/cqrs';
import * as v from 'valibot';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { OrderPlaced, type PlaceOrder } from './fixtures.ts';

describe('defineEvent and defineCommand', () => {
  it('infer the handler and publish types from the codec, with no cast', () => {
    expectTypeOf<EventOf<typeof OrderPlaced>['data']>().toEqualTypeOf<{ orderId: string; total: number }>();
    expectTypeOf<EventOf<typeof OrderPlaced>['type']>().toEqualTypeOf<'shop.OrderPlaced'>();
    expectTypeOf<CommandOf<typeof PlaceOrder>['data']>().toEqualTypeOf<{ orderId: string; total: number }>();
    const draft = OrderPlaced.create({ orderId: 'o-1', total: 9.5 }, { aggregateId: 'o-1' });
    expectTypeOf(draft).toEqualTypeOf<NewEvent<typeof OrderPlaced>>();
    // @ts-expect-error a misspelled field does not compile
    OrderPlaced.create({ orderID: 'o-1', total: 9.5 });
    // A command definition is not an event definition.
    expectTypeOf<EventOf<typeof PlaceOrder>>().toBeNever();
  });

  it('infer the data type from any Standard Schema library, valibot as well as zod', () => {
    const ValibotPlaced = defineEvent({
      name: 'ValibotPlaced',
      schema: jsonCodec({ schema: v.object({ orderId: v.string(), total: v.pipe(v.number(), v.minValue(0)) }) }),
    });
    expectTypeOf<EventOf<typeof ValibotPlaced>['data']>().toEqualTypeOf<{ orderId: string; total: number }>();
    // @ts-expect-error a misspelled field does not compile
    ValibotPlaced.create({ orderID: 'o-1', total: 1 });
    const ctx = { topic: 't', role: 'value', headers: {} } as const;
    expect(() => ValibotPlaced.schema.encode({ orderId: 'o-1', total: -1 }, ctx)).toThrow(/total/);
  });

  it('infer the data type from an Avro schema written as const, so a misspelled field fails to compile', () => {
    const AvroPlaced = defineEvent({
      name: 'AvroPlaced',
      schema: avroCodec({
        schema: {
          type: 'record',
          name: 'AvroPlaced',
          fields: [
            { name: 'orderId', type: 'string' },
            { name: 'note', type: ['null', 'string'], default: null },
          ],
        } as const,
      }),
    });
    expectTypeOf<EventOf<typeof AvroPlaced>['data']>().toEqualTypeOf<{ orderId: string; note: string | null }>();
    // @ts-expect-error a misspelled field does not compile
    AvroPlaced.create({ orderID: 'o-1', note: null });
    expect(AvroPlaced.create({ orderId: 'o-1', note: null }).data.orderId).toBe('o-1');
  });

  it('key the message by aggregate id unless a key function is given', () => {
    expect(OrderPlaced.keyOf({ orderId: 'o-1', total: 1 }, { aggregateId: 'agg-7' })).toBe('agg-7');
    expect(OrderPlaced.keyOf({ orderId: 'o-1', total: 1 }, {})).toBeUndefined();
    const keyed = defineEvent({
      name: 'Keyed',
      schema: jsonCodec({ schema: z.object({ customer: z.string() }) }),
      key: (data) => data.customer,
    });
    expect(keyed.keyOf({ customer: 'c-1' }, { aggregateId: 'agg-7' })).toBe('c-1');
    expect(keyed.version).toBe(1);
  });

  it('reject invalid options, listing every problem at once', () => {
    const error = (() => {
      try {
        defineEvent({ name: 'bad name', version: 0, schema: {} as never, key: 'x' as never });
      } catch (e) {
        return e;
      }
    })();
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['name', 'version', 'schema', 'key']);
  });
});
