import { ConfigIssues } from '../config.js';
import type { Plugin } from '../router/types.js';

/** Options of {@link signalsPlugin}. */
export interface SignalsPluginOptions {
  /** Process signals that close the router. Default `['SIGINT', 'SIGTERM']`. */
  signals?: readonly NodeJS.Signals[];
  /** Drain deadline passed to `close()`; the router's `closeTimeoutMs` when absent. */
  closeTimeoutMs?: number;
}

/**
 * Closes the router gracefully (draining in-flight handlers) when the process receives one of
 * `signals`. Its listeners are removed when the router stops, so the process's default signal
 * behaviour returns afterwards. While installed, the listeners replace Node's default exit on those
 * signals: the process exits once the router has closed and nothing else keeps it alive.
 * @throws {ConfigError} for an empty signal list or a bad deadline.
 */
export function signalsPlugin(options: SignalsPluginOptions = {}): Plugin {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
  const issues = new ConfigIssues('signalsPlugin');
  issues.require(Array.isArray(signals) && signals.length > 0, 'signals', 'must list at least one signal');
  if (Array.isArray(signals)) {
    signals.forEach((signal, index) => {
      if (typeof signal !== 'string' || !signal.startsWith('SIG'))
        issues.add(`signals[${index}]`, 'must be a signal name like "SIGTERM"');
    });
  }
  issues.integer(options.closeTimeoutMs, 'closeTimeoutMs', { min: 0 });
  issues.throwIfAny();
  const closeOptions = options.closeTimeoutMs === undefined ? {} : { timeoutMs: options.closeTimeoutMs };
  return (router) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      router.logger.info({ signal }, 'signal received; closing the router');
      void router.close(closeOptions);
    };
    for (const signal of signals) process.on(signal, onSignal);
    return () => {
      for (const signal of signals) process.off(signal, onSignal);
    };
  };
}
