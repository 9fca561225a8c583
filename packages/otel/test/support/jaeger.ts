import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
 * The real Jaeger of the infra scripts: the running one, else started here with `infra.sh jaeger up`
 * (which builds it with Go first if it is not cached). `stop()` stops it only if it was started here.
 */
export async function useJaeger(): Promise<JaegerEndpoints & { stop(): Promise<void> }> {
  const running = readEndpoints();
  if (running !== undefined && (await answers(running))) return { ...running, stop: async () => {} };
  const output = await infraScript('jaeger', 'up');
  const endpoints = readEndpoints();
  if (endpoints === undefined || !(await answers(endpoints))) {
    throw new Error('infra.sh jaeger up finished, but Jaeger does not answer on its query API');
  }
  const startedHere = /infra: jaeger ready in \d+s/.test(output);
  return {
    ...endpoints,
    stop: async () => {
      if (startedHere) await infraScript('jaeger', 'down');
    },
  };
}
