// Unit tests of how a bus message becomes a driver record (headers in either form, the id header).
import { createMessage } from '@bus/core';
import { describe, expect, it } from 'vitest';
import type { DriverRecord } from '../src/internal/driver/types.js';
import { appendRecord } from '../src/internal/outgoing-message.js';

function record(headers: Record<string, string>, headerMap: boolean, id = 'id-1'): DriverRecord {
  const records: DriverRecord[] = [];
  appendRecord(records, 't', createMessage({ id, payload: new Uint8Array([1]), headers }), 'bus-message-id', headerMap);
  return records[0] as DriverRecord;
}

const text = (headers: DriverRecord['headers']) =>
  Object.fromEntries(
    [...(headers instanceof Map ? headers : Object.entries(headers ?? {}))].map(([name, value]) => [
      name,
      Buffer.isBuffer(value) ? value.toString() : value,
    ]),
  );

describe('appendRecord headers', () => {
  it('hands a Map client every text value as its UTF-8 bytes, repeated values and changed ones alike', () => {
    const sequence = [
      { ce_specversion: '1.0', ce_type: 'OrderPlaced', ce_id: 'ev-1', 'content-type': 'application/json' },
      { ce_specversion: '1.0', ce_type: 'OrderPlaced', ce_id: 'ev-2', 'content-type': 'application/json' },
      { ce_specversion: '2.0', ce_type: 'größe', ce_id: 'ev-2', 'content-type': 'application/json' },
      { a: '1.0', ce_specversion: 'OrderPlaced', ce_type: '', ce_id: 'ev-3' },
    ];
    for (const headers of sequence) {
      const map = record(headers, true, headers.ce_id).headers as Map<string, Buffer>;
      expect(map).toBeInstanceOf(Map);
      for (const value of map.values()) expect(Buffer.isBuffer(value)).toBe(true);
      // ce_id equals the message id: no id header.
      expect(text(map)).toEqual(headers);
    }
  });

  it('writes the id header unless ce_id holds the id, in both forms', () => {
    for (const headerMap of [true, false]) {
      expect(text(record({ ce_id: 'other' }, headerMap).headers)).toEqual({ ce_id: 'other', 'bus-message-id': 'id-1' });
      expect(text(record({ ce_id: 'id-1' }, headerMap).headers)).toEqual({ ce_id: 'id-1' });
    }
  });
});
