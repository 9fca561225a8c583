// Unit tests of a subscription's state machine, driven through a fake kafkajs consumer (the
// integration tests cover the same paths against the real broker; these pin down the edge cases).
import { type ReceivedMessage, takeReady } from '@bus/core';
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ConsumerSession } from '../src/internal/consumer-session.js';
import { createConsumerStats } from '../src/internal/consumer-stats.js';
import { RECORD_OVERHEAD_BYTES } from '../src/internal/held-record.js';
import { TypedEvents } from '../src/internal/typed-events.js';
import type { KafkaSubscriberEvents } from '../src/subscriber-events.js';

type Listener = (event: { payload: Record<string, unknown> }) => void;
type EachBatch = (payload: unknown) => Promise<void>;

class FakeConsumer {
  readonly events = {
    CONNECT: 'connect',
    DISCONNECT: 'disconnect',
    GROUP_JOIN: 'group_join',
    REBALANCING: 'rebalancing',
    CRASH: 'crash',
    FETCH: 'fetch',
    HEARTBEAT: 'heartbeat',
  };
  readonly listeners = new Map<string, Listener[]>();
  readonly commits: { partition: number; offset: string }[][] = [];
  readonly paused: number[] = [];
  eachBatch: EachBatch | undefined;
  disconnected = false;
  disconnects = 0;
  ran = false;
  runs = 0;
  stops = 0;
  /** What the heartbeat passed to eachBatch does. */
  heartbeat: () => Promise<void> = async () => {};
  connectGate: Promise<void> = Promise.resolve();

  on(name: string, listener: Listener): () => void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
    return () => {};
  }
  emit(name: string, payload: Record<string, unknown>): void {
    for (const listener of this.listeners.get(name) ?? []) listener({ payload });
  }
  async connect(): Promise<void> {
    await this.connectGate;
  }
  async subscribe(): Promise<void> {}
  async run(options: { eachBatch: EachBatch }): Promise<void> {
    this.ran = true;
    this.runs++;
    this.eachBatch = options.eachBatch;
    this.join([0, 1]);
  }
  join(partitions: number[]): void {
    this.emit(this.events.GROUP_JOIN, { memberAssignment: { t: partitions } });
  }
  async commitOffsets(offsets: { partition: number; offset: string }[]): Promise<void> {
    this.commits.push(offsets.map(({ partition, offset }) => ({ partition, offset })));
  }
  pause(topics: { partitions: number[] }[]): void {
    this.paused.push(...(topics[0]?.partitions ?? []));
  }
  resume(): void {}
  async stop(): Promise<void> {
    this.stops++;
  }
  async disconnect(): Promise<void> {
    this.disconnected = true;
    this.disconnects++;
  }
  /** Delivers records `from..to` of `partition` as one batch; resolves when eachBatch returns. */
  batch(partition: number, from: number, to: number, resolved: string[] = []): Promise<void> {
    const messages = [];
    for (let offset = from; offset <= to; offset++) {
      messages.push({
        offset: String(offset),
        key: null,
        value: Buffer.from(`${partition}:${offset}`),
        timestamp: '1',
        headers: {},
      });
    }
    return (this.eachBatch as EachBatch)({
      batch: { topic: 't', partition, messages },
      resolveOffset: (offset: string) => resolved.push(offset),
      heartbeat: () => this.heartbeat(),
      isRunning: () => true,
      isStale: () => false,
    });
  }
}

function setup(
  overrides: {
    maxInFlight?: number;
    maxInFlightPerPartition?: number;
    maxInFlightBytes?: number;
    fetchAheadRecords?: number;
    rebalanceBoundMs?: number;
  } = {},
) {
  const consumer = new FakeConsumer();
  const stats = createConsumerStats();
  const events = new TypedEvents<KafkaSubscriberEvents>();
  const session = new ConsumerSession(
    {
      kafka: { consumer: () => consumer } as unknown as Kafka,
      topic: 't',
      group: 'g',
      consumerConfig: { groupId: 'g' },
      fromBeginning: true,
      topicWaitMs: 0,
      // Commit only when asked (flushes on rebalance and stop), so the tests see each commit.
      commit: { everyAcks: undefined, intervalMs: undefined },
      maxInFlightPerPartition: overrides.maxInFlightPerPartition ?? 100,
      maxInFlight: overrides.maxInFlight ?? 1_000,
      maxInFlightBytes: overrides.maxInFlightBytes ?? 1_000_000,
      ...(overrides.fetchAheadRecords === undefined ? {} : { fetchAheadRecords: overrides.fetchAheadRecords }),
      closeTimeoutMs: 1_000,
      stall: { rebalanceBoundMs: overrides.rebalanceBoundMs ?? 60_000, progressBoundMs: 60_000 },
      heartbeatIntervalMs: 50,
      decode: { messageIdHeader: 'bus-message-id', binaryKeyHeader: 'bus-key-binary' },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      events,
      stats,
      secrets: [],
    },
    undefined,
    () => {},
  );
  return { consumer, stats, events, session };
}

async function take(session: ConsumerSession, count: number): Promise<ReceivedMessage[]> {
  const messages: ReceivedMessage[] = [];
  for (let i = 0; i < count; i++) {
    const result = await session.next();
    if (result.done) throw new Error('ended early');
    messages.push(result.value);
  }
  return messages;
}

describe('ConsumerSession (fake consumer)', () => {
  it('hands records out in offset order per partition and decodes them', async () => {
    const { consumer, session } = setup();
    const first = session.next();
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(0, 0, 2);
    const messages = [(await first).value as ReceivedMessage, ...(await take(session, 2))];
    expect(messages.map((m) => [m.partition, m.offset, Buffer.from(m.payload).toString()])).toEqual([
      [0, 0, '0:0'],
      [0, 1, '0:1'],
      [0, 2, '0:2'],
    ]);
    expect(messages[0]?.id).toBe('t-0-0');
    // Spreading a received message (to forward it with another header, say) keeps every field.
    expect({ ...messages[1] }).toMatchObject({ id: 't-0-1', headers: {}, topic: 't', partition: 0, offset: 1 });
    await session.stop();
  });

  it('does not commit acks of a generation that a rebalance retired, and drops its buffered records', async () => {
    const { consumer, session, stats } = setup();
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(0, 0, 9);
    const first = (await pending).value as ReceivedMessage;
    const [second] = await take(session, 1);
    first.ack();
    // The group starts rebalancing: nothing more is handed out, and the acked prefix is committed.
    consumer.emit(consumer.events.REBALANCING, {});
    await new Promise((resolve) => setImmediate(resolve));
    expect(consumer.commits.at(-1)).toEqual([{ partition: 0, offset: '1' }]);
    // The new generation keeps partition 0: it is fetched again from the committed offset.
    consumer.join([0]);
    second?.ack(); // belongs to the retired generation: not committed
    await consumer.batch(0, 1, 3);
    const again = await take(session, 3);
    expect(again.map((m) => m.offset)).toEqual([1, 2, 3]);
    for (const message of again.slice(0, 2)) message.ack();
    await session.stop();
    expect(consumer.commits.at(-1)).toEqual([{ partition: 0, offset: '3' }]);
    expect(stats.rebalances).toBe(2);
    expect(consumer.disconnected).toBe(true);
  });

  it('keeps the subscription alive through a crash that kafkajs restarts, and surfaces one that it does not', async () => {
    const { consumer, session, events, stats } = setup();
    const crashes: boolean[] = [];
    events.on('crash', ({ willRestart }) => crashes.push(willRestart));
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(1, 0, 1);
    expect(((await pending).value as ReceivedMessage).offset).toBe(0);
    const retriable = Object.assign(new Error('Connection error: ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
    consumer.emit(consumer.events.CRASH, { error: retriable, restart: true });
    expect(stats.reconnections).toBe(1);
    consumer.join([1]);
    await consumer.batch(1, 1, 1);
    expect(((await session.next()).value as ReceivedMessage).offset).toBe(1);

    const fatal = Object.assign(new Error('SASL SCRAM SHA512 authentication failed: wrong password'), {
      name: 'KafkaJSSASLAuthenticationError',
    });
    consumer.emit(consumer.events.CRASH, { error: fatal, restart: false });
    await expect(session.next()).rejects.toMatchObject({ code: 'KAFKA_AUTHENTICATION_FAILED', isRetryable: false });
    expect(crashes).toEqual([true, false]);
    expect(consumer.disconnected).toBe(true);
  });

  it('starts the consumer again itself when kafkajs gives up on a coordinator it cannot find', async () => {
    const { consumer, session, events } = setup();
    const crashes: boolean[] = [];
    events.on('crash', ({ willRestart }) => crashes.push(willRestart));
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(1, 0, 0);
    expect(((await pending).value as ReceivedMessage).offset).toBe(0);
    // What kafkajs reports when a restarted broker answers but its coordinator is not loaded before the
    // retries run out: non-retriable, so kafkajs itself does not restart (seen in a broker-restart test).
    const notFound = Object.assign(new Error('Failed to find group coordinator'), {
      name: 'KafkaJSGroupCoordinatorNotFound',
      retriable: false,
    });
    const gaveUp = Object.assign(new Error('Failed to find group coordinator', { cause: notFound }), {
      name: 'KafkaJSNonRetriableError',
      retriable: false,
    });
    consumer.emit(consumer.events.CRASH, { error: gaveUp, restart: false });
    expect(crashes).toEqual([true]);
    const deadline = Date.now() + 5_000;
    while (consumer.runs < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(consumer.runs).toBe(2);
    await consumer.batch(1, 1, 1);
    expect(((await session.next()).value as ReceivedMessage).offset).toBe(1);
    await session.stop();
  });

  it('turns a heartbeat that cannot reach the coordinator into a rebalance, so kafkajs rejoins as the same member', async () => {
    const { consumer, session } = setup();
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    consumer.heartbeat = async () => {
      throw Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
    };
    // kafkajs' runner rejoins (finding the coordinator again, keeping its member id) on these types.
    await expect(consumer.batch(0, 0, 1)).rejects.toMatchObject({ type: 'NOT_COORDINATOR_FOR_GROUP' });
    // What the batch queued is handed out all the same.
    expect(((await pending).value as ReceivedMessage).offset).toBe(0);
    consumer.heartbeat = async () => {
      throw Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' });
    };
    await expect(consumer.batch(0, 2, 2)).rejects.toMatchObject({ type: 'REBALANCE_IN_PROGRESS' });
    await session.stop();
  });

  it('hands out again when a heartbeat of the current generation goes through after a failed join', async () => {
    const { consumer, session, events } = setup();
    const stalls: unknown[] = [];
    events.on('stall', (event) => stalls.push(event));
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(0, 0, 3);
    expect(((await pending).value as ReceivedMessage).offset).toBe(0);
    consumer.emit(consumer.events.REBALANCING, {});
    // The join fails (a coordinator that is loading, say) and kafkajs fetches on for the old generation.
    const next = session.next();
    await consumer.batch(0, 4, 5);
    consumer.emit(consumer.events.HEARTBEAT, {});
    expect(((await next).value as ReceivedMessage).offset).toBe(1);
    expect((await take(session, 4)).map((m) => m.offset)).toEqual([2, 3, 4, 5]);
    expect(stalls).toEqual([]);
    await session.stop();
  });

  it('reports a rebalance that outlasts its bound as a stall and rejoins with a fresh consumer', async () => {
    const { consumer, session, events } = setup({ rebalanceBoundMs: 50 });
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(0, 0, 3);
    const first = (await pending).value as ReceivedMessage;
    consumer.emit(consumer.events.REBALANCING, {});
    const stall = await new Promise<KafkaSubscriberEvents['stall']>((resolve) => events.once('stall', resolve));
    expect(stall).toMatchObject({ topic: 't', group: 'g', reason: 'rebalance', rejoining: true });
    expect(stall.stalledMs).toBeGreaterThanOrEqual(50);
    // The consumer was stopped (leaving the group) and run again, which joins anew.
    await new Promise((resolve) => setImmediate(resolve));
    expect(consumer.stops).toBe(1);
    expect(consumer.runs).toBe(2);
    // The old generation's message is not committed; the new member reads from the committed offset.
    first.ack();
    await consumer.batch(0, 0, 1);
    expect((await take(session, 2)).map((m) => [m.offset, m.deliveryAttempt])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    await session.stop();
  });

  it('holds a batch inside eachBatch while the subscription is full, then takes the rest as acks make room', async () => {
    const { consumer, session, stats } = setup({ maxInFlight: 4, maxInFlightPerPartition: 100 });
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    const resolved: string[] = [];
    let returned = false;
    const batch = consumer.batch(0, 0, 9, resolved).then(() => {
      returned = true;
    });
    const first = (await pending).value as ReceivedMessage;
    const rest = await take(session, 3);
    expect(resolved).toEqual(['3']); // the fetch position moved over what was queued only
    expect(returned).toBe(false);
    expect(stats.inFlight).toBe(4);
    for (const message of [first, ...rest]) message.ack();
    const more = await take(session, 4);
    expect(more.map((m) => m.offset)).toEqual([4, 5, 6, 7]);
    for (const message of more) message.ack();
    const last = await take(session, 2);
    await batch;
    expect(returned).toBe(true);
    expect(resolved).toEqual(['3', '7', '9']);
    expect(last.map((m) => m.offset)).toEqual([8, 9]);
    expect(consumer.paused).toEqual([]);
    await session.stop();
  });

  it('pauses a partition whose consumer is stuck on it, instead of holding back the others', async () => {
    const { consumer, session } = setup({ maxInFlight: 100, maxInFlightPerPartition: 3 });
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(0, 0, 2);
    const head = (await pending).value as ReceivedMessage;
    head.nack({ delayMs: 60_000 }); // partition 0 now waits a minute for its head
    const resolved: string[] = [];
    await consumer.batch(0, 3, 5, resolved); // gives up after a short wait and pauses partition 0
    expect(consumer.paused).toEqual([0]);
    expect(resolved).toEqual([]);
    await consumer.batch(1, 0, 1);
    const other = await take(session, 2);
    expect(other.map((m) => [m.partition, m.offset])).toEqual([
      [1, 0],
      [1, 1],
    ]);
    await session.stop();
  });

  it('bounds held bytes as well, yet lets a record larger than the budget through', async () => {
    // Each record counts its value (3 bytes: "0:0".."0:9") plus the memory of its objects.
    const recordBytes = 3 + RECORD_OVERHEAD_BYTES;
    const { consumer, session } = setup({ maxInFlightBytes: 3 * recordBytes + 1 });
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    const resolved: string[] = [];
    const batch = consumer.batch(0, 0, 9, resolved);
    const held = [(await pending).value as ReceivedMessage, ...(await take(session, 3))];
    expect(resolved).toEqual(['3']); // 4 records reach the budget
    for (const message of held) message.ack();
    const rest: ReceivedMessage[] = [];
    for (let i = 0; i < 6; i++) {
      const [message] = await take(session, 1);
      message?.ack();
      if (message !== undefined) rest.push(message);
    }
    await batch;
    expect(rest.map((m) => m.offset)).toEqual([4, 5, 6, 7, 8, 9]);

    const big = setup({ maxInFlightBytes: 2 });
    const first = big.session.next();
    await new Promise((resolve) => setImmediate(resolve));
    void big.consumer.batch(1, 0, 0);
    expect(((await first).value as ReceivedMessage).offset).toBe(0);
    await session.stop();
    await big.session.stop();
  });

  it('queues at most fetchAheadRecords records ahead of the consumer, and takes the rest of the batch as it drains', async () => {
    const { consumer, session } = setup({ fetchAheadRecords: 10 });
    const first = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    const resolved: string[] = [];
    const batch = consumer.batch(0, 0, 29, resolved);
    const taken = [(await first).value as ReceivedMessage];
    await new Promise((resolve) => setImmediate(resolve));
    // 10 queued (one of them handed out since), the other 20 wait in kafkajs' batch.
    expect(resolved).toEqual(['9']);
    expect(session.waiting).toBe(9);
    while (taken.length < 30) taken.push(...(await take(session, 1)));
    await batch;
    expect(taken.map((m) => m.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(resolved.at(-1)).toBe('29');
    await session.stop();
  });

  it('does not let the queued records of a partition waiting for a delayed redelivery hold the others back', async () => {
    const { consumer, session } = setup({ fetchAheadRecords: 4 });
    const first = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(0, 0, 3);
    const head = (await first).value as ReceivedMessage;
    head.nack({ delayMs: 60_000 }); // partition 0 waits a minute for its head, with 3 records queued behind it
    const resolved: string[] = [];
    const batch = consumer.batch(1, 0, 3, resolved);
    await new Promise((resolve) => setImmediate(resolve));
    // Partition 1 gets its whole batch queued although 3 of the 4 places are taken by partition 0.
    expect(resolved.at(-1)).toBe('3');
    await batch;
    const other = await take(session, 4);
    expect(other.map((m) => [m.partition, m.offset])).toEqual([
      [1, 0],
      [1, 1],
      [1, 2],
      [1, 3],
    ]);
    await session.stop();
  });

  it('never joins the group when stopped while connecting, and leaves again after a late join', async () => {
    const { consumer, session } = setup();
    let open!: () => void;
    consumer.connectGate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const next = session.next();
    const stopping = session.stop();
    open();
    await stopping;
    expect(await next).toEqual({ done: true, value: undefined });
    expect(consumer.ran).toBe(false);

    // A join that kafkajs completes after the stop (it ignores stops during a join) is left at once.
    const late = setup();
    const pending = late.session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await late.session.stop();
    await pending;
    const before = late.consumer.disconnects;
    late.consumer.join([0]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(late.consumer.disconnects).toBe(before + 1);
  });

  it('holds copies of fetched records, never views of the fetch response', async () => {
    const { consumer, session } = setup();
    const pending = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    // A fetch response, and a record whose key, value and header are views of it, as kafkajs decodes them.
    const response = Buffer.alloc(30); // not from Node's shared pool, like a large response
    response.write('....key.value.header-value....');
    void (consumer.eachBatch as EachBatch)({
      batch: {
        topic: 't',
        partition: 0,
        messages: [
          {
            offset: '0',
            timestamp: '1',
            key: response.subarray(4, 7),
            value: response.subarray(8, 13),
            headers: { h: response.subarray(14, 26) },
          },
        ],
      },
      resolveOffset: () => {},
      heartbeat: async () => {},
      isRunning: () => true,
      isStale: () => false,
    });
    const message = (await pending).value as ReceivedMessage;
    expect([message.key, Buffer.from(message.payload).toString(), message.headers]).toEqual([
      'key',
      'value',
      { h: 'header-value' },
    ]);
    // The payload's memory is not the response's: holding the message does not keep the response alive.
    expect(message.payload.buffer).not.toBe(response.buffer);
    response.fill(0);
    expect(Buffer.from(message.payload).toString()).toBe('value');
    await session.stop();
  });

  it('takeReady hands out ready records synchronously, in order, and nothing before the start or after a stop', async () => {
    const { consumer, session, stats } = setup();
    expect(session[takeReady]()).toBeUndefined();
    const first = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(0, 0, 3);
    const head = (await first).value as ReceivedMessage;
    const rest = [session[takeReady](), session[takeReady](), session[takeReady]()];
    expect([head, ...rest].map((m) => m?.offset)).toEqual([0, 1, 2, 3]);
    // Drained: undefined, and next() waits as before.
    expect(session[takeReady]()).toBeUndefined();
    expect(stats.consumed).toBe(4);
    for (const message of [head, ...rest]) message?.ack();
    await consumer.batch(1, 0, 0);
    const stopping = session.stop();
    expect(session[takeReady]()).toBeUndefined();
    await stopping;
    // The acked prefix was committed; the record of partition 1 was never handed out, so not committed.
    expect(consumer.commits.flat()).toEqual([{ partition: 0, offset: '4' }]);
  });

  it('takeReady leaves a yield to I/O to next() now and then, without skipping or reordering records', async () => {
    // Enough records queued at once for takeReady to reach its yield.
    const { consumer, session } = setup({
      maxInFlight: 5_000,
      maxInFlightPerPartition: 5_000,
      fetchAheadRecords: 5_000,
    });
    const first = session.next();
    await new Promise((resolve) => setImmediate(resolve));
    await consumer.batch(0, 0, 2_999);
    const taken = [(await first).value as ReceivedMessage];
    for (let message = session[takeReady](); message !== undefined; message = session[takeReady]()) taken.push(message);
    // It stopped with records still ready: the next next() owes the event loop a turn.
    expect(taken.length).toBeGreaterThan(1_000);
    expect(taken.length).toBeLessThan(3_000);
    const after = await session.next();
    expect(after.done).toBe(false);
    taken.push(after.value as ReceivedMessage);
    for (let message = session[takeReady](); message !== undefined; message = session[takeReady]()) taken.push(message);
    expect(taken.map((m) => m.offset)).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
    await session.stop();
  });
});
