import { decodeWith } from '@bus/codecs';
import { DEAD_LETTER_REPLAY_HEADERS, type ReceivedMessage } from '@bus/core';
import { type Envelope, envelopeFromHeaders, type EventDefinition } from '@bus/cqrs';
import { subscribeTyped, type TypedStream } from '@bus/rpc';
import { type OrderMessages, orderTopics, type Transport } from '@example/orders';

/** One line of the audit log (JSON). */
export interface AuditRecord {
  /** When the audit read it. */
  auditedAt: string;
  /** `ce_type`, e.g. `shop.OrderPlaced`. */
  type: string;
  /** `ce_id`: the same for a replayed event as for the original. */
  id: string;
  aggregateId: string | undefined;
  aggregateVersion: number | undefined;
  correlationId: string | undefined;
  causationId: string | undefined;
  source: string;
  /** When the event happened (`ce_time`). */
  time: string;
  topic: string;
  partition: number;
  offset: number;
  /** Set when the event came back from the dead-letter topic: `<dlq>/<partition>/<offset>`. */
  replayedFrom?: string;
  /** The decoded payload. */
  data: unknown;
}

/** Counters of the audit. */
export interface AuditStats {
  /** Records written, per event type. */
  byType: Record<string, number>;
  /** Records of replayed events (also counted in `byType`). */
  replayed: number;
  /** Records written in all. */
  total: number;
}

/** Options of {@link startAudit}. */
export interface AuditOptions {
  transport: Transport;
  /** The order service's message types (their codecs decode the payloads). */
  messages: OrderMessages;
  /** Prefix of the order service's topics. Default `shop`. */
  prefix?: string;
  /** Writes one line of the log; awaited, so a slow sink slows reading down instead of piling up. */
  write: (line: string) => void | Promise<void>;
}

/** A running audit. */
export interface Audit extends AsyncDisposable {
  /** The topic it reads. */
  readonly topic: string;
  stats(): AuditStats;
  /** Stops reading; what was written is committed, what was not is read again next time. */
  close(): Promise<void>;
}

/**
 * Reads every event type of the order stream, one typed stream per type (each in its consumer group
 * `<prefix>.audit.<type>`, dispatching on the `ce_type` header), and writes one JSON line per event.
 */
export function startAudit(options: AuditOptions): Audit {
  const prefix = options.prefix ?? 'shop';
  const { OrderPlaced, OrderPaid, OrderShipped } = options.messages;
  const topic = orderTopics(prefix)({ kind: 'event', name: OrderPlaced.name, aggregateType: 'order' });
  const stats: AuditStats = { byType: {}, replayed: 0, total: 0 };
  const streams: TypedStream<AuditRecord>[] = [];
  const loops: Promise<void>[] = [];
  let failure: unknown;

  const follow = <N extends string, T>(definition: EventDefinition<N, T>) => {
    const stream = subscribeTyped<AuditRecord>({
      subscriber: options.transport.subscriber(),
      topics: [topic],
      group: `${prefix}.audit.${definition.name}`,
      type: definition.name,
      typeHeader: 'ce_type',
      parse: (message) => toRecord(message, definition),
      // Commit in batches: an audit that restarts writes at most these again (at-least-once).
      commit: { everyMessages: 100, intervalMs: 1_000 },
    });
    streams.push(stream);
    loops.push(
      (async () => {
        for await (const record of stream) {
          await options.write(JSON.stringify(record));
          stats.byType[record.type] = (stats.byType[record.type] ?? 0) + 1;
          if (record.replayedFrom !== undefined) stats.replayed++;
          stats.total++;
        }
      })().catch((error: unknown) => {
        failure ??= error;
      }),
    );
  };
  follow(OrderPlaced);
  follow(OrderPaid);
  follow(OrderShipped);

  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await Promise.all(streams.map((stream) => stream.close()));
      await Promise.all(loops);
      if (failure !== undefined) throw failure;
    })();
    return closed;
  };
  return {
    topic,
    stats: () => {
      if (failure !== undefined) throw failure;
      return { byType: { ...stats.byType }, replayed: stats.replayed, total: stats.total };
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

async function toRecord<N extends string, T>(
  message: ReceivedMessage,
  definition: EventDefinition<N, T>,
): Promise<AuditRecord> {
  const envelope: Envelope = envelopeFromHeaders(message.headers, { id: message.id });
  const data = await decodeWith(definition.schema, message.payload, {
    topic: message.topic,
    role: 'value',
    headers: message.headers,
    partition: message.partition,
    offset: message.offset,
  });
  const replayedFrom = message.headers[DEAD_LETTER_REPLAY_HEADERS.replayedFrom];
  return {
    auditedAt: new Date().toISOString(),
    type: envelope.type,
    id: envelope.id,
    aggregateId: envelope.aggregateId,
    aggregateVersion: envelope.aggregateVersion,
    correlationId: envelope.correlationId,
    causationId: envelope.causationId,
    source: envelope.source,
    time: envelope.time.toISOString(),
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    ...(replayedFrom === undefined ? {} : { replayedFrom }),
    data,
  };
}
