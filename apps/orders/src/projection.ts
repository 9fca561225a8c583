import type { Envelope } from '@bus/cqrs';

/** Where an order stands. */
export type OrderStatus = 'placed' | 'paid' | 'shipped';

/** An order as the read model holds it. */
export interface OrderView {
  orderId: string;
  customerId: string;
  sku: string;
  quantity: number;
  totalCents: number;
  payment: string;
  status: OrderStatus;
  /** Aggregate version of the last event applied. */
  version: number;
  paymentReference?: string;
  trackingNumber?: string;
  /** When each status was reached (ISO times). */
  history: { status: OrderStatus; at: string }[];
}

/** Counters of the projection. */
export interface ProjectionStats {
  /** Events applied. */
  applied: number;
  /** Events seen again (a replay, a redelivery) and ignored: the projection is idempotent. */
  duplicates: number;
  /** Events that arrived before the one preceding them. Per-aggregate ordering keeps this at 0. */
  outOfOrder: number;
}

/**
 * The read model that answers queries: orders by id, and counts by status. Events of one aggregate
 * arrive in order (the processor orders by aggregate id), and each carries its aggregate version, so
 * an event at or below the version already applied is a duplicate and is ignored.
 */
export class OrderProjection {
  readonly #orders = new Map<string, OrderView>();
  readonly #stats: ProjectionStats = { applied: 0, duplicates: 0, outOfOrder: 0 };
  readonly #listeners = new Set<() => void>();

  /** Applies `OrderPlaced` (version 1). */
  placed(envelope: Envelope, data: Omit<OrderView, 'status' | 'version' | 'history'>): void {
    this.#apply(
      envelope,
      data.orderId,
      () => ({ ...data, status: 'placed', version: 0, history: [] }),
      () => {},
    );
  }

  /** Applies `OrderPaid` (version 2). */
  paid(envelope: Envelope, orderId: string, paymentReference: string): void {
    this.#apply(envelope, orderId, undefined, (order) => {
      order.status = 'paid';
      order.paymentReference = paymentReference;
    });
  }

  /** Applies `OrderShipped` (version 3). */
  shipped(envelope: Envelope, orderId: string, trackingNumber: string): void {
    this.#apply(envelope, orderId, undefined, (order) => {
      order.status = 'shipped';
      order.trackingNumber = trackingNumber;
    });
  }

  /** An order, or `undefined`. */
  get(orderId: string): OrderView | undefined {
    const order = this.#orders.get(orderId);
    return order === undefined ? undefined : structuredClone(order);
  }

  /** Number of orders in each status. */
  countByStatus(): Record<OrderStatus, number> {
    const counts: Record<OrderStatus, number> = { placed: 0, paid: 0, shipped: 0 };
    for (const order of this.#orders.values()) counts[order.status]++;
    return counts;
  }

  /** Counters (a snapshot). */
  stats(): ProjectionStats {
    return { ...this.#stats };
  }

  /** Calls `listener` after every change; returns the function that stops it. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #apply(
    envelope: Envelope,
    orderId: string,
    create: (() => OrderView) | undefined,
    change: (order: OrderView) => void,
  ): void {
    const version = envelope.aggregateVersion ?? 0;
    let order = this.#orders.get(orderId);
    if (order === undefined && create !== undefined) {
      order = create();
      this.#orders.set(orderId, order);
    }
    if (order === undefined || version > order.version + 1) {
      this.#stats.outOfOrder++;
      return;
    }
    if (version <= order.version) {
      this.#stats.duplicates++;
      return;
    }
    change(order);
    order.version = version;
    order.history.push({ status: order.status, at: envelope.time.toISOString() });
    this.#stats.applied++;
    for (const listener of this.#listeners) listener();
  }
}
