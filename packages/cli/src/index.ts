/**
 * @bus/cli: the `bus` command line for operators. Run it as `bus <command>`; `runBus` runs the
 * same commands in-process (for scripts and tests) and resolves with the exit code.
 */
export { CliError, CliErrorCode, type CliErrorCodeValue } from './errors.js';
export { type CliIo, type ProgressStream, processIo } from './io.js';
export { runBus } from './program.js';
