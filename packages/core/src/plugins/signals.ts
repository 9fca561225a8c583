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
  /**
   * How long, in milliseconds, the process may stay alive on its own once the router has closed
   * before the signal is raised again (listeners removed), so the process's default action (exit)
   * happens. A client that cannot reach its brokers keeps retrying on referenced timers, which would
   * otherwise hold the process up long after the drain. The timer is unreferenced: a process that
   * exits by itself earlier is never signalled. As with a second signal, an application listener for
   * that signal is called instead of exiting. `false` leaves exiting to the application. Default 1000.
   */
  exitAfterCloseMs?: number | false;
}

/**
 * Closes the router gracefully (draining in-flight handlers) when the process receives one of
 * `signals`. Its listeners are removed when the router stops, so the process's default signal
 * behaviour returns afterwards. While installed, the listeners replace Node's default exit on those
 * signals: the process exits once the router has closed and nothing else keeps it alive, or at the
 * latest {@link SignalsPluginOptions.exitAfterCloseMs} later. A second signal during the drain exits at
 * once (see {@link SignalsPluginOptions.exitOnSecondSignal}).
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
  if (options.exitAfterCloseMs !== false)
    issues.integer(options.exitAfterCloseMs, 'exitAfterCloseMs', { min: 0, max: 2_147_483_647 });
  issues.throwIfAny();
  const closeOptions = options.closeTimeoutMs === undefined ? {} : { timeoutMs: options.closeTimeoutMs };
  const exitOnSecondSignal = options.exitOnSecondSignal ?? true;
  const exitAfterCloseMs = options.exitAfterCloseMs ?? 1_000;
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
      void router.close(closeOptions).then(() => {
        if (exitAfterCloseMs === false) return;
        setTimeout(() => {
          router.logger.warn(
            { signal, exitAfterCloseMs },
            'still running after the router closed; raising the signal again',
          );
          remove();
          process.kill(process.pid, signal);
        }, exitAfterCloseMs).unref();
      });
    };
    for (const signal of signals) process.on(signal, onSignal);
    return remove;
  };
}
