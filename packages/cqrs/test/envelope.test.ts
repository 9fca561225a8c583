import { CqrsError, CloudEventHeaders, envelopeFromHeaders, envelopeHeaders, type Envelope } from '@bus/cqrs';
import { CloudEvent, Kafka, type KafkaMessage } from 'cloudevents';
import { describe, expect, it } from 'vitest';

const envelope: Envelope = {
  id: 'e-1',
  type: 'shop.OrderPlaced',
  version: 2,
  source: 'urn:shop:orders',
  time: new Date('2026-01-02T03:04:05.000Z'),
  aggregateId: 'o-1',
  aggregateType: 'order',
  aggregateVersion: 3,
  correlationId: 'c-1',
  causationId: 'e-0',
  tenant: 't-1',
  actor: 'alice',
  metadata: { channel: 'web' },
  contentType: 'application/json',
};

describe('the CloudEvents envelope', () => {
  it('is written as binary-mode Kafka headers with lowercase alphanumeric extension names', () => {
    const headers = envelopeHeaders(envelope);
    expect(headers).toEqual({
      ce_specversion: '1.0',
      ce_id: 'e-1',
      ce_type: 'shop.OrderPlaced',
      ce_source: 'urn:shop:orders',
      ce_time: '2026-01-02T03:04:05.000Z',
      ce_subject: 'o-1',
      ce_typeversion: '2',
      ce_aggregatetype: 'order',
      ce_aggregateversion: '3',
      ce_correlationid: 'c-1',
      ce_causationid: 'e-0',
      ce_tenant: 't-1',
      ce_actor: 'alice',
      ce_metadata: '{"channel":"web"}',
      'content-type': 'application/json',
    });
    for (const name of Object.values(CloudEventHeaders)) {
      if (name.startsWith('ce_')) expect(name.slice(3)).toMatch(/^[a-z0-9]{1,20}$/);
    }
    expect(envelopeFromHeaders(headers)).toEqual(envelope);
  });

  it('is read by the cloudevents SDK Kafka binding, and reads what the SDK writes', () => {
    const payload = Buffer.from(JSON.stringify({ orderId: 'o-1', total: 9.5 }));
    const received: KafkaMessage<Buffer> = {
      headers: envelopeHeaders(envelope),
      key: 'o-1',
      value: payload,
      body: payload,
    };
    const event = Kafka.toEvent(received) as CloudEvent<unknown>;
    expect(event.id).toBe('e-1');
    expect(event.type).toBe('shop.OrderPlaced');
    expect(event.source).toBe('urn:shop:orders');
    expect(event.subject).toBe('o-1');
    expect(new Date(event.time as string).toISOString()).toBe('2026-01-02T03:04:05.000Z');
    expect(event.correlationid).toBe('c-1');
    expect(event.data).toEqual({ orderId: 'o-1', total: 9.5 });

    const sdkEvent = new CloudEvent({
      id: 'sdk-1',
      type: 'shop.OrderPlaced',
      source: 'urn:other',
      subject: 'o-2',
      time: '2026-03-04T05:06:07.000Z',
      datacontenttype: 'application/json',
      correlationid: 'c-9',
      data: { orderId: 'o-2', total: 1 },
    });
    const message = Kafka.binary(sdkEvent);
    const read = envelopeFromHeaders(message.headers as Record<string, string>);
    expect(read).toMatchObject({
      id: 'sdk-1',
      type: 'shop.OrderPlaced',
      source: 'urn:other',
      aggregateId: 'o-2',
      correlationId: 'c-9',
      version: 1,
      contentType: 'application/json',
    });
    expect(read.time.toISOString()).toBe('2026-03-04T05:06:07.000Z');
  });

  it('leaves out the type version when it is 1, and takes the transport message id when ce_id is absent', () => {
    const { ce_id, ce_typeversion, ...headers } = envelopeHeaders({ ...envelope, version: 1 });
    expect(ce_typeversion).toBeUndefined();
    expect(ce_id).toBe('e-1');
    expect(envelopeFromHeaders(headers, { id: 'from-transport' })).toEqual({
      ...envelope,
      version: 1,
      id: 'from-transport',
    });
    expect(() => envelopeFromHeaders(headers)).toThrow('ce_id is missing');
  });

  it('writes and reads each event its own time, also for runs of events within one millisecond', () => {
    const at = (ms: number) => ({ ...envelope, time: new Date(ms) });
    const times = [1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_000];
    const texts = times.map((ms) => envelopeHeaders(at(ms)).ce_time);
    expect(texts).toEqual(times.map((ms) => new Date(ms).toISOString()));
    const read = texts.map(
      (text) => envelopeFromHeaders({ ...envelopeHeaders(envelope), ce_time: text as string }).time,
    );
    expect(read.map((time) => time.getTime())).toEqual(times);
    // Each read is a Date of its own: changing one leaves the next untouched.
    read[0]?.setTime(0);
    expect(envelopeFromHeaders({ ...envelopeHeaders(envelope), ce_time: texts[1] as string }).time.getTime()).toBe(
      times[1],
    );
    expect(() => envelopeFromHeaders({ ...envelopeHeaders(envelope), ce_time: 'yesterday' })).toThrow(CqrsError);
  });

  it('refuses headers that are not a CloudEvent, naming every problem', () => {
    const error = (() => {
      try {
        envelopeFromHeaders({ ce_specversion: '0.3', ce_time: 'yesterday', ce_aggregateversion: 'x' });
      } catch (e) {
        return e;
      }
    })();
    expect(CqrsError.isInstance(error)).toBe(true);
    expect((error as CqrsError).code).toBe('INVALID_ENVELOPE');
    expect((error as Error).message).toContain('ce_specversion is not 1.0');
    expect((error as Error).message).toContain('ce_id is missing');
    expect((error as Error).message).toContain('ce_time is not an RFC 3339 time');
    expect((error as Error).message).toContain('ce_aggregateversion is not an integer');
  });
});
