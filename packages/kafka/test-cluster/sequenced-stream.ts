/**
 * A sequence-numbered load through bus on the test cluster: a KafkaPublisher fed by a few lanes (each
 * owns some keys and publishes them in order, paced to a target rate, resending a call that failed the
 * way an at-least-once application does) and a KafkaSubscriber that acks every message it gets. Every
 * message carries `<seq>:<key>:<keySeq>`; the {@link Ledger} keeps the books.
 */
import { BusError, textMessage } from '@bus/core';
import {
  type KafkaDriverName,
  KafkaPublisher,
  type KafkaPublisherOptions,
  KafkaSubscriber,
  type KafkaSubscriberOptions,
} from '@bus/kafka';
import { Ledger, round } from './ledger.ts';
import { parseStreamPayload } from './stream-payload.ts';

export interface StreamOptions {
  brokers: string[];
  topic: string;
  group: string;
  /** The protocol client of both bus clients (default kafkajs). */
  driver?: KafkaDriverName;
  /** Distinct keys (default 24; 6 partitions get 4 each on average). */
  keys?: number;
  /** Publishing lanes, each with its own keys (default 4). */
  lanes?: number;
  /** Messages per publish() call (default 50). */
  callSize?: number;
  /** Target publish rate over all lanes, messages per second (default 600). */
  ratePerSec?: number;
  /** Most messages the stream publishes (default 100,000). */
  maxMessages?: number;
  /** Payload size in bytes (default 100). */
  payloadBytes?: number;
  publisher?: Partial<KafkaPublisherOptions>;
  subscriber?: Partial<KafkaSubscriberOptions>;
}

export interface PublishFailure {
  /** Seconds since the stream started. */
  atS: number;
  /** How long the failed call took, in seconds. */
  tookS: number;
  code: string;
  retryable: boolean;
  message: string;
}

export class SequencedStream {
  readonly ledger: Ledger;
  readonly publisher: KafkaPublisher;
  readonly subscriber: KafkaSubscriber;
  readonly failures: PublishFailure[] = [];
  /** Longest publish() call that resolved, in seconds. */
  longestCallS = 0;
  consumerError: unknown;
  closeS = { subscriber: 0, publisher: 0 };
  private readonly options: Required<Omit<StreamOptions, 'publisher' | 'subscriber' | 'driver'>>;
  private next = 0;
  private stopping = false;
  private lanes: Promise<void>[] = [];
  private lanesFinished = 0;
  private consuming: Promise<void> | undefined;
  private readonly stopConsuming = new AbortController();
  private readonly padding: string;
  private readonly marks: Array<{ atS: number; what: string }> = [];

  constructor(options: StreamOptions) {
    this.options = {
      keys: 24,
      lanes: 4,
      callSize: 50,
      ratePerSec: 600,
      maxMessages: 100_000,
      payloadBytes: 100,
      ...options,
    };
    this.ledger = new Ledger(this.options.keys, this.options.maxMessages);
    this.padding = 'x'.repeat(this.options.payloadBytes);
    const driver = options.driver ?? 'kafkajs';
    this.publisher = new KafkaPublisher({
      brokers: options.brokers,
      driver,
      clientId: 'cluster-stream-pub',
      ...options.publisher,
    });
    this.subscriber = new KafkaSubscriber({
      brokers: options.brokers,
      driver,
      groupId: options.group,
      clientId: 'cluster-stream-sub',
      ...options.subscriber,
    });
    // The subscription's own account of a fault, on the timeline beside the scenario's marks.
    this.subscriber.on('crash', (e) => this.mark(`subscriber crash ${e.error.code} willRestart=${e.willRestart}`));
    this.subscriber.on('stall', (e) => this.mark(`subscriber stall ${e.reason} rejoining=${e.rejoining}`));
    this.subscriber.on('rebalance', (e) => this.mark(`subscriber rebalance [${e.assigned.join(',')}]`));
    this.subscriber.on('connect', () => this.mark('subscriber connect'));
  }

  /** Starts consuming and publishing. */
  start(): void {
    this.consuming = this.consume();
    const { lanes } = this.options;
    this.lanes = Array.from({ length: lanes }, (_, lane) =>
      this.runLane(lane).finally(() => {
        this.lanesFinished++;
      }),
    );
  }

  /** Notes a moment of the scenario (kill, restart, ...) for the figures. */
  mark(what: string): void {
    this.marks.push({ atS: round(this.ledger.now() / 1000), what });
  }

  /** Waits until every key was delivered at least once, then measures stalls from there on. */
  async warmUp(timeoutMs = 90_000): Promise<void> {
    await this.until(() => this.ledger.everyKeyDelivered(), 'a first delivery of every key', timeoutMs);
    this.ledger.resetStalls();
    this.mark('warm');
  }

  /**
   * Waits until `more` messages beyond those acknowledged now are acknowledged too, or until the lanes
   * have published all `maxMessages` (a slow fault on a loaded machine must not outgrow the run).
   */
  async untilMoreAcked(more: number, timeoutMs = 120_000): Promise<void> {
    const target = this.ledger.ackedCount + more;
    await this.until(
      () => this.ledger.ackedCount >= target || this.lanesFinished === this.options.lanes,
      `${target} acknowledged messages`,
      timeoutMs,
    );
  }

  /** Stops publishing; a call that keeps failing is tried at most twice more. */
  async stopPublishing(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await Promise.all(this.lanes);
    this.mark('published');
  }

  /** Waits (up to the deadline) until every acknowledged message was delivered; never throws. */
  async drain(timeoutMs = 90_000): Promise<boolean> {
    try {
      await this.until(() => this.ledger.allAckedDelivered(), 'every acknowledged message delivered', timeoutMs);
      this.mark('drained');
      return true;
    } catch {
      this.mark('drain deadline');
      return false;
    }
  }

  /**
   * Ends the subscription and closes both clients, timing each close. A close still running after
   * `deadlineMs` is left behind and reported as `-1`, so a hanging close fails the scenario instead of
   * hanging it.
   */
  async close(deadlineMs = 60_000): Promise<void> {
    this.stopConsuming.abort();
    this.closeS.subscriber = await timed(
      (async () => {
        await this.consuming;
        await this.subscriber.close();
      })(),
      deadlineMs,
    );
    this.closeS.publisher = await timed(this.publisher.close(), deadlineMs);
  }

  /** Everything measured, for the report. */
  figures() {
    const byCode: Record<string, number> = {};
    for (const f of this.failures) byCode[f.code] = (byCode[f.code] ?? 0) + 1;
    return {
      ...this.ledger.figures(),
      attempted: this.ledger.registeredCount,
      failedCalls: this.failures.length,
      failedCallsByCode: byCode,
      // The first failure of each code, to tell what the driver reported.
      failedCallSamples: Object.keys(byCode).map((code) => this.failures.find((f) => f.code === code)),
      longestFailedCallS: this.failures.reduce((max, f) => Math.max(max, f.tookS), 0),
      nonRetryableFailures: this.failures.filter((f) => !f.retryable).slice(0, 5),
      longestCallS: this.longestCallS,
      closeS: this.closeS,
      consumerError: this.consumerError ? String(this.consumerError) : undefined,
      timeline: this.marks,
    };
  }

  private async until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (this.consumerError)
        throw new Error(`the subscription failed while waiting for ${what}: ${this.consumerError}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private async consume(): Promise<void> {
    try {
      for await (const message of this.subscriber.subscribe(this.options.topic, {
        signal: this.stopConsuming.signal,
      })) {
        const { seq, key, keySeq } = parseStreamPayload(message.payload);
        this.ledger.delivered(seq, key, keySeq);
        message.ack();
      }
    } catch (error) {
      if (!this.stopConsuming.signal.aborted) this.consumerError = error;
    }
  }

  private async runLane(lane: number): Promise<void> {
    const { keys, lanes, callSize, ratePerSec, maxMessages, topic } = this.options;
    const laneKeys = Array.from({ length: keys }, (_, k) => k).filter((k) => k % lanes === lane);
    const keySeq = new Array<number>(laneKeys.length).fill(0);
    const laneRate = ratePerSec / lanes;
    const started = performance.now();
    let sent = 0;
    let turn = 0;
    while (!this.stopping && this.next + callSize <= maxMessages) {
      const seqs: number[] = [];
      const messages = [];
      for (let i = 0; i < callSize; i++) {
        const seq = this.next++;
        const slot = turn++ % laneKeys.length;
        const key = laneKeys[slot]!;
        const ks = keySeq[slot]!;
        keySeq[slot] = ks + 1;
        this.ledger.register(seq, key, ks);
        seqs.push(seq);
        messages.push(textMessage(`${seq}:${key}:${ks}:${this.padding}`, { key: `k${key}` }));
      }
      let triesAfterStop = 0;
      for (;;) {
        const t = performance.now();
        try {
          await this.publisher.publish(topic, ...messages);
          this.ledger.acked(seqs);
          this.longestCallS = Math.max(this.longestCallS, round((performance.now() - t) / 1000));
          break;
        } catch (error) {
          this.failures.push({
            atS: round(this.ledger.now() / 1000),
            tookS: round((performance.now() - t) / 1000),
            code: BusError.isInstance(error) ? error.code : 'UNTYPED',
            retryable: BusError.isInstance(error) ? error.isRetryable : false,
            message: error instanceof Error ? error.message.slice(0, 200) : String(error),
          });
          if (this.stopping && ++triesAfterStop > 2) return;
          // The application's resend of the same messages (same sequence numbers), after a short backoff.
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      sent += callSize;
      // Pace the lane to its share of the target rate (a load generator's pacing, not a synchronization).
      const ahead = (sent / laneRate) * 1000 - (performance.now() - started);
      if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
    }
  }
}

/** Seconds `work` took, or -1 when it did not settle within `deadlineMs`. */
async function timed(work: Promise<unknown>, deadlineMs: number): Promise<number> {
  const t = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineMs);
    }),
  ]).finally(() => clearTimeout(timer));
  return settled ? round((performance.now() - t) / 1000) : -1;
}
