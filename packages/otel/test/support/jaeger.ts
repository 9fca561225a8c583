import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the Jaeger of the infra scripts listens (written by `infra.sh jaeger up` to run/jaeger.json). */
export interface JaegerEndpoints {
  readonly version: string;
  /** OTLP/HTTP base URL (`/v1/traces`, `/v1/metrics`). */
  readonly otlpHttp: string;
  /** Query API base URL (`/api/traces`). */
  readonly query: string;
  /** Prometheus text endpoint of the OTLP metrics Jaeger received. */
  readonly prometheus: string;
}

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

function infraHome(): string {
  return process.env.BUS_INFRA_HOME ?? join(homedir(), '.cache/bus/infra');
}

function readEndpoints(): JaegerEndpoints | undefined {
  try {
    return JSON.parse(readFileSync(join(infraHome(), 'run/jaeger.json'), 'utf8')) as JaegerEndpoints;
  } catch {
    return undefined;
  }
}

async function answers(endpoints: JaegerEndpoints): Promise<boolean> {
  try {
    const res = await fetch(`${endpoints.query}/api/services`, { signal: AbortSignal.timeout(3_000) });
    return res.ok;
  } catch {
    return false;
  }
}

function infraScript(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const child = spawn('bash', [join(repoRoot, 'scripts/infra/infra.sh'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (d: Buffer) => {
      output += d.toString();
      process.stderr.write(d);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`infra.sh ${args.join(' ')} exited with ${code}`)),
    );
  });
}

/**
 * Every test process that uses Jaeger holds a lease (a file named by its pid), so that the one that
 * started it stops it only when no other test process (another file of the run) still uses it.
 */
function takeLease(): { release(): void; others(): number[] } {
  const dir = join(infraHome(), 'run/jaeger-leases');
  mkdirSync(dir, { recursive: true });
  const mine = join(dir, String(process.pid));
  writeFileSync(mine, `${process.pid}\n`);
  return {
    release: () => rmSync(mine, { force: true }),
    others: () =>
      readdirSync(dir)
        .map(Number)
        .filter((pid) => Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)),
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The real Jaeger of the infra scripts: the running one, else started here with `infra.sh jaeger up`
 * (which builds it with Go first if it is not cached). `stop()` stops it if it was started here and no
 * other test process uses it.
 */
export async function useJaeger(): Promise<JaegerEndpoints & { stop(): Promise<void> }> {
  // The lease comes first: a process that started Jaeger and is finishing sees it and leaves Jaeger up.
  const lease = takeLease();
  const running = readEndpoints();
  if (running !== undefined && (await answers(running))) return { ...running, stop: async () => lease.release() };
  const output = await infraScript('jaeger', 'up');
  const endpoints = readEndpoints();
  if (endpoints === undefined || !(await answers(endpoints))) {
    lease.release();
    throw new Error('infra.sh jaeger up finished, but Jaeger does not answer on its query API');
  }
  const startedHere = /infra: jaeger ready in \d+s/.test(output);
  return {
    ...endpoints,
    stop: async () => {
      lease.release();
      if (startedHere && lease.others().length === 0) await infraScript('jaeger', 'down');
    },
  };
}
