/** TEST HELPER: a stand-alone ReceivedMessage and HandlerContext for calling middleware directly. */
import {
  type HandlerContext,
  type Logger,
  type MessageInit,
  type NackOptions,
  type ReceivedMessage,
  type Settlement,
  createMessage,
  noopLogger,
} from '@bus/core';

export interface TestReceived extends ReceivedMessage {
  readonly nacks: NackOptions[];
}

export function received(
  init: Partial<MessageInit> & { topic?: string; partition?: number; offset?: number; deliveryAttempt?: number } = {},
): TestReceived {
  const message = createMessage({ payload: new Uint8Array([1, 2, 3]), ...init });
  let settlement: Settlement = 'pending';
  const nacks: NackOptions[] = [];
  return {
    ...message,
    topic: init.topic ?? 'orders',
    partition: init.partition ?? 0,
    offset: init.offset ?? 0,
    deliveryAttempt: init.deliveryAttempt ?? 1,
    nacks,
    get settlement() {
      return settlement;
    },
    ack() {
      if (settlement !== 'pending') return false;
      settlement = 'acked';
      return true;
    },
    nack(options: NackOptions = {}) {
      if (settlement !== 'pending') return false;
      settlement = 'nacked';
      nacks.push(options);
      return true;
    },
  };
}

export function context(
  overrides: { signal?: AbortSignal; logger?: Logger; handlerName?: string; onEvent?: HandlerContext['onEvent'] } = {},
): HandlerContext {
  return {
    handlerName: overrides.handlerName ?? 'test-handler',
    signal: overrides.signal ?? new AbortController().signal,
    logger: overrides.logger ?? noopLogger,
    ...(overrides.onEvent === undefined ? {} : { onEvent: overrides.onEvent }),
  };
}
