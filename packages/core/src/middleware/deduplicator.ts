import { ConfigIssues } from '../config.js';
import type { Middleware, ReceivedMessage } from '../pubsub.js';
import { toError } from '../errors.js';
import { onSettled } from '../router/internal/settle-hooks.js';

/**
 * Remembers which keys were handled. Back it with Redis or a database to deduplicate across processes.
 * `seen` must check and record in one step (atomically when shared).
 */
export interface DeduplicationStore {
  /** Whether `key` was recorded within the last `ttlMs`; records it (for `ttlMs`) if not. */
  seen(key: string, ttlMs: number): Promise<boolean> | boolean;
  /**
   * Forgets `key`. Called when the handler of a first delivery fails, so the redelivery is handled
   * rather than dropped as a duplicate (which would lose the message).
   */
  forget(key: string): Promise<void> | void;
}

/** Options of {@link memoryDeduplicationStore}. */
export interface MemoryDeduplicationStoreOptions {
  /** Most keys kept; the oldest are evicted beyond it. Default 100 000. */
  maxKeys?: number;
  /** Clock in milliseconds, for tests. Default `Date.now`. */
  now?: () => number;
}

/** An in-memory {@link DeduplicationStore} with per-key expiry and a bounded size (oldest evicted first). */
export interface MemoryDeduplicationStore extends DeduplicationStore {
  /** Keys currently remembered. */
  readonly size: number;
}

/**
 * Creates an in-process {@link DeduplicationStore}. Expired keys are dropped as new ones arrive, and at
 * most `maxKeys` are kept, so memory stays bounded; an evicted key may be handled again.
 * @throws {ConfigError} for invalid options.
 */
export function memoryDeduplicationStore(options: MemoryDeduplicationStoreOptions = {}): MemoryDeduplicationStore {
  const issues = new ConfigIssues('memoryDeduplicationStore');
  issues.integer(options.maxKeys, 'maxKeys', { min: 1 });
  if (options.now !== undefined && typeof options.now !== 'function') issues.add('now', 'must be a function');
  issues.throwIfAny();
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? Date.now;
  // Insertion order is expiry order when every caller uses the same TTL, which makes sweeping O(expired).
  const expiries = new Map<string, number>();

  const sweep = (at: number): void => {
    for (const [key, expiresAt] of expiries) {
      if (expiresAt > at && expiries.size <= maxKeys) break;
      expiries.delete(key);
    }
  };

  return {
    get size() {
      return expiries.size;
    },
    seen(key, ttlMs) {
      const at = now();
      const expiresAt = expiries.get(key);
      if (expiresAt !== undefined && expiresAt > at) return true;
      expiries.delete(key);
      expiries.set(key, at + ttlMs);
      sweep(at);
      return false;
    },
    forget(key) {
      expiries.delete(key);
    },
  };
}

/** Options of {@link deduplicator}. */
export interface DeduplicatorOptions {
  /** Where handled keys are remembered. Default: a {@link memoryDeduplicationStore}. */
  store?: DeduplicationStore;
  /** How long a key counts as handled, in milliseconds. Default 10 minutes. */
  ttlMs?: number;
  /** The deduplication key of a message. Default: its id. */
  key?: (message: ReceivedMessage) => string;
}

/**
 * Skips messages whose key was already handled within `ttlMs`: the duplicate is acked without calling
 * the handler, and forwards nothing. If the message is nacked (its handler failed, or forwarding what it
 * returned failed), the key is forgotten again, so the redelivery is handled (at-least-once is kept).
 *
 * Trade-offs: a duplicate arriving while the first delivery is still being handled is dropped at once;
 * if that first delivery then fails, the failed one is redelivered (it was nacked), so nothing is lost.
 * The in-memory store only sees one process and forgets evicted or expired keys; use a shared store
 * for exactly-once effects across consumers. A crash after the handler succeeded but before the ack
 * leaves the key recorded, so the redelivery is skipped, which is the point of deduplicating.
 * @throws {ConfigError} for invalid options, at construction.
 */
export function deduplicator(options: DeduplicatorOptions = {}): Middleware {
  const issues = new ConfigIssues('deduplicator');
  issues.integer(options.ttlMs, 'ttlMs', { min: 1 });
  if (options.store !== undefined) {
    issues.require(typeof options.store?.seen === 'function', 'store.seen', 'must be a function');
    issues.require(typeof options.store?.forget === 'function', 'store.forget', 'must be a function');
  }
  if (options.key !== undefined && typeof options.key !== 'function') issues.add('key', 'must be a function');
  issues.throwIfAny();
  const store = options.store ?? memoryDeduplicationStore();
  const ttlMs = options.ttlMs ?? 600_000;
  const keyOf = options.key ?? ((message: ReceivedMessage) => message.id);

  return (next) => async (message, context) => {
    const key = keyOf(message);
    if (await store.seen(key, ttlMs)) {
      context.logger.debug({ messageId: message.id, dedupKey: key }, 'duplicate skipped');
      return undefined;
    }
    const forget = (): void => {
      const failed = (error: unknown): void =>
        context.logger.warn({ err: toError(error), dedupKey: key }, 'forgetting a deduplication key failed');
      try {
        // Called synchronously so an in-memory store forgets before the nack triggers the redelivery.
        const pending = store.forget(key);
        if (pending instanceof Promise) pending.catch(failed);
      } catch (error) {
        failed(error);
      }
    };
    // Forget on any nack, including a failed forward after the handler returned, so nothing is lost.
    onSettled(message, (outcome) => {
      if (outcome === 'nacked') forget();
    });
    try {
      return await next(message, context);
    } catch (error) {
      // Outside a router no settle hook runs; forgetting twice is harmless.
      forget();
      throw error;
    }
  };
}
