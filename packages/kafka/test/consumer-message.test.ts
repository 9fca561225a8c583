// Unit tests of how a fetched record is read into a received message (keys, headers, id).
import { ConfigError } from '@bus/core';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaReceivedMessage, type SettlementSink } from '../src/internal/consumer-message.js';
import { dataBytes, heldSize, type PendingRecord, parseDecimal } from '../src/internal/held-record.js';
import { PartitionState } from '../src/internal/partition-state.js';

const decode = { messageIdHeader: 'bus-message-id', binaryKeyHeader: 'bus-key-binary' };
const sink: SettlementSink = { acked: () => {}, nacked: () => {} };

function received(
  raw: Partial<KafkaMessage>,
  state = new PartitionState('t', 3),
  settlementSink: SettlementSink = sink,
): KafkaReceivedMessage {
  const message = {
    key: null,
    value: Buffer.from('payload'),
    timestamp: '1700000000000',
    attributes: 0,
    offset: '42',
    headers: {},
    ...raw,
  } as KafkaMessage;
  state.enqueue([message], 0, 1, Number.POSITIVE_INFINITY);
  const record = state.take() as PendingRecord;
  record.attempts++;
  return new KafkaReceivedMessage(record, state, settlementSink, decode);
}

describe('KafkaReceivedMessage decoding', () => {
  it('returns a UTF-8 key as text, an invalid one as bytes, and a key marked binary as bytes', () => {
    expect(received({ key: Buffer.from('order-ü') }).key).toBe('order-ü');
    // A key that really contains U+FFFD is still valid UTF-8 text.
    expect(received({ key: Buffer.from('a\uFFFDb') }).key).toBe('a\uFFFDb');
    expect(received({ key: Buffer.from([0xff, 0x00, 0x80]) }).key).toEqual(new Uint8Array([0xff, 0x00, 0x80]));
    const marked = received({ key: Buffer.from('text'), headers: { 'bus-key-binary': Buffer.from('1') } });
    expect(marked.key).toEqual(new Uint8Array(Buffer.from('text')));
    expect(marked.headers).toEqual({});
    expect(received({}).key).toBeUndefined();
  });

  it('decodes short keys (ASCII, empty, multi-byte, invalid) as a long key would be', () => {
    expect(received({ key: Buffer.from('k7') }).key).toBe('k7');
    expect(received({ key: Buffer.from('') }).key).toBe('');
    expect(received({ key: Buffer.from('ü') }).key).toBe('ü');
    expect(received({ key: Buffer.from('abcdefgh') }).key).toBe('abcdefgh');
    expect(received({ key: Buffer.from([0x61, 0xff]) }).key).toEqual(new Uint8Array([0x61, 0xff]));
  });

  it('takes the id from its header, keeps the other headers, and survives spreading to forward', () => {
    const withHeaders = received({
      headers: { 'bus-message-id': Buffer.from('id-1'), a: Buffer.from('1'), b: [Buffer.from('x'), Buffer.from('y')] },
    });
    expect(withHeaders.id).toBe('id-1');
    expect(withHeaders.headers).toEqual({ a: '1', b: 'y' });
    const onlyId = received({ headers: { 'bus-message-id': Buffer.from('id-2') } });
    expect(onlyId.headers).toEqual({});
    const forwarded = { ...onlyId, headers: { ...onlyId.headers, extra: 'yes' } };
    expect(forwarded.id).toBe('id-2');
    expect(forwarded.headers).toEqual({ extra: 'yes' });
    expect(received({ headers: {} }).id).toBe('t-3-42');
  });

  it("takes a CloudEvent's ce_id as the id when the id header is absent, and keeps ce_id in the headers", () => {
    const cloudEvent = received({ headers: { ce_id: Buffer.from('ev-1'), ce_type: Buffer.from('OrderPlaced') } });
    expect(cloudEvent.id).toBe('ev-1');
    expect(cloudEvent.headers).toEqual({ ce_id: 'ev-1', ce_type: 'OrderPlaced' });
    // The id header wins when both are there (a message re-published with a new id keeps its ce_id).
    const both = received({ headers: { ce_id: Buffer.from('ev-1'), 'bus-message-id': Buffer.from('id-9') } });
    expect(both.id).toBe('id-9');
    expect(both.headers).toEqual({ ce_id: 'ev-1' });
  });
});

describe('KafkaReceivedMessage binary headers', () => {
  it('puts header values that are not valid UTF-8 in binaryHeaders (owned copies), the rest in headers', () => {
    const bytes = Buffer.from([0x9f, 0x00, 0xff, 0x41]);
    const message = received({
      headers: { uuid: bytes, zero: Buffer.alloc(4), text: Buffer.from('größe'), weird: Buffer.from('a\uFFFDb') },
    });
    expect(message.headers).toEqual({ zero: '\u0000'.repeat(4), text: 'größe', weird: 'a\uFFFDb' });
    expect(message.binaryHeaders).toEqual({ uuid: new Uint8Array(bytes) });
    // Detached from the fetched buffer: changing it later changes nothing.
    bytes[0] = 0;
    expect(message.binaryHeaders?.uuid?.[0]).toBe(0x9f);
    // A binary id header is not an id.
    expect(received({ headers: { 'bus-message-id': Buffer.from([0xff]) } }).id).toBe('t-3-42');
  });

  it('leaves binaryHeaders out when every value is text, and reads a record with an empty value and no key', () => {
    const message = received({ value: Buffer.alloc(0), headers: { a: Buffer.from('1') } });
    expect(message.binaryHeaders).toBeUndefined();
    expect(message.payload).toEqual(new Uint8Array(0));
  });
});

describe('KafkaReceivedMessage repeated header values', () => {
  it("reads a value equal to the previous record's at the same place as that text, and any other value for what it is", () => {
    const read = (headers: Record<string, string | Buffer>) =>
      received({
        headers: Object.fromEntries(
          Object.entries(headers).map(([name, value]) => [
            name,
            typeof value === 'string' ? Buffer.from(value) : value,
          ]),
        ),
      });
    const first = read({ ce_specversion: '1.0', ce_type: 'OrderPlaced', ce_id: 'ev-1' });
    const second = read({ ce_specversion: '1.0', ce_type: 'OrderPlaced', ce_id: 'ev-2' });
    expect(second.headers).toEqual({ ce_specversion: '1.0', ce_type: 'OrderPlaced', ce_id: 'ev-2' });
    expect(second.headers.ce_type).toBe(first.headers.ce_type);
    // Same length, other bytes; the same bytes under another name; text that is not ASCII; bytes that are not text.
    expect(read({ ce_specversion: '2.0', ce_type: 'OrderPlacet', ce_id: 'ev-2' }).headers).toEqual({
      ce_specversion: '2.0',
      ce_type: 'OrderPlacet',
      ce_id: 'ev-2',
    });
    expect(read({ a: '2.0', ce_type: 'OrderPlacet' }).headers).toEqual({ a: '2.0', ce_type: 'OrderPlacet' });
    expect(read({ a: 'größe', ce_type: 'größe' }).headers).toEqual({ a: 'größe', ce_type: 'größe' });
    expect(read({ a: 'größe', ce_type: 'größe' }).headers).toEqual({ a: 'größe', ce_type: 'größe' });
    const binary = read({ a: Buffer.from([0x32, 0x2e, 0xff]), ce_type: 'OrderPlacet' });
    expect(binary.headers).toEqual({ ce_type: 'OrderPlacet' });
    expect(binary.binaryHeaders).toEqual({ a: new Uint8Array([0x32, 0x2e, 0xff]) });
    expect(read({ a: '', ce_type: '' }).headers).toEqual({ a: '', ce_type: '' });
    expect(read({ a: '2.', ce_type: 'O' }).headers).toEqual({ a: '2.', ce_type: 'O' });
  });
});

describe('KafkaReceivedMessage settlement (core rules)', () => {
  it('returns false from ack() and nack() once its partition was revoked, and tells the session once', () => {
    const state = new PartitionState('t', 3);
    let told = 0;
    const message = received({}, state, { acked: () => told++, nacked: () => told++ });
    state.retire();
    expect(message.ack()).toBe(false);
    expect(message.nack()).toBe(false);
    expect(message.ack()).toBe(false);
    expect(message.settlement).toBe('pending');
    // Once, so the session's in-flight count drops exactly once.
    expect(told).toBe(1);
  });

  it('refuses a nack delay outside 0..2^31-1 with a ConfigError and stays unsettled', () => {
    const message = received({});
    for (const delayMs of [-1, 2 ** 31, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => message.nack({ delayMs })).toThrow(ConfigError);
      expect(message.settlement).toBe('pending');
    }
    expect(message.nack({ delayMs: 2 ** 31 - 1 })).toBe(true);
    expect(message.settlement).toBe('nacked');
  });
});

describe('PartitionState.enqueue', () => {
  const record = (offset: number, value = 'v'): KafkaMessage =>
    ({
      key: Buffer.from('k'),
      value: Buffer.from(value),
      timestamp: '1700000000000',
      attributes: 0,
      offset: String(offset),
      headers: { h: Buffer.from('x') },
    }) as KafkaMessage;
  const offsets = (state: PartitionState) => {
    const taken: number[] = [];
    for (let r = state.take(); r !== undefined; r = state.take()) taken.push(r.offset);
    return taken;
  };

  it('keeps every offset of a batch with and without gaps, and passes over records fetched again', () => {
    const state = new PartitionState('t', 0);
    const first = [10, 11, 12, 13].map((o) => record(o));
    expect(state.enqueue(first, 0, 10, Number.POSITIVE_INFINITY).queued).toBe(4);
    expect(offsets(state)).toEqual([10, 11, 12, 13]);
    // 12 and 13 again (a fetch from an older position), then a gap after 15.
    const batch = [12, 13, 14, 15, 18, 19].map((o) => record(o));
    expect(state.enqueue(batch, 0, 10, Number.POSITIVE_INFINITY)).toMatchObject({ next: 6, queued: 4 });
    expect(offsets(state)).toEqual([14, 15, 18, 19]);
    // A batch taken from the middle on: offsets follow positions from there.
    const rest = [20, 21, 22, 23].map((o) => record(o));
    expect(state.enqueue(rest, 2, 10, Number.POSITIVE_INFINITY).queued).toBe(2);
    expect(offsets(state)).toEqual([22, 23]);
  });

  it('counts the same held bytes per record as it copies (key, value, header values and overheads)', () => {
    const state = new PartitionState('t', 0);
    const batch = [record(0, 'abc'), { ...record(1, 'de'), headers: { h: 'text', n: undefined } } as KafkaMessage];
    const { bytes } = state.enqueue(batch, 0, 10, Number.POSITIVE_INFINITY);
    expect(state.outstandingBytes).toBe(bytes);
    const sizes: number[] = [];
    for (let r = state.take(); r !== undefined; r = state.take()) sizes.push(r.size);
    // The sizing pass's measure of each record, which the byte budget was checked against.
    expect(sizes).toEqual(batch.map((m) => heldSize(dataBytes(m))));
  });
});

describe('parseDecimal (offsets and timestamps from kafkajs)', () => {
  it('reads what Number() reads, digits fast and anything else through Number()', () => {
    for (const text of [
      '0',
      '42',
      '1764690000000',
      '999999999999999',
      '9007199254740993',
      '-1',
      '',
      '12a',
      ' 7',
      '1e3',
    ]) {
      expect(parseDecimal(text)).toBe(Number(text));
    }
  });
});
