import { instantAck, Router, textMessage } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { context, received } from '../support/received.ts';
import { TestPubSub, until } from '../support/test-pubsub.ts';

describe('instantAck', () => {
  it('acks before the handler runs', async () => {
    const message = received();
    let settlementSeen: string | undefined;
    await instantAck()((m) => {
      settlementSeen = m.settlement;
    })(message, context());
    expect(settlementSeen).toBe('acked');
  });

  it('is at-most-once: a failing handler does not get its message redelivered through the router', async () => {
    const bus = new TestPubSub();
    const router = new Router();
    let calls = 0;
    router.addConsumerHandler({
      name: 'fire-and-forget',
      subscribeTopic: 'metrics',
      subscriber: bus,
      middleware: [instantAck()],
      handle: () => {
        calls++;
        throw new Error('lost on purpose');
      },
    });
    const run = router.run();
    await bus.publish('metrics', textMessage('cpu=3'), textMessage('cpu=4'));
    await until(() => calls === 2 && bus.outstanding === 0, 'both handled');
    await router.close();
    await run;
    expect(bus.eventsOf('ack')).toHaveLength(2);
    expect(bus.eventsOf('nack')).toEqual([]);
    expect(calls).toBe(2);
  });
});
