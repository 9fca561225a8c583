// The public side of the transports' typed events: what `on`, `off` and `once` take and return.

/** A listener of one event; its argument type comes from the event map. */
export type Listener<T> = (payload: T) => void;

/** Removes the listener it was returned for. Idempotent. */
export type Unsubscribe = () => void;

/** The subscription side of {@link TypedEvents}, safe to expose publicly. */
export interface EventSource<Events extends object> {
  /** Calls `listener` on every `event` until the returned function is called. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Unsubscribe;
  /** Removes `listener` from `event`. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void;
  /** Calls `listener` on the next `event` only. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Unsubscribe;
}
