import { type CloseReport, payloadText, Router, signalsPlugin, textMessage } from '@bus/core';
import { KafkaPublisher, KafkaSubscriber } from '@bus/kafka';
import { uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { brokers, createTopic, waitFor } from './subscriber-helpers.js';

const OTHERS = 1_200;
const SLOW_MS = 3_000;

function subscriber(): KafkaSubscriber {
  return new KafkaSubscriber({ brokers: brokers(), heartbeatIntervalMs: 500, sessionTimeoutMs: 10_000 });
}

interface Outcome {
  readonly ackedBeforeSignal: ReadonlySet<string>;
  readonly handled: readonly string[];
  readonly report: CloseReport;
  /** Messages a restarted member of the group read, in order. */
  readonly afterRestart: readonly string[];
}

/**
 * Issue 9, defect 2, on the real broker: per-key lanes, concurrency 16, one partition (so a message
 * left behind holds back the commit of everything after it). `k-slow` takes 3 s; `k-queued` waits
 * behind it; 1,200 messages of other keys are acked. Then the process receives SIGTERM and
 * signalsPlugin drains the router with `drainMs`. A new member of the group reads what is left.
 */
async function sigtermBehindSlowMessage(drainMs: number): Promise<Outcome> {
  const topic = await createTopic('router-drain', 1);
  const group = uniqueName('router-drain');
  const publisher = new KafkaPublisher({ brokers: brokers() });
  await publisher.publish(
    topic,
    textMessage('k-slow', { key: 'k' }),
    textMessage('k-queued', { key: 'k' }),
    ...Array.from({ length: OTHERS }, (_, i) => textMessage(`o-${i}`, { key: `o${i % 97}` })),
  );

  const handled: string[] = [];
  let slowStarted = false;
  // exitAfterCloseMs: false: the test process outlives the router and must not get SIGTERM again.
  const router = new Router({
    plugins: [signalsPlugin({ signals: ['SIGTERM'], closeTimeoutMs: drainMs, exitAfterCloseMs: false })],
  });
  router.addConsumerHandler({
    name: 'drain',
    subscribeTopic: topic,
    subscriber: subscriber(),
    group,
    concurrency: 16,
    orderBy: 'key',
    handle: (message, { signal }) => {
      const text = payloadText(message);
      if (text !== 'k-slow') {
        // Synchronous: the router acks it as soon as this returns.
        handled.push(text);
        return undefined;
      }
      slowStarted = true;
      // Three seconds of work, unless the drain deadline aborts it first.
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SLOW_MS);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      }).then(() => {
        if (!signal.aborted) handled.push(text);
      });
    },
  });
  const run = router.run();
  await waitFor(() => slowStarted && handled.length === OTHERS, 'the slow message to start and the others to be acked');
  const ackedBeforeSignal = new Set(handled);

  // The real signal path: the process receives SIGTERM and signalsPlugin closes the router.
  process.kill(process.pid, 'SIGTERM');
  await run;
  const report = await router.close();

  // A restarted member of the same group reads whatever was left uncommitted, up to an end marker.
  await publisher.publish(topic, textMessage('end'));
  await publisher.close();
  const restarted = subscriber();
  const afterRestart: string[] = [];
  for await (const message of restarted.subscribe(topic, { group })) {
    message.ack();
    const text = payloadText(message);
    if (text === 'end') break;
    afterRestart.push(text);
  }
  await restarted.close();
  const redelivered = afterRestart.filter((text) => ackedBeforeSignal.has(text)).length;
  console.log(
    `[router-drain] drain ${drainMs} ms: report ${JSON.stringify(report)}; acked before SIGTERM ${ackedBeforeSignal.size}, redelivered after restart ${redelivered}`,
  );
  return { ackedBeforeSignal, handled, report, afterRestart };
}

describe('router drain on SIGTERM (issue 9, defect 2)', () => {
  it('runs the message queued behind the slow one within the deadline: nothing acked before the signal is redelivered', async () => {
    const { ackedBeforeSignal, handled, report, afterRestart } = await sigtermBehindSlowMessage(10_000);
    expect(ackedBeforeSignal.has('k-queued')).toBe(false);
    expect(handled.slice(-2)).toEqual(['k-slow', 'k-queued']);
    expect(report).toEqual({ finished: 2, nacked: 0, uncommitted: 0, deadlineReached: false });
    expect(afterRestart.filter((text) => ackedBeforeSignal.has(text))).toEqual([]);
    expect(afterRestart).toEqual([]);
  }, 120_000);

  it('nacks only at the deadline, and reports how many acked messages the restart will see again', async () => {
    const { ackedBeforeSignal, report, afterRestart } = await sigtermBehindSlowMessage(300);
    expect(report).toEqual({ finished: 0, nacked: 2, uncommitted: OTHERS, deadlineReached: true });
    expect(afterRestart.slice(0, 2)).toEqual(['k-slow', 'k-queued']);
    expect(afterRestart.filter((text) => ackedBeforeSignal.has(text))).toHaveLength(report.uncommitted);
  }, 120_000);
});
