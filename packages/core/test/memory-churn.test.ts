import { MemoryBroker, type ReceivedMessage, textMessage } from '@bus/core';
import { afterEach, expect, it } from 'vitest';

/** Small deterministic PRNG (mulberry32), so a failure replays exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Member {
  iterator: AsyncIterator<ReceivedMessage>;
  pending: Promise<IteratorResult<ReceivedMessage>> | undefined;
  held: ReceivedMessage[];
}

const PENDING = Symbol('pending');

/** The value of `promise` if it is already settled, else PENDING. */
function peek<T>(promise: Promise<T>): Promise<T | typeof PENDING> {
  return Promise.race([promise, Promise.resolve(PENDING)]);
}

let broker: MemoryBroker | undefined;
afterEach(() => broker?.close());

it.each([1, 2, 3])('loses nothing and commits only acked offsets under random churn (seed %i)', async (seed) => {
  const next = random(seed);
  const partitions = 4;
  const count = 400;
  broker = new MemoryBroker({ maxInFlight: 8 });
  broker.createTopic('churn', { partitions });
  await broker
    .publisher()
    .publish('churn', ...Array.from({ length: count }, (_, i) => textMessage(String(i), { key: `k${i % 13}` })));
  const acked = Array.from({ length: partitions }, () => new Set<number>());
  const ackedIds = new Set<string>();
  const verified: number[] = [];
  const members: Member[] = [];
  const join = (): void => {
    const iterator = broker!.subscriber().subscribe('churn', { group: 'g' })[Symbol.asyncIterator]();
    members.push({ iterator, pending: undefined, held: [] });
  };
  const settle = (message: ReceivedMessage, action: number): void => {
    if (action < 0.8) {
      if (message.ack()) {
        acked[message.partition]?.add(message.offset);
        ackedIds.add(message.id);
      }
    } else {
      // No delayMs: timers would make the interleaving, and so a failing seed, unreproducible.
      message.nack();
    }
  };
  join();
  for (let step = 0; step < 4000; step++) {
    const roll = next();
    if (roll < 0.02 && members.length < 3) {
      join();
    } else if (roll < 0.04 && members.length > 1) {
      // A crash: the member leaves holding what it has, unsettled.
      const [gone] = members.splice(Math.floor(next() * members.length), 1);
      await gone?.iterator.return?.();
    } else {
      const member = members[Math.floor(next() * members.length)] as Member;
      if (member.held.length > 0 && next() < 0.3) {
        const [message] = member.held.splice(Math.floor(next() * member.held.length), 1);
        if (message) settle(message, next());
      } else {
        member.pending ??= member.iterator.next();
        const result = await peek(member.pending);
        if (result !== PENDING) {
          member.pending = undefined;
          if (!result.done) {
            if (next() < 0.3) member.held.push(result.value);
            else settle(result.value, next());
          }
        }
      }
    }
    // Invariant: a committed offset only ever covers offsets that were acked.
    (broker.committedOffsets('churn', 'g') ?? []).forEach((offset, partition) => {
      for (let o = verified[partition] ?? 0; o < offset; o++) {
        expect(acked[partition]?.has(o), `step ${step}: partition ${partition} committed ${offset}`).toBe(true);
      }
      verified[partition] = offset;
    });
  }
  for (const member of members.splice(0)) await member.iterator.return?.();
  // A final member drains what is left: everything must still be there.
  const ends = broker.describeTopic('churn')?.map((p) => p.end) ?? [];
  const last = broker.subscriber().subscribe('churn', { group: 'g' })[Symbol.asyncIterator]();
  // Delivery is synchronous here, so a read that is not ready at once means nothing is left.
  for (let result = await peek(last.next()); result !== PENDING && !result.done; result = await peek(last.next())) {
    result.value.ack();
    ackedIds.add(result.value.id);
  }
  expect(broker.committedOffsets('churn', 'g')).toEqual(ends);
  expect(ackedIds.size).toBe(count);
});
