import { ConfigError } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { resolvePublisherOptions, SKIP_ACKNOWLEDGEMENT_CHECK } from '../src/internal/publisher-options.ts';

describe('publisher durability defaults', () => {
  it('acks all with every partition checked; kafkajs idempotence off unless asked for, with bounded retries', () => {
    expect(resolvePublisherOptions({ brokers: 'a:1' })).toMatchObject({
      acks: -1,
      idempotent: false,
      maxInFlightRequests: undefined,
      checkAcknowledgements: true,
    });
    expect(resolvePublisherOptions({ brokers: 'a:1', idempotent: true })).toMatchObject({
      idempotent: true,
      maxInFlightRequests: 5,
      producerRetry: { retries: 5 },
    });
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
