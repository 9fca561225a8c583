import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** Where the Jaeger of the infra scripts listens (`run/jaeger.json`, written by `infra.sh jaeger up`). */
export interface Jaeger {
  /** OTLP/HTTP base URL. */
  readonly otlpHttp: string;
  /** Query API base URL (`/api/traces`). */
  readonly query: string;
}

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const connectionFile = () => join(process.env.BUS_INFRA_HOME ?? join(homedir(), '.cache/bus/infra'), 'run/jaeger.json');

function read(): Jaeger | undefined {
  try {
    return JSON.parse(readFileSync(connectionFile(), 'utf8')) as Jaeger;
  } catch {
    return undefined;
  }
}

async function answers(jaeger: Jaeger): Promise<boolean> {
  try {
    return (await fetch(`${jaeger.query}/api/services`, { signal: AbortSignal.timeout(3_000) })).ok;
  } catch {
    return false;
  }
}

/**
 * The real Jaeger of the infra scripts (`pnpm infra:up` starts it with Kafka): the running one, else
 * started with `infra.sh jaeger up`, idempotent and under the infra lock. It is left running, like the
 * rest of the infra (`pnpm infra:down` stops it), so no test stops it under another.
 */
export async function realJaeger(): Promise<Jaeger> {
  const running = read();
  if (running !== undefined && (await answers(running))) return running;
  await promisify(execFile)('bash', [join(repoRoot, 'scripts/infra/infra.sh'), 'jaeger', 'up'], {
    maxBuffer: 16 << 20,
  });
  const started = read();
  if (started === undefined || !(await answers(started))) {
    throw new Error('infra.sh jaeger up finished, but Jaeger does not answer on its query API');
  }
  return started;
}
