import { type Logger, noopLogger } from '@bus/core';

import type { EventSource, Listener, Unsubscribe } from '../events.js';

export type { EventSource, Listener, Unsubscribe };

/**
 * A small typed emitter. Listeners run synchronously in registration order; a listener that throws
 * (or returns a rejected promise) is logged and never disturbs the emitter or other listeners,
 * because observers (metrics, tracing) must not be able to break message flow.
 */
export class TypedEvents<Events extends object> implements EventSource<Events> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>();
  readonly #logger: Logger;

  constructor(logger: Logger = noopLogger) {
    this.#logger = logger;
  }

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Unsubscribe {
    return this.#add(event, listener, (payload) => listener(payload));
  }

  #add<K extends keyof Events>(event: K, original: Listener<Events[K]>, entry: Listener<Events[K]>): Unsubscribe {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    // A fresh entry per registration: the same function registered twice is two subscriptions,
    // and `off` finds entries by the function the caller knows.
    (entry as { original?: unknown }).original = original;
    set.add(entry as Listener<never>);
    return () => {
      set.delete(entry as Listener<never>);
    };
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const entry of set) {
      if ((entry as { original?: unknown }).original === listener) set.delete(entry);
    }
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Unsubscribe {
    const unsubscribe = this.#add(event, listener, (payload) => {
      unsubscribe();
      listener(payload);
    });
    return unsubscribe;
  }

  /** Number of listeners of `event`, so emitters can skip building costly payloads. */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Calls every listener of `event` with `payload`. Never throws. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const entry of [...set]) {
      try {
        const result = (entry as Listener<Events[K]>)(payload) as unknown;
        if (result instanceof Promise) result.catch((error: unknown) => this.#report(event, error));
      } catch (error) {
        this.#report(event, error);
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners.clear();
  }

  #report(event: keyof Events, error: unknown): void {
    this.#logger.warn({ event: String(event), err: error }, 'event listener threw; ignored');
  }
}
