import { type CloseReport, MemoryBroker, payloadText, Router, textMessage } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { gate } from './support/deferred.ts';
import { until } from './support/test-pubsub.ts';

const OTHERS = 1_200;

interface Scenario {
  readonly broker: MemoryBroker;
  readonly topic: string;
  /** Texts of the messages acked before `close()` was called. */
  readonly ackedBeforeClose: ReadonlySet<string>;
  /** Texts of every message whose handler ran to the end, in completion order. */
  readonly handled: readonly string[];
  readonly report: CloseReport;
}

/**
 * Issue 9, defect 2: per-key lanes, concurrency 16, one partition. A slow message of key `k` runs;
 * a later message of `k` waits behind it; 1,200 messages of other keys are acked. Then the router
 * closes, and `release` decides when the slow handler may finish.
 */
async function drainBehindSlowMessage(options: {
  timeoutMs: number;
  release: (close: Promise<CloseReport>, finish: () => void) => Promise<void>;
}): Promise<Scenario> {
  const broker = new MemoryBroker({ defaultPartitions: 1 });
  const topic = 'drain-in';
  await broker
    .publisher()
    .publish(
      topic,
      textMessage('k-slow', { key: 'k' }),
      textMessage('k-queued', { key: 'k' }),
      ...Array.from({ length: OTHERS }, (_, i) => textMessage(`o-${i}`, { key: `o${i % 97}` })),
    );
  const handled: string[] = [];
  const slow = gate();
  let slowStarted = false;
  const router = new Router({ closeTransports: false });
  router.addConsumerHandler({
    name: 'drain',
    subscribeTopic: topic,
    subscriber: broker.subscriber(),
    group: 'drain',
    concurrency: 16,
    orderBy: 'key',
    handle: (message, { signal }) => {
      const text = payloadText(message);
      if (text !== 'k-slow') {
        handled.push(text);
        return undefined;
      }
      slowStarted = true;
      const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      return Promise.race([slow.promise, aborted]).then(() => {
        if (!signal.aborted) handled.push(text);
      });
    },
  });
  const run = router.run();
  await until(() => slowStarted && handled.length === OTHERS, 'the slow message running and the others acked');
  const ackedBeforeClose = new Set(handled);
  const closing = router.close({ timeoutMs: options.timeoutMs });
  await options.release(closing, () => slow.resolve());
  const report = await closing;
  await run;
  return { broker, topic, ackedBeforeClose, handled, report };
}

/** What a restarted member of the same group reads: everything left uncommitted, up to an end marker. */
async function readAfterRestart(broker: MemoryBroker, topic: string): Promise<string[]> {
  await broker.publisher().publish(topic, textMessage('end'));
  const read: string[] = [];
  for await (const message of broker.subscriber().subscribe(topic, { group: 'drain' })) {
    message.ack();
    const text = payloadText(message);
    if (text === 'end') break;
    read.push(text);
  }
  return read;
}

describe('Router drain (issue 9, defect 2)', () => {
  it('runs a message queued behind a slow one of its key before closing: nothing acked is redelivered', async () => {
    const { broker, topic, ackedBeforeClose, handled, report } = await drainBehindSlowMessage({
      timeoutMs: 10_000,
      release: async (_closing, finish) => finish(),
    });
    expect(handled.slice(-2)).toEqual(['k-slow', 'k-queued']);
    expect(report).toEqual({ finished: 2, nacked: 0, uncommitted: 0, deadlineReached: false });
    const after = await readAfterRestart(broker, topic);
    expect(after.filter((text) => ackedBeforeClose.has(text))).toEqual([]);
    expect(after).toEqual([]);
    await broker.close();
  });

  it('nacks at the deadline only, and reports the acked messages its commit is left behind', async () => {
    const { broker, topic, ackedBeforeClose, handled, report } = await drainBehindSlowMessage({
      timeoutMs: 50,
      // The slow handler never finishes by itself: the deadline aborts it.
      release: async () => {},
    });
    expect(handled).not.toContain('k-slow');
    expect(handled).not.toContain('k-queued');
    expect(report).toEqual({ finished: 0, nacked: 2, uncommitted: OTHERS, deadlineReached: true });
    const after = await readAfterRestart(broker, topic);
    expect(after.slice(0, 2)).toEqual(['k-slow', 'k-queued']);
    // The report's count is what the restart delivers again.
    expect(after.filter((text) => ackedBeforeClose.has(text))).toHaveLength(report.uncommitted);
    await broker.close();
  });

  it('keeps running queued messages when a drain begins, and counts what it finished', async () => {
    const broker = new MemoryBroker({ defaultPartitions: 2 });
    const release = gate();
    const entered: string[] = [];
    const router = new Router({ closeTransports: false });
    router.addConsumerHandler({
      name: 'lanes',
      subscribeTopic: 'lanes-in',
      subscriber: broker.subscriber(),
      group: 'lanes',
      concurrency: 2,
      orderBy: 'key',
      handle: async (message) => {
        entered.push(payloadText(message));
        await release.promise;
      },
    });
    const run = router.run();
    await broker
      .publisher()
      .publish(
        'lanes-in',
        ...['a1', 'a2', 'a3', 'b1', 'b2', 'c1'].map((text) => textMessage(text, { key: text.slice(0, 1) })),
      );
    await until(() => entered.length === 2, 'two handlers running');
    const closing = router.close({ timeoutMs: 10_000 });
    release.resolve();
    const report = await closing;
    await run;
    expect(report).toEqual({ finished: 6, nacked: 0, uncommitted: 0, deadlineReached: false });
    for (const key of ['a', 'b']) {
      const ofKey = entered.filter((text) => text.startsWith(key));
      expect(ofKey).toEqual([...ofKey].sort());
    }
    expect(broker.committedOffsets('lanes-in', 'lanes')?.reduce((a, b) => a + b, 0)).toBe(6);
    await broker.close();
  });
});
