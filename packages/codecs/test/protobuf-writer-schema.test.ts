import { CodecError } from '@bus/codecs';
import { protobufSchemaFormat } from '@bus/codecs/protobuf';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { protobuf } from '../src/internal/protobufjs.js';

const ctx = { topic: 'shop', role: 'value' as const };

/**
 * What Confluent's Python ProtobufSerializer registered for the schema below (captured from
 * `tools/test-infra/python/protobuf_producer.py`): a base64 FileDescriptorProto. Its Order has a
 * map field, so the descriptor lists the synthetic TagsEntry before Line: Line's indexes are [0, 1].
 */
const pythonDescriptor =
  'CgpzaG9wLnByb3RvEgRzaG9wIsMBCgVPcmRlchIKCgJpZBgBIAEoCRIUCgxhbW91bnRfY2VudHMYAiABKAMSIwoEdGFncxgDIAMoCzIVLnNob3AuT3JkZXIuVGFnc0VudHJ5Eh8KBWxpbmVzGAQgAygLMhAuc2hvcC5PcmRlci5MaW5lGisKCVRhZ3NFbnRyeRILCgNrZXkYASABKAkSDQoFdmFsdWUYAiABKAk6AjgBGiUKBExpbmUSCwoDc2t1GAEgASgJEhAKCHF1YW50aXR5GAIgASgFImMKBlJlZnVuZBIQCghvcmRlcl9pZBgBIAEoCRIjCgZyZWFzb24YAiABKA4yEy5zaG9wLlJlZnVuZC5SZWFzb24iIgoGUmVhc29uEgsKB1VOS05PV04QABILCgdEQU1BR0VEEAFiBnByb3RvMw==';

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

function body(typeName: string, value: Record<string, unknown>): Uint8Array {
  const type = protobuf.parse(shopProto).root.lookupType(typeName);
  return type.encode(type.fromObject(value)).finish();
}

async function decodeWith(typeName: string, schema: string, indexes: number[], bytes: Uint8Array): Promise<unknown> {
  const format = protobufSchemaFormat({ proto: shopProto, typeName });
  const decoder = format.decoderFor({ schemaType: 'PROTOBUF', schema }, ctx);
  return decoder(bytes, 0, indexes, ctx);
}

async function codecError(run: () => Promise<unknown>): Promise<CodecError> {
  try {
    await run();
  } catch (error) {
    expect(CodecError.isInstance(error)).toBe(true);
    return error as CodecError;
  }
  throw new Error('expected a CodecError');
}

describe('protobuf writer schemas registered as a base64 FileDescriptorProto', () => {
  it('decodes the top-level message at [0]', async () => {
    const bytes = body('shop.Order', {
      id: 'o-1',
      amountCents: 5,
      tags: { a: 'b' },
      lines: [{ sku: 's', quantity: 1 }],
    });
    expect(await decodeWith('shop.Order', pythonDescriptor, [0], bytes)).toEqual({
      id: 'o-1',
      amountCents: '5',
      tags: { a: 'b' },
      lines: [{ sku: 's', quantity: 1 }],
    });
  });

  it('decodes a nested message by the indexes Confluent counts (map entries included) and a second top-level one', async () => {
    expect(
      await decodeWith('shop.Order.Line', pythonDescriptor, [0, 1], body('shop.Order.Line', { sku: 'x', quantity: 3 })),
    ).toEqual({
      sku: 'x',
      quantity: 3,
    });
    expect(
      await decodeWith('shop.Refund', pythonDescriptor, [1], body('shop.Refund', { orderId: 'o', reason: 1 })),
    ).toEqual({
      orderId: 'o',
      reason: 'DAMAGED',
    });
  });

  it('refuses a payload of another message type with SCHEMA_MISMATCH', async () => {
    const error = await codecError(() => decodeWith('shop.Order.Line', pythonDescriptor, [1], new Uint8Array()));
    expect(error.code).toBe('SCHEMA_MISMATCH');
    expect(error.message).toContain('Payload is a shop.Refund, expected shop.Order.Line');
    const missing = await codecError(() => decodeWith('shop.Order', pythonDescriptor, [7], new Uint8Array()));
    expect(missing.code).toBe('SCHEMA_MISMATCH');
  });

  it('reports a descriptor that imports other files as UNSUPPORTED_SCHEMA', async () => {
    const { FileDescriptorProto } = createRequire(import.meta.url)('protobufjs/ext/descriptor');
    const withImport = FileDescriptorProto.encode({
      name: 'a.proto',
      package: 'a',
      dependency: ['google/protobuf/timestamp.proto'],
      messageType: [
        { name: 'A', field: [{ name: 't', number: 1, label: 1, type: 11, typeName: '.google.protobuf.Timestamp' }] },
      ],
    }).finish();
    const error = await codecError(() =>
      decodeWith('shop.Order', Buffer.from(withImport).toString('base64'), [0], new Uint8Array()),
    );
    expect(error.code).toBe('UNSUPPORTED_SCHEMA');
    expect(error.message).toContain('imports google/protobuf/timestamp.proto');
  });
});

describe('unsupported protobuf writer schemas', () => {
  it('are UNSUPPORTED_SCHEMA, not SCHEMA_MISMATCH, and the message quotes at most 200 characters of them', async () => {
    const garbage = `${'x'.repeat(5_000)}!`;
    const error = await codecError(() => decodeWith('shop.Order', garbage, [0], new Uint8Array()));
    expect(error.code).toBe('UNSUPPORTED_SCHEMA');
    expect(error.message).toMatch(/neither \.proto text nor a base64 FileDescriptorProto/);
    expect(error.message).toContain('…');
    expect(error.message.length).toBeLessThan(400);
    const notDescriptor = await codecError(() => decodeWith('shop.Order', '////'.repeat(1_000), [0], new Uint8Array()));
    expect(notDescriptor.code).toBe('UNSUPPORTED_SCHEMA');
    expect(notDescriptor.message.length).toBeLessThan(400);
  });

  it('still reads .proto text, counting indexes as protoc does (a map field before Line adds TagsEntry)', async () => {
    expect(
      await decodeWith('shop.Order.Line', shopProto, [0, 1], body('shop.Order.Line', { sku: 'y', quantity: 1 })),
    ).toEqual({ sku: 'y', quantity: 1 });
    const entry = await codecError(() => decodeWith('shop.Order.Line', shopProto, [0, 0], new Uint8Array()));
    expect(entry.code).toBe('SCHEMA_MISMATCH');
  });
});

describe('message indexes of .proto text', () => {
  const indexesOf = (proto: string, typeName: string) => protobufSchemaFormat({ proto, typeName }).messageIndexes;

  it('match what Python registered as a descriptor for the same schema', () => {
    expect(indexesOf(shopProto, 'shop.Order')).toEqual([0]);
    expect(indexesOf(shopProto, 'shop.Order.Line')).toEqual([0, 1]);
    expect(indexesOf(shopProto, 'shop.Refund')).toEqual([1]);
  });

  it('count map entries where the map field is declared, and skip enums, oneofs, options and fields named like keywords', () => {
    const proto = `
      syntax = "proto3";
      package p;
      message A {
        option (my.opt) = { message: "x" };
        enum E { Z = 0; }
        message First { string message = 1; }
        oneof choice { string s = 1; int32 i = 2; }
        map<string, First> by_name = 3;
        message Second { map<int32, string> inner_map = 1; message Deep {} }
        string map = 4;
        map<string, string> more_tags = 5;
        message Third {}
      }
      message B {}
    `;
    expect(indexesOf(proto, 'p.A.First')).toEqual([0, 0]);
    expect(indexesOf(proto, 'p.A.Second')).toEqual([0, 2]);
    expect(indexesOf(proto, 'p.A.Second.Deep')).toEqual([0, 2, 1]);
    expect(indexesOf(proto, 'p.A.Third')).toEqual([0, 4]);
    expect(indexesOf(proto, 'p.B')).toEqual([1]);
  });

  it('count proto2 groups as nested messages', () => {
    const proto = `
      syntax = "proto2";
      message Outer {
        optional group Result = 1 { optional string url = 2; }
        message After {}
      }
    `;
    expect(indexesOf(proto, 'Outer.After')).toEqual([0, 1]);
  });

  it('are unchanged for nested messages declared before any map field', () => {
    const proto = 'syntax = "proto3"; package q; message A { message B {} map<string, string> m = 1; message C {} }';
    expect(indexesOf(proto, 'q.A.B')).toEqual([0, 0]);
    expect(indexesOf(proto, 'q.A.C')).toEqual([0, 2]);
  });
});
