import type { LatencyRecorder } from '@example/orders';

/** The figures the demo ends with. */
export interface DemoSummary {
  seconds: number;
  /** Orders the order service accepted over HTTP. */
  placed: number;
  shipped: number;
  /** Events per type, as the audit read them from the stream topic (replays included). */
  eventsByType: Record<string, number>;
  /** Records in the audit log. */
  audited: number;
  auditLogPath: string;
  /** From an event's publication to the end of its handling, every handler. */
  handlingLatency: LatencyRecorder;
  retried: number;
  deadLettered: number;
  replayed: number;
  outOfOrder: number;
  duplicatesIgnored: number;
  /** Round trip of the pricing requests that were answered. */
  rpcLatency: LatencyRecorder;
  /** Pricing requests refused with `UNKNOWN_SKU`. */
  rpcRefused: number;
}

/** The summary as short aligned lines. */
export function formatSummary(s: DemoSummary): string[] {
  const events = Object.entries(s.eventsByType)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  const row = (label: string, text: string) => `  ${label.padEnd(15)}${text}`;
  return [
    `summary (${s.seconds.toFixed(1)} s)`,
    row('orders', `${s.placed} placed over HTTP, ${s.shipped} shipped`),
    row('events', `${events} (per type, replays included)`),
    row('handling', `${s.handlingLatency.describe()} (publish to handled, ${s.handlingLatency.count} handlings)`),
    row('retries', `${s.retried} (payments while the gift-card provider was down)`),
    row('dead-lettered', `${s.deadLettered}, replayed ${s.replayed}, then shipped`),
    row(
      'ordering',
      `${s.outOfOrder} events out of order per order; ${s.duplicatesIgnored} replayed events ignored by the projection`,
    ),
    row(
      'rpc',
      `${s.rpcLatency.count} quotes, ${s.rpcRefused} refused (UNKNOWN_SKU), round trip ${s.rpcLatency.describe()}`,
    ),
    row('audit log', `${s.audited} records in ${s.auditLogPath}`),
  ];
}
