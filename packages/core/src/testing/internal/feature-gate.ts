import { it } from 'vitest';

/** The shape of `it` the suite's cases use. */
type CaseRegistrar = (name: string, fn: () => Promise<void> | void, timeoutMs?: number) => void;

/**
 * `it` when the transport has the feature, else a no-op: a case a transport's features rule out
 * is not registered at all, so its runs report no skipped tests.
 */
export function itWhen(enabled: boolean | undefined): CaseRegistrar {
  return enabled === true ? (name, fn, timeoutMs) => it(name, fn, timeoutMs) : () => {};
}
