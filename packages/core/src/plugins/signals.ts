import { ConfigIssues } from '../config.js';
import type { Plugin } from '../router/types.js';

/**
 * A process signal name such as `'SIGTERM'`. Not `NodeJS.Signals`: the published types must compile
 * without @types/node.
 */
export type ProcessSignal = `SIG${string}`;

/** Options of {@link signalsPlugin}. */
export interface SignalsPluginOptions {
  /** Process signals that close the router. Default `['SIGINT', 'SIGTERM']`. */
  signals?: readonly ProcessSignal[];
  /** Drain deadline passed to `close()`; the router's `closeTimeoutMs` when absent. */
  closeTimeoutMs?: number;
  /**
   * Whether a second signal, while the router is still draining, stops waiting: the listeners are
   * removed and the signal is raised again, so the process's default action (exit) happens at once,
   * unless other listeners of the application handle that signal.
   * Messages still in flight are then neither acked nor committed, so they are redelivered
   * (at-least-once holds; the drain is what avoids those redeliveries). Default `true`.
   */
  exitOnSecondSignal?: boolean;
}

/**
 * Closes the router gracefully (draining in-flight handlers) when the process receives one of
 * `signals`. Its listeners are removed when the router stops, so the process's default signal
 * behaviour returns afterwards. While installed, the listeners replace Node's default exit on those
 * signals: the process exits once the router has closed and nothing else keeps it alive. A second
 * signal during the drain exits at once (see {@link SignalsPluginOptions.exitOnSecondSignal}).
 * @throws {ConfigError} for an empty signal list or a bad deadline.
 */
export function signalsPlugin(options: SignalsPluginOptions = {}): Plugin {
  // Validated below (names starting with SIG); Node rejects an unknown one when it is listened to.
  const signals = (options.signals ?? ['SIGINT', 'SIGTERM']) as readonly NodeJS.Signals[];
  const issues = new ConfigIssues('signalsPlugin');
  issues.require(Array.isArray(signals) && signals.length > 0, 'signals', 'must list at least one signal');
  if (Array.isArray(signals)) {
    signals.forEach((signal, index) => {
      if (typeof signal !== 'string' || !signal.startsWith('SIG'))
        issues.add(`signals[${index}]`, 'must be a signal name like "SIGTERM"');
    });
  }
  issues.integer(options.closeTimeoutMs, 'closeTimeoutMs', { min: 0 });
  if (options.exitOnSecondSignal !== undefined && typeof options.exitOnSecondSignal !== 'boolean') {
    issues.add('exitOnSecondSignal', 'must be a boolean');
  }
  issues.throwIfAny();
  const closeOptions = options.closeTimeoutMs === undefined ? {} : { timeoutMs: options.closeTimeoutMs };
  const exitOnSecondSignal = options.exitOnSecondSignal ?? true;
  return (router) => {
    let closing = false;
    const remove = (): void => {
      for (const signal of signals) process.off(signal, onSignal);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing && exitOnSecondSignal) {
        router.logger.warn({ signal }, 'second signal while draining; not waiting any longer');
        remove();
        process.kill(process.pid, signal);
        return;
      }
      closing = true;
      router.logger.info({ signal }, 'signal received; closing the router');
      void router.close(closeOptions);
    };
    for (const signal of signals) process.on(signal, onSignal);
    return remove;
  };
}
