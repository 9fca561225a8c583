/**
 * Python peers for interop tests: Confluent's `confluent-kafka` (librdkafka, plus its Schema Registry
 * serializers) in a virtualenv cached under `~/.cache/bus/python` (`BUS_PYTHON_HOME`), beside the
 * Kafka jars. The first call creates the venv and installs the pinned packages from PyPI; later calls
 * and runs reuse it. Scripts run as real child processes that talk to the broker and registry on
 * 127.0.0.1 and report to the test as JSON lines on stdout.
 *
 *   await using consumer = await startPythonScript(script, { args: [brokers, topic, group] });
 *   await consumer.waitFor((event) => event.type === 'assigned');
 *
 * It needs `python3` (3.9+) with the `venv` module, and PyPI once; without them it throws
 * {@link PythonUnavailableError}, saying what to install.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Exact versions of everything installed (`pip freeze` of `confluent-kafka[schemaregistry,protobuf]`),
 * so every run and CI test against the same librdkafka and serializers.
 */
export const PYTHON_REQUIREMENTS: readonly string[] = [
  'confluent-kafka[schemaregistry,protobuf]==2.16.1',
  'anyio==4.16.0',
  'attrs==26.1.0',
  'Authlib==1.9.10',
  'cachetools==8.0.2',
  'certifi==2026.10.19.post1',
  'cffi==2.1.1',
  'cryptography==50.0.2',
  'googleapis-common-protos==1.76.0',
  'h11==0.16.0',
  'httpcore2==2.16.2',
  'httpx2==2.16.2',
  'idna==3.20',
  'joserfc==1.8.0',
  'protobuf==7.36.2',
  'pycparser==3.12',
  'truststore==0.10.5',
  'typing_extensions==4.16.0',
];

/** Thrown when the Python peer cannot be set up on this machine (no python3 with venv, or PyPI unreachable). */
export class PythonUnavailableError extends Error {
  override readonly name = 'PythonUnavailableError';
}

/** A ready virtualenv with the pinned packages. */
export interface PythonEnv {
  /** The venv's interpreter. */
  readonly python: string;
  /** The venv directory. */
  readonly dir: string;
}

let envPromise: Promise<PythonEnv> | undefined;

/** The cached venv, created (once per machine and requirement set) when missing. */
export function pythonEnv(): Promise<PythonEnv> {
  envPromise ??= createEnv().catch((error: unknown) => {
    envPromise = undefined;
    throw error;
  });
  return envPromise;
}

function pythonHome(): string {
  return process.env.BUS_PYTHON_HOME ?? join(homedir(), '.cache/bus/python');
}

async function createEnv(): Promise<PythonEnv> {
  const base = process.env.BUS_PYTHON ?? 'python3';
  const version = await run(base, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], 10_000).catch(
    (error: unknown) => {
      throw new PythonUnavailableError(
        `Python interop tests need python3 3.9+ with the venv module (apt-get install python3 python3-venv), or BUS_PYTHON: ${String(error)}`,
      );
    },
  );
  const hash = createHash('sha256')
    .update(`${version.trim()}\n${PYTHON_REQUIREMENTS.join('\n')}`)
    .digest('hex');
  const dir = join(pythonHome(), `confluent-kafka-py${version.trim()}-${hash.slice(0, 12)}`);
  const python = join(dir, 'bin', 'python');
  const marker = join(dir, '.complete');
  if (existsSync(marker)) return { python, dir };
  // Built beside its final place and renamed into it, so a concurrent run or an interrupted
  // install never sees a half-filled venv (a venv's interpreter finds its packages relative to itself).
  await mkdir(pythonHome(), { recursive: true });
  const staging = `${dir}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    await run(base, ['-m', 'venv', staging], 120_000);
    const pip = join(staging, 'bin', 'python');
    await run(
      pip,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', ...PYTHON_REQUIREMENTS],
      600_000,
    );
    await writeFile(join(staging, '.complete'), `${PYTHON_REQUIREMENTS.join('\n')}\n`);
    await rename(staging, dir).catch(async (error: unknown) => {
      // Another run finished first: use its venv.
      if (!existsSync(marker)) throw error;
    });
  } catch (error) {
    throw error instanceof PythonUnavailableError
      ? error
      : new PythonUnavailableError(`Could not create the Python interop venv in ${staging}: ${String(error)}`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { python, dir };
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** One JSON object a script printed on a line of its stdout. */
export type PythonEvent = Record<string, unknown> & { type?: string };

/** Options of {@link startPythonScript}. */
export interface PythonScriptOptions {
  /** Command-line arguments after the script path. */
  args?: readonly string[];
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/** A running Python script; disposing it stops it (SIGTERM, then SIGKILL). */
export interface PythonScript extends AsyncDisposable {
  /** Every event the script printed so far, in order. */
  readonly events: readonly PythonEvent[];
  /** Resolves with the first event (past or future) matching `predicate`; rejects at the deadline or when the script exits first. */
  waitFor(predicate: (event: PythonEvent) => boolean, timeoutMs?: number): Promise<PythonEvent>;
  /** Writes one JSON line to the script's stdin. */
  send(command: Record<string, unknown>): void;
  /** Resolves with the exit code once the script has exited. */
  readonly exited: Promise<number | null>;
  /** What the script wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** Stops the script: SIGTERM, then SIGKILL after `graceMs` (default 10 s). */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `scriptPath` with the venv's interpreter. */
export async function startPythonScript(scriptPath: string, options: PythonScriptOptions = {}): Promise<PythonScript> {
  const { python } = await pythonEnv();
  const child = spawn(python, ['-u', scriptPath, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return new RunningScript(child);
}

interface Waiter {
  predicate: (event: PythonEvent) => boolean;
  resolve: (event: PythonEvent) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

class RunningScript implements PythonScript {
  readonly events: PythonEvent[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #waiters = new Set<Waiter>();
  #stderr = '';
  #exitCode: number | null | undefined;

  constructor(child: ChildProcess) {
    this.#child = child;
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-20_000);
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => this.#onLine(line));
    this.exited = new Promise((resolve) => {
      child.on('error', (error) => {
        this.#stderr += `\n${String(error)}`;
      });
      child.on('close', (code) => {
        this.#exitCode = code;
        for (const waiter of this.#waiters) this.#fail(waiter, 'the script exited');
        resolve(code);
      });
    });
  }

  #onLine(line: string): void {
    let event: PythonEvent;
    try {
      event = JSON.parse(line) as PythonEvent;
    } catch {
      event = { type: 'output', line };
    }
    this.events.push(event);
    for (const waiter of this.#waiters) {
      if (!waiter.predicate(event)) continue;
      this.#waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(event);
    }
  }

  #fail(waiter: Waiter, why: string): void {
    this.#waiters.delete(waiter);
    clearTimeout(waiter.timer);
    const last = this.events.slice(-5).map((event) => JSON.stringify(event));
    waiter.reject(
      new Error(
        `${why} before the awaited event; last events: ${last.join(' ')}; stderr: ${this.#stderr.slice(-4_000)}`,
      ),
    );
  }

  waitFor(predicate: (event: PythonEvent) => boolean, timeoutMs = 60_000): Promise<PythonEvent> {
    const past = this.events.find(predicate);
    if (past !== undefined) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => this.#fail(waiter, `no match within ${timeoutMs} ms`), timeoutMs),
      };
      this.#waiters.add(waiter);
      if (this.#exitCode !== undefined) this.#fail(waiter, 'the script exited');
    });
  }

  send(command: Record<string, unknown>): void {
    this.#child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  stderr(): string {
    return this.#stderr;
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (this.#exitCode !== undefined) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** The path of one of the peer scripts in `tools/test-infra/python/` (e.g. `consumer.py`). */
export function pythonScriptPath(name: string): string {
  return fileURLToPath(new URL(`../python/${name}`, import.meta.url));
}
