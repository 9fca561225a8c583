import { ConfigError } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { resolvePublisherOptions, SKIP_ACKNOWLEDGEMENT_CHECK } from '../src/internal/publisher-options.ts';

describe('publisher durability defaults', () => {
  it('turns the idempotent producer on with acks all, at most 5 requests in flight, bounded kafkajs retries', () => {
    const options = resolvePublisherOptions({ brokers: 'a:1' });
    expect(options).toMatchObject({
      acks: -1,
      idempotent: true,
      maxInFlightRequests: 5,
      producerRetry: { retries: 5 },
      checkAcknowledgements: true,
    });
  });

  it('leaves it off when acks is not "all" or another option rules it out, unless asked for', () => {
    expect(resolvePublisherOptions({ brokers: 'a:1', acks: 1 }).idempotent).toBe(false);
    expect(resolvePublisherOptions({ brokers: 'a:1', maxInFlightBatches: 10 }).idempotent).toBe(false);
    expect(resolvePublisherOptions({ brokers: 'a:1', maxInFlightRequests: 10 })).toMatchObject({
      idempotent: false,
      maxInFlightRequests: 10,
    });
    expect(resolvePublisherOptions({ brokers: 'a:1', retry: { retries: 0 } }).idempotent).toBe(false);
    expect(() => resolvePublisherOptions({ brokers: 'a:1', idempotent: true, maxInFlightBatches: 10 })).toThrow(
      ConfigError,
    );
  });

  it('checks acknowledgements per partition unless acks is 0 or the internal switch turns it off', () => {
    expect(resolvePublisherOptions({ brokers: 'a:1', acks: 0 }).checkAcknowledgements).toBe(false);
    const skipped = { brokers: 'a:1', [SKIP_ACKNOWLEDGEMENT_CHECK]: true };
    expect(resolvePublisherOptions(skipped).checkAcknowledgements).toBe(false);
  });
});

describe('closeTimeoutMs', () => {
  it('defaults to 5 s and is validated with the other options', () => {
    expect(resolvePublisherOptions({ brokers: 'a:1' }).closeTimeoutMs).toBe(5_000);
    expect(resolvePublisherOptions({ brokers: 'a:1', closeTimeoutMs: 0 }).closeTimeoutMs).toBe(0);
    let error: unknown;
    try {
      resolvePublisherOptions({ brokers: 'a:1', closeTimeoutMs: -1, timeoutMs: 0 });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((issue) => issue.path).sort()).toEqual(['closeTimeoutMs', 'timeoutMs']);
  });
});
