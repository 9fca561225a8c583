import Table from 'cli-table3';

/** Where the CLI reads and writes: the process by default, buffers in tests. */
export interface CliIo {
  /** Writes to standard output. */
  readonly stdout: (text: string) => void;
  /** Writes to standard error. */
  readonly stderr: (text: string) => void;
  /** Standard input, read by `bus produce`. */
  readonly stdin: AsyncIterable<string | Uint8Array>;
  /** Environment variables (`KAFKA_*`, `SCHEMA_REGISTRY_URL`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether standard error is a terminal (progress bars are drawn only then, unless asked for). */
  readonly stderrIsTTY: boolean;
  /** Writable stream (e.g. `process.stderr`) for progress bars; none: no bar. */
  readonly progressStream?: ProgressStream | undefined;
  /** Resolves when stdout can take more (a slow reader of a pipe); commands that print a lot wait on it. */
  readonly drained?: (() => Promise<void>) | undefined;
  /** Stops long-running commands (`--follow`, `--watch`); they then exit 0. */
  readonly signal?: AbortSignal | undefined;
}

/** What progress bars are drawn on: a Node writable stream such as `process.stderr`. */
export interface ProgressStream {
  /** Writes text. */
  write(text: string): unknown;
  /** Whether it is a terminal. */
  readonly isTTY?: boolean | undefined;
}

/** The process's own streams and environment; Ctrl-C stops following commands. */
export function processIo(signal?: AbortSignal): CliIo {
  let drain: Promise<void> | undefined;
  return {
    stdout: (text) => {
      if (!process.stdout.write(text)) {
        drain ??= new Promise<void>((resolve) => process.stdout.once('drain', resolve)).then(() => {
          drain = undefined;
        });
      }
    },
    drained: () => drain ?? Promise.resolve(),
    stderr: (text) => {
      process.stderr.write(text);
    },
    stdin: process.stdin,
    env: process.env,
    stderrIsTTY: process.stderr.isTTY === true,
    progressStream: process.stderr,
    signal,
  };
}

/** Writes one JSON document on one line. */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout(`${JSON.stringify(value, jsonReplacer)}\n`);
}

/** Renders rows as a table with a header (cli-table3), written to stdout. */
export function printTable(io: CliIo, head: readonly string[], rows: readonly (readonly unknown[])[]): void {
  const table = new Table({ head: [...head], style: { head: [], border: [], compact: true } });
  for (const row of rows) table.push(row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))));
  io.stdout(`${table.toString()}\n`);
}

/** JSON for values JSON.stringify cannot write: bigints as strings, bytes as base64, dates as ISO. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') };
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}
