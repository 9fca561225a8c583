import { BusError, ClosedError, noopLogger } from '@bus/core';
import { KafkaErrorCode, KafkaPublisher, KafkaTransportError, toKafkaError } from '@bus/kafka';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../src/errors.ts';
import { TypedEvents } from '../src/internal/typed-events.ts';

const protocolError = (type: string, code: number, retriable: boolean) =>
  new kafkajs.KafkaJSProtocolError({ type, code, retriable, message: `broker says ${type}` } as never);

describe('toKafkaError', () => {
  it('maps kafkajs errors to stable codes and retryability', () => {
    const cases: [unknown, string, boolean][] = [
      [
        new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED', { broker: 'h:1' }),
        'KAFKA_CONNECTION_FAILED',
        true,
      ],
      [
        new (kafkajs.KafkaJSSASLAuthenticationError as new (message: string) => Error)(
          'SASL PLAIN authentication failed',
        ),
        'KAFKA_AUTHENTICATION_FAILED',
        false,
      ],
      [protocolError('UNKNOWN_TOPIC_OR_PARTITION', 3, true), 'KAFKA_UNKNOWN_TOPIC', false],
      [protocolError('MESSAGE_TOO_LARGE', 10, false), 'KAFKA_MESSAGE_TOO_LARGE', false],
      [protocolError('REQUEST_TIMED_OUT', 7, true), 'KAFKA_TIMEOUT', true],
      [protocolError('INVALID_TOPIC_EXCEPTION', 17, false), 'INVALID_TOPIC', false],
      [protocolError('TOPIC_AUTHORIZATION_FAILED', 29, false), 'KAFKA_AUTHORIZATION_FAILED', false],
      [protocolError('REBALANCE_IN_PROGRESS', 27, true), 'KAFKA_REBALANCE', true],
      [protocolError('INVALID_PRODUCER_EPOCH', 47, false), 'KAFKA_TRANSACTION_FAILED', false],
      [new kafkajs.KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out'), 'KAFKA_TIMEOUT', true],
      [new Error('something else'), 'KAFKA_ERROR', false],
    ];
    for (const [input, code, retryable] of cases) {
      const error = toKafkaError(input, { operation: 'publish', topic: 't' });
      expect(KafkaTransportError.isInstance(error), code).toBe(true);
      expect(BusError.isInstance(error)).toBe(true);
      expect({ code: error.code, retryable: error.isRetryable }).toEqual({ code, retryable });
      expect(error.cause).toBe(input);
    }
  });

  it('maps a @platformatic/kafka fetch aimed at a broker that left the cluster to a retryable connection failure', () => {
    // What the client throws when a partition's leader was killed: its refreshed metadata no longer lists it.
    const lost = Object.assign(new Error('Cannot find broker with node id 3'), {
      code: 'PLT_KFK_USER',
      canRetry: false,
    });
    const typed = toKafkaError(lost, { operation: 'consume', topic: 't' });
    expect(typed.code).toBe(KafkaErrorCode.CONNECTION_FAILED);
    expect(typed.isRetryable).toBe(true);
    // Other usage errors of the client stay what they were.
    const usage = Object.assign(new Error('Cannot leave group while consuming messages.'), {
      code: 'PLT_KFK_USER',
      canRetry: false,
    });
    expect(toKafkaError(usage, { operation: 'close' })).toMatchObject({
      code: KafkaErrorCode.UNKNOWN,
      isRetryable: false,
    });
  });

  it('unwraps KafkaJSNumberOfRetriesExceeded to the cause', () => {
    const cause = new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1');
    const wrapped = new kafkajs.KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 100 });
    const error = toKafkaError(wrapped, { operation: 'connect' }) as KafkaTransportError;
    expect(error.code).toBe(KafkaErrorCode.CONNECTION_FAILED);
    expect(error.isRetryable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('names the size limit when known', () => {
    const error = toKafkaError(protocolError('MESSAGE_TOO_LARGE', 10, false), {
      operation: 'publish',
      topic: 'small',
      limitBytes: 1024,
    }) as KafkaTransportError;
    expect(error.message).toContain('1024 bytes');
    expect(error.limitBytes).toBe(1024);
    expect(error.topic).toBe('small');
  });

  it('never leaks secrets or URL credentials into messages', () => {
    const error = toKafkaError(new Error('failed for kafka://user:hunter2@h:9092 with hunter2'), {
      operation: 'connect',
      secrets: ['hunter2'],
    });
    expect(error.message).not.toContain('hunter2');
    expect(redactSecrets('kafka://u:pw@h:1')).toBe('kafka://u:***@h:1');
  });

  it('passes bus errors through and keeps markers for isInstance across copies', () => {
    const closed = new ClosedError('x');
    expect(toKafkaError(closed, { operation: 'publish' })).toBe(closed);
    const error = new KafkaTransportError('m', { code: KafkaErrorCode.TIMEOUT, isRetryable: true });
    expect(KafkaTransportError.isInstance(error)).toBe(true);
    expect(KafkaTransportError.isInstance({ ...error })).toBe(false);
    expect(KafkaTransportError.isInstance(new BusError('x', { code: 'X' }))).toBe(false);
    expect(error.name).toBe('KafkaTransportError');
  });
});

describe('compression codecs', () => {
  it.each([
    ['snappy', 'kafkajs-snappy'],
    ['lz4', 'kafkajs-lz4'],
    ['zstd', '@kafkajs/zstd'],
  ] as const)('%s without a registered codec throws KAFKA_COMPRESSION_CODEC_MISSING naming %s', (compression, pkg) => {
    let thrown: unknown;
    try {
      new KafkaPublisher({ brokers: 'a:1', compression });
    } catch (error) {
      thrown = error;
    }
    expect(KafkaTransportError.isInstance(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: KafkaErrorCode.COMPRESSION_CODEC_MISSING });
    expect((thrown as Error).message).toContain(pkg);
  });
});

describe('TypedEvents', () => {
  it('isolates throwing listeners, supports once/off/unsubscribe', () => {
    const warnings: unknown[] = [];
    const events = new TypedEvents<{ tick: number }>({
      ...noopLogger,
      warn: (fields: unknown) => warnings.push(fields),
    });
    const seen: string[] = [];
    events.on('tick', () => {
      throw new Error('listener bug');
    });
    const unsubscribe = events.on('tick', (n) => seen.push(`on${n}`));
    events.once('tick', (n) => seen.push(`once${n}`));
    const offMe = (n: number) => seen.push(`off${n}`);
    events.on('tick', offMe);
    events.emit('tick', 1);
    events.off('tick', offMe);
    unsubscribe();
    events.emit('tick', 2);
    expect(seen).toEqual(['on1', 'once1', 'off1']);
    expect(warnings).toHaveLength(2);
    expect(events.listenerCount('tick')).toBe(1);
    const onceOff = () => seen.push('never');
    events.once('tick', onceOff);
    events.off('tick', onceOff);
    events.emit('tick', 3);
    expect(seen).toEqual(['on1', 'once1', 'off1']);
  });
});
