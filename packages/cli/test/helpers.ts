import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CliIo, runBus } from '@bus/cli';
import { testInfra } from '@bus/test-infra';

/** What one run of `bus` did. */
export interface BusRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document per line. */
  json<T = Record<string, unknown>>(): T[];
}

/** Options of a run. */
export interface RunOptions {
  /** Text on stdin. */
  stdin?: string;
  /** Environment (replaces the process's). Default: none besides what the test passes. */
  env?: Record<string, string>;
  /** Stops --follow / --watch. */
  signal?: AbortSignal;
  /** Captures progress bars (in-process runs only). */
  progress?: { text: string };
}

export const kafkaUrl = () => `kafka://${testInfra().kafka.brokers.join(',')}`;
export const registryUrl = () => testInfra().registry.url;

function result(code: number, stdout: string, stderr: string): BusRun {
  return {
    code,
    stdout,
    stderr,
    json: <T>() =>
      stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as T),
  };
}

/** Runs `bus` in this process (fast), against the test broker and registry unless the args say otherwise. */
export async function bus(args: readonly string[], options: RunOptions = {}): Promise<BusRun> {
  let stdout = '';
  let stderr = '';
  const { Writable } = await import('node:stream');
  const progress = options.progress;
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    stdin: (async function* () {
      if (options.stdin !== undefined) yield options.stdin;
    })(),
    env: options.env ?? {},
    stderrIsTTY: false,
    progressStream:
      progress === undefined
        ? undefined
        : new Writable({
            write(chunk, _encoding, done) {
              progress.text += String(chunk);
              done();
            },
          }),
    signal: options.signal,
  };
  const code = await runBus(args, io);
  return result(code, stdout, stderr);
}

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** Runs the built `bus` binary as a child process (real argv, exit code, streams). */
export function busBin(args: readonly string[], options: RunOptions = {}): Promise<BusRun> {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "pnpm build" before the CLI tests`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: options.signal,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(result(code ?? -1, stdout, stderr)));
    child.stdin.end(options.stdin ?? '');
  });
}

/** Polls `condition` until it is truthy or `timeoutMs` passes. */
export async function waitFor<T>(condition: () => Promise<T> | T, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
