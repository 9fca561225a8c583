#!/usr/bin/env node
import { processIo } from './io.js';
import { runBus } from './program.js';

// kafkajs 2.2.4 sets a negative timer on Node >= 24, which only warns; an operator's terminal
// should not show it (see @bus/kafka's README).
const emitWarning = process.emitWarning;
process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (type === 'TimeoutNegativeWarning' || (warning instanceof Error && warning.name === 'TimeoutNegativeWarning'))
    return;
  return (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
} as typeof process.emitWarning;

// Ctrl-C stops --follow and --watch cleanly (exit 0); a second one exits at once.
const interrupt = new AbortController();
process.once('SIGINT', () => {
  interrupt.abort();
  process.once('SIGINT', () => process.exit(130));
});
// `bus tail | head` closes stdout early: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
});
process.exitCode = await runBus(process.argv.slice(2), processIo(interrupt.signal));
