import {
  CORRELATION_ID_HEADER,
  ConfigError,
  correlationId,
  correlationIdOf,
  type Logger,
  noopLogger,
  textMessage,
} from '@bus/core';
import { describe, expect, it } from 'vitest';
import { context, received } from '../support/received.ts';

describe('correlationId', () => {
  it('copies the incoming correlation id to every returned message and binds it to the logger', async () => {
    const bindings: Record<string, unknown>[] = [];
    const logger: Logger = {
      ...noopLogger,
      child: (b) => {
        bindings.push(b);
        return noopLogger;
      },
    };
    const handler = correlationId()(() => [
      textMessage('a'),
      textMessage('b', { headers: { [CORRELATION_ID_HEADER]: 'kept' } }),
    ]);
    const output = await handler(received({ headers: { [CORRELATION_ID_HEADER]: 'corr-1' } }), context({ logger }));
    expect(output?.map((m) => m.headers[CORRELATION_ID_HEADER])).toEqual(['corr-1', 'kept']);
    expect(bindings).toEqual([{ correlationId: 'corr-1' }]);
  });

  it('creates an id for messages without one, visible through correlationIdOf', async () => {
    let seen: string | undefined;
    const message = received();
    const handler = correlationId({ header: 'x-corr', generate: () => 'generated-1' })((m) => {
      seen = correlationIdOf(m, 'x-corr');
      return [textMessage('out')];
    });
    const output = await handler(message, context());
    expect(seen).toBe('generated-1');
    expect(output?.[0]?.headers['x-corr']).toBe('generated-1');
    expect(correlationIdOf(received({ headers: { [CORRELATION_ID_HEADER]: 'h' } }))).toBe('h');
  });

  it('passes empty output through and validates its options', async () => {
    await expect(correlationId()(() => undefined)(received(), context())).resolves.toBeUndefined();
    expect(() => correlationId({ header: '', generate: 'no' as never })).toThrow(ConfigError);
  });
});
