import { ConfigError, type ReceivedMessage, payloadText, Router, TimeoutError, textMessage } from '@bus/core';
import { KafkaAdmin, KafkaErrorCode, KafkaPublisher, KafkaSubscriber, KafkaTransportError } from '@bus/kafka';
import { testInfra, uniqueName } from '@bus/test-infra';
import { describe, expect, it } from 'vitest';
import { createTopic, readBack } from './publisher-helpers.ts';

const brokers = () => testInfra().kafka.brokers;

function values(records: { value: Buffer | null }[]): string[] {
  return records.map((r) => r.value?.toString() ?? '').sort();
}

describe('KafkaPublisher transactions (real broker)', () => {
  it('committed records are visible to read_committed readers, aborted ones never', async () => {
    const topic = await createTopic('tx-visibility');
    await using publisher = new KafkaPublisher({ brokers: brokers(), transactionalId: uniqueName('tx-vis') });
    await publisher.transaction(async (tx) => {
      await tx.publish(topic, textMessage('a'), textMessage('b'));
    });
    const boom = new Error('boom');
    await expect(
      publisher.transaction(async (tx) => {
        await tx.publish(topic, textMessage('aborted'));
        throw boom;
      }),
    ).rejects.toBe(boom);
    const result = await publisher.transaction(async (tx) => {
      await tx.publish(topic, textMessage('c'));
      return 42;
    });
    expect(result).toBe(42);

    // read_committed: everything committed, in order, and the aborted record never shows up.
    expect(values(await readBack(topic, 3))).toEqual(['a', 'b', 'c']);
    // read_uncommitted proves the aborted record was really written.
    expect(values(await readBack(topic, 4, { readCommitted: false }))).toEqual(['a', 'aborted', 'b', 'c']);
    expect(publisher.stats()).toMatchObject({ transactionsCommitted: 2, transactionsAborted: 1 });
  });

  it('serializes concurrent transaction() calls on one publisher', async () => {
    const topic = await createTopic('tx-serial');
    await using publisher = new KafkaPublisher({ brokers: brokers(), transactionalId: uniqueName('tx-ser') });
    const timeline: string[] = [];
    await Promise.all(
      [1, 2, 3].map((n) =>
        publisher.transaction(async (tx) => {
          timeline.push(`begin${n}`);
          await tx.publish(topic, textMessage(`t${n}`));
          timeline.push(`end${n}`);
        }),
      ),
    );
    expect(timeline).toEqual(['begin1', 'end1', 'begin2', 'end2', 'begin3', 'end3']);
    expect(values(await readBack(topic, 3))).toEqual(['t1', 't2', 't3']);
  });

  it('aborts, and reports, a publish the callback started but did not await when it fails', async () => {
    await using publisher = new KafkaPublisher({ brokers: brokers(), transactionalId: uniqueName('tx-float') });
    const error = await publisher
      .transaction(async (tx) => {
        void tx.publish('not a valid topic!', textMessage('x')).catch(() => {});
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: KafkaErrorCode.INVALID_TOPIC });
    expect(publisher.stats().transactionsAborted).toBe(1);
  });

  it('a callback that never settles is aborted at timeoutMs, and the transactions queued behind it go on', async () => {
    const topic = await createTopic('tx-stuck');
    await using publisher = new KafkaPublisher({ brokers: brokers(), transactionalId: uniqueName('tx-stuck') });
    let signal: AbortSignal | undefined;
    let publishedInside!: () => void;
    const inside = new Promise<void>((resolve) => {
      publishedInside = resolve;
    });
    const stuck = publisher
      .transaction(
        async (tx) => {
          signal = tx.signal;
          await tx.publish(topic, textMessage('stuck'));
          publishedInside();
          await new Promise(() => {}); // never settles
        },
        { timeoutMs: 1_000 },
      )
      .catch((e: unknown) => e);
    const next = publisher.transaction(async (tx) => {
      await tx.publish(topic, textMessage('next'));
      return 'next committed';
    });
    await inside;
    const error = await stuck;
    expect(TimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'TIMEOUT', timeoutMs: 1_000 });
    expect(signal?.aborted).toBe(true);
    expect(await next).toBe('next committed');
    // The stuck transaction was aborted: read_committed readers see only the next one.
    expect(values(await readBack(topic, 1))).toEqual(['next']);
    expect(values(await readBack(topic, 2, { readCommitted: false }))).toEqual(['next', 'stuck']);
    expect(publisher.stats()).toMatchObject({ transactionsCommitted: 1, transactionsAborted: 1 });
  });

  it("the caller's signal aborts a running transaction, and one aborted while queued never begins", async () => {
    const topic = await createTopic('tx-signal');
    await using publisher = new KafkaPublisher({ brokers: brokers(), transactionalId: uniqueName('tx-signal') });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    let late: unknown;
    const running = publisher
      .transaction(
        async (tx) => {
          await tx.publish(topic, textMessage('given up'));
          controller.abort(reason);
          expect(tx.signal.aborted).toBe(true);
          // The transaction ended with the abort: nothing more can be published in it.
          late = await tx.publish(topic, textMessage('too late')).catch((e: unknown) => e);
        },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e);
    let begun = false;
    const queued = publisher
      .transaction(
        async () => {
          begun = true;
        },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e);
    expect(await running).toBe(reason);
    expect(await queued).toBe(reason);
    expect(begun).toBe(false);
    expect(late).toMatchObject({ code: KafkaErrorCode.TRANSACTION_FAILED });
    // The publisher goes on; the given-up transaction stays invisible to read_committed readers.
    await publisher.transaction(async (tx) => {
      await tx.publish(topic, textMessage('marker'));
    });
    expect(values(await readBack(topic, 1))).toEqual(['marker']);
    expect(values(await readBack(topic, 2, { readCommitted: false }))).toEqual(['given up', 'marker']);
    await expect(publisher.transaction(async () => {}, { timeoutMs: 0 })).rejects.toSatisfy((e) =>
      ConfigError.isInstance(e),
    );
  });

  it('without transactionalId, transaction() rejects with a typed error', async () => {
    await using publisher = new KafkaPublisher({ brokers: brokers() });
    await expect(publisher.transaction(async () => {})).rejects.toMatchObject({
      code: KafkaErrorCode.TRANSACTION_FAILED,
    });
  });

  it('consume-transform-produce is exactly-once across a crash between produce and commit', async () => {
    const input = await createTopic('ctp-in');
    const output = await createTopic('ctp-out');
    const group = uniqueName('ctp-group');
    const transactionalId = uniqueName('ctp-tx');
    {
      await using seed = new KafkaPublisher({ brokers: brokers() });
      await seed.publish(input, ...Array.from({ length: 6 }, (_, i) => textMessage(`n${i}`)));
    }

    const transform = (message: ReceivedMessage) => textMessage(payloadText(message).toUpperCase());
    const subscriberOptions = { brokers: brokers(), groupId: group, commit: { mode: 'manual' as const } };

    // Instance A: processes three messages exactly-once, then "crashes" mid-transaction on the fourth.
    const publisherA = new KafkaPublisher({ brokers: brokers(), transactionalId });
    const subscriberA = new KafkaSubscriber(subscriberOptions);
    let releaseZombie!: () => void;
    const zombieGate = new Promise<void>((resolve) => {
      releaseZombie = resolve;
    });
    let zombie: Promise<unknown> | undefined;
    let processedByA = 0;
    for await (const message of subscriberA.subscribe(input)) {
      if (processedByA === 3) {
        let produced!: () => void;
        const producedOnce = new Promise<void>((resolve) => {
          produced = resolve;
        });
        // Produces the output, then never commits: the process is gone as far as Kafka is concerned.
        zombie = publisherA
          .transaction(async (tx) => {
            await tx.publish(output, transform(message));
            produced();
            await zombieGate;
          })
          .catch((error: unknown) => error);
        await producedOnce;
        break;
      }
      await publisherA.transaction(async (tx) => {
        await tx.publish(output, transform(message));
        await tx.sendOffsets({ group, messages: [message] });
      });
      message.ack();
      processedByA++;
    }
    await subscriberA.close();

    // Instance B (the restart): same transactionalId fences A and aborts its open transaction.
    await using publisherB = new KafkaPublisher({ brokers: brokers(), transactionalId });
    await using subscriberB = new KafkaSubscriber(subscriberOptions);
    const seenByB: string[] = [];
    for await (const message of subscriberB.subscribe(input)) {
      seenByB.push(payloadText(message));
      await publisherB.transaction(async (tx) => {
        await tx.publish(output, transform(message));
        await tx.sendOffsets({ group, messages: [message] });
      });
      message.ack();
      if (seenByB.length === 3) break;
    }
    // B resumed from the offset A committed inside its last successful transaction.
    expect(seenByB).toEqual(['n3', 'n4', 'n5']);

    // The zombie wakes up and tries to commit: it was fenced.
    releaseZombie();
    const zombieError = await zombie;
    expect(KafkaTransportError.isInstance(zombieError)).toBe(true);
    await publisherA.close();

    const committed = await readBack(output, 6);
    expect(values(committed)).toEqual(['N0', 'N1', 'N2', 'N3', 'N4', 'N5']);
    // The crashed attempt's N3 exists in the log but only as an aborted record.
    const everything = await readBack(output, 7, { readCommitted: false });
    expect(values(everything)).toEqual(['N0', 'N1', 'N2', 'N3', 'N3', 'N4', 'N5']);
  });

  it('works as a router handler: the transaction owns the commit (README recipe)', async () => {
    const input = await createTopic('ctp-router-in', 2);
    const output = await createTopic('ctp-router-out');
    const group = uniqueName('ctp-router');
    {
      await using seed = new KafkaPublisher({ brokers: brokers() });
      await seed.publish(input, ...Array.from({ length: 8 }, (_, i) => textMessage(`r${i}`, { key: `k${i}` })));
    }
    await using publisher = new KafkaPublisher({ brokers: brokers(), transactionalId: uniqueName('ctp-router-tx') });
    const router = new Router({ closeTransports: true });
    let handled = 0;
    let allHandled!: () => void;
    const done = new Promise<void>((resolve) => {
      allHandled = resolve;
    });
    router.addConsumerHandler({
      name: 'enrich',
      subscribeTopic: input,
      subscriber: new KafkaSubscriber({ brokers: brokers(), groupId: group, commit: { mode: 'manual' } }),
      concurrency: 1,
      handle: async (message) => {
        await publisher.transaction(async (tx) => {
          await tx.publish(output, textMessage(payloadText(message).toUpperCase()));
          await tx.sendOffsets({ group, messages: [message] });
        });
        if (++handled === 8) allHandled();
      },
    });
    const running = router.run();
    await done;
    await router.close();
    await running;

    expect(values(await readBack(output, 8))).toEqual(['R0', 'R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7']);
    await using admin = new KafkaAdmin({ brokers: brokers() });
    const lag = await admin.consumerLag(group, [input]);
    // Every input offset was committed by the transactions, not by the subscriber.
    expect(lag.totalLag).toBe(0);
    expect(lag.partitions.every((p) => p.committedOffset === p.endOffset)).toBe(true);
  });
});
