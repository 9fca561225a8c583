/**
 * Vitest global setup of every project created with `busProject({ integration: true })`.
 *
 * Finds the real Kafka broker and schema registry for this test run, in this order:
 *   1. `KAFKA_BROKERS` (+ `SCHEMA_REGISTRY_URL`) from the environment            → source 'env'
 *   2. a Docker engine that answers: Kafka + Apicurio containers (testcontainers) → source 'testcontainers'
 *   3. the local JVM infra (`scripts/infra/infra.sh`): its connection file when it is up and healthy,
 *      else `infra.sh up` when Java is installed (and `down` at the end, because this run started it)
 *                                                                                → source 'local-jvm'
 *   4. otherwise it throws, saying what to install. It never skips integration tests silently.
 *
 * The settings reach test workers as `process.env.BUS_TEST_INFRA` (workers inherit the environment of
 * the main process) and through vitest's `provide`/`inject` as a fallback; `testInfra()` reads them.
 * Several projects run this setup in one vitest process: the first resolves the infra, the others reuse
 * it (state on `globalThis`), and the last teardown stops what this run started.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { Socket } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import type { TestInfra } from './index.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const infraScript = join(repoRoot, 'scripts/infra/infra.sh');

interface Resolved {
  infra: TestInfra;
  /** Stops what this run started; undefined when the infra belongs to someone else. */
  stop?: () => Promise<void>;
}

interface SetupState {
  resolved: Promise<Resolved>;
  users: number;
}

const STATE_KEY = Symbol.for('bus.test-infra.global-setup');

function log(message: string): void {
  process.stderr.write(`[bus test-infra] ${message}\n`);
}

export default async function setup(project?: TestProject): Promise<() => Promise<void>> {
  const g = globalThis as unknown as Record<symbol, SetupState | undefined>;
  let state = g[STATE_KEY];
  if (!state) {
    state = { resolved: resolveInfra(), users: 0 };
    g[STATE_KEY] = state;
    state.resolved.then(
      ({ infra }) =>
        log(
          `source ${infra.source}: Kafka ${infra.kafka.version ?? '(version unknown)'} at ${infra.kafka.brokers.join(',')}; ` +
            `registry ${infra.registry.version ?? '(version unknown)'} at ${infra.registry.url}`,
        ),
      () => {
        // A failed resolution is not cached: the next project (or run) tries again.
        if (g[STATE_KEY] === state) g[STATE_KEY] = undefined;
      },
    );
  }
  state.users++;
  let resolved: Resolved;
  try {
    resolved = await state.resolved;
  } catch (error) {
    state.users--;
    throw error;
  }
  const json = JSON.stringify(resolved.infra);
  process.env.BUS_TEST_INFRA = json;
  project?.provide('busTestInfra', json);
  const current = state;
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    current.users--;
    if (current.users === 0 && g[STATE_KEY] === current) {
      g[STATE_KEY] = undefined;
      if (resolved.stop) await resolved.stop();
    }
  };
}

async function resolveInfra(): Promise<Resolved> {
  const fromEnv = await infraFromEnv();
  if (fromEnv) return { infra: fromEnv };

  if (process.env.BUS_TEST_INFRA_SOURCE !== 'local-jvm' && (await dockerAnswers())) {
    const { startContainers } = await import('./containers.ts');
    return startContainers();
  }
  if (process.env.BUS_TEST_INFRA_SOURCE === 'testcontainers') {
    throw new Error(
      'BUS_TEST_INFRA_SOURCE=testcontainers, but no Docker engine answers (DOCKER_HOST or /var/run/docker.sock).',
    );
  }
  return localJvm();
}

// ------------------------------------------------------------------------------------------------ env

async function infraFromEnv(): Promise<TestInfra | undefined> {
  const preset = process.env.BUS_TEST_INFRA;
  if (preset) {
    // Set by a parent process (or by an earlier project of this run): trust it, but check it answers.
    const infra = JSON.parse(preset) as TestInfra;
    await assertReachable(infra, 'BUS_TEST_INFRA');
    return infra;
  }
  const brokersVar = process.env.KAFKA_BROKERS;
  if (!brokersVar) return undefined;
  const registryUrl = process.env.SCHEMA_REGISTRY_URL;
  if (!registryUrl) {
    throw new Error(
      'KAFKA_BROKERS is set but SCHEMA_REGISTRY_URL is not: set it to a Confluent-compatible registry URL ' +
        '(e.g. http://localhost:8081, or http://localhost:8080/apis/ccompat/v7 for Apicurio), or unset KAFKA_BROKERS ' +
        'to let the tests start their own infra.',
    );
  }
  const brokers = brokersVar
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const infra: TestInfra = {
    source: 'env',
    kafka: { brokers, ...(process.env.KAFKA_VERSION ? { version: process.env.KAFKA_VERSION } : {}) },
    registry: { url: registryUrl.replace(/\/+$/, '') },
  };
  await assertReachable(infra, 'KAFKA_BROKERS/SCHEMA_REGISTRY_URL');
  const registryVersion = await probeRegistryVersion(infra.registry.url);
  if (registryVersion) infra.registry.version = registryVersion;
  return infra;
}

async function assertReachable(infra: TestInfra, origin: string): Promise<void> {
  const problems = await healthProblems(infra, 10_000);
  if (problems.length > 0) {
    throw new Error(`The Kafka/registry given by ${origin} do not answer: ${problems.join('; ')}`);
  }
}

// ------------------------------------------------------------------------------------------------ docker

/** Whether a Docker engine answers `/_ping` (DOCKER_HOST, else the default sockets). Never loads testcontainers. */
async function dockerAnswers(): Promise<boolean> {
  const host = process.env.DOCKER_HOST;
  const targets: Array<{ socketPath?: string; host?: string; port?: number }> = [];
  if (host?.startsWith('unix://')) targets.push({ socketPath: host.slice('unix://'.length) });
  else if (host?.startsWith('tcp://')) {
    const url = new URL(host.replace(/^tcp:/, 'http:'));
    targets.push({ host: url.hostname, port: Number(url.port || 2375) });
  } else {
    for (const p of [
      '/var/run/docker.sock',
      process.env.XDG_RUNTIME_DIR ? `${process.env.XDG_RUNTIME_DIR}/docker.sock` : '',
      join(homedir(), '.docker/run/docker.sock'),
    ]) {
      if (p && existsSync(p)) targets.push({ socketPath: p });
    }
  }
  for (const target of targets) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request({ ...target, path: '/_ping', method: 'GET', timeout: 2_000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
    if (ok) return true;
  }
  return false;
}

// ------------------------------------------------------------------------------------------------ local JVM

export function infraHome(): string {
  return process.env.BUS_INFRA_HOME ?? join(homedir(), '.cache/bus/infra');
}

function connectionFile(): string {
  return join(infraHome(), 'run/connection.json');
}

function readConnection(): TestInfra | undefined {
  try {
    return JSON.parse(readFileSync(connectionFile(), 'utf8')) as TestInfra;
  } catch {
    return undefined;
  }
}

async function localJvm(): Promise<Resolved> {
  const existing = readConnection();
  if (existing && (await healthProblems(existing, 5_000)).length === 0) {
    const lease = takeLease();
    return { infra: existing, stop: async () => lease.release() };
  }
  const java = await commandWorks('java', ['-version']);
  if (!java) {
    throw new Error(
      'Integration tests need a real Kafka broker and schema registry, and none was found. Either:\n' +
        '  - install Docker (a running engine) so testcontainers can start Kafka and Apicurio, or\n' +
        '  - install Java 17+ and Maven (e.g. apt-get install openjdk-17-jdk-headless maven), then run `pnpm infra:up`\n' +
        '    (or just run the tests again: they start it), or\n' +
        '  - point the tests at your own: KAFKA_BROKERS=host:9092 SCHEMA_REGISTRY_URL=http://host:8081.\n' +
        'Unit tests alone run with `pnpm test:unit`.',
    );
  }
  log(`local JVM infra is not up (${connectionFile()}): running scripts/infra/infra.sh up`);
  const output = await runInfraScript('up');
  const infra = readConnection();
  if (!infra) throw new Error(`infra.sh up finished but wrote no ${connectionFile()}`);
  // infra.sh prints "infra: ready in Ns" only when it started something; another run may have won the race.
  const startedHere = /^infra: ready in \d+s/m.test(output);
  const lease = takeLease();
  return {
    infra,
    stop: async () => {
      lease.release();
      if (!startedHere) return;
      const others = lease.others();
      if (others.length > 0) {
        log(`leaving the local JVM infra running: test runs ${others.join(', ')} still use it`);
        return;
      }
      log('stopping the local JVM infra this run started (infra.sh down)');
      await runInfraScript('down');
    },
  };
}

/**
 * A run that started the infra stops it at the end, unless other test processes on this machine use it:
 * every run on the local JVM infra holds a lease file named by its pid under run/leases/.
 */
function takeLease(): { release(): void; others(): number[] } {
  const dir = join(infraHome(), 'run/leases');
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

function commandWorks(cmd: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 15_000 }, (error) => resolve(!error));
  });
}

function runInfraScript(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    // stdout carries the summary; everything goes to our stderr so reporters' stdout stays clean.
    const child = spawn('bash', [infraScript, command], { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (d: Buffer) => {
      output += d.toString();
      process.stderr.write(d);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`bash scripts/infra/infra.sh ${command} exited with ${code}`)),
    );
  });
}

// ------------------------------------------------------------------------------------------------ health

/** Problems found when probing the broker (Kafka ApiVersions round trip) and the registry (GET /subjects). */
export async function healthProblems(infra: TestInfra, timeoutMs: number): Promise<string[]> {
  const problems: string[] = [];
  const [broker] = infra.kafka.brokers;
  const kafkaOk = broker ? await kafkaAnswers(broker, timeoutMs) : false;
  if (!kafkaOk) problems.push(`no Kafka ApiVersions answer from ${broker ?? '(no broker)'}`);
  const registryOk = await httpOk(`${infra.registry.url}/subjects`, timeoutMs);
  if (!registryOk) problems.push(`no answer from ${infra.registry.url}/subjects`);
  return problems;
}

/** Sends a Kafka ApiVersions v0 request and waits for the response with the same correlation id. */
export function kafkaAnswers(broker: string, timeoutMs: number): Promise<boolean> {
  const idx = broker.lastIndexOf(':');
  const host = broker.slice(0, idx).replace(/^\[|\]$/g, '');
  const port = Number(broker.slice(idx + 1));
  const clientId = Buffer.from('bus-test-infra');
  const correlationId = 0x0b05;
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0); // ApiVersions
  body.writeInt16BE(0, 2); // v0
  body.writeInt32BE(correlationId, 4);
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);
  return new Promise((resolve) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('error', () => finish(false));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 8) finish(received.readInt32BE(4) === correlationId);
    });
    socket.connect(port, host, () => socket.write(frame));
  });
}

function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string } | undefined> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    .then(async (res) => ({ status: res.status, body: await res.text() }))
    .catch(() => undefined);
}

async function httpOk(url: string, timeoutMs: number): Promise<boolean> {
  const res = await httpGet(url, timeoutMs);
  return res !== undefined && res.status >= 200 && res.status < 300;
}

/** Best effort: Apicurio's system info, else Confluent's `/v1/metadata/version`. */
async function probeRegistryVersion(ccompatUrl: string): Promise<string | undefined> {
  const apicurio = ccompatUrl.match(/^(.*)\/apis\/ccompat\/v\d+$/);
  if (apicurio) {
    const res = await httpGet(`${apicurio[1]}/apis/registry/v3/system/info`, 3_000);
    if (res?.status === 200) {
      const info = JSON.parse(res.body) as { version?: string };
      if (info.version) return `apicurio ${info.version}`;
    }
    return undefined;
  }
  const res = await httpGet(`${ccompatUrl}/v1/metadata/version`, 3_000);
  if (res?.status === 200) {
    const info = JSON.parse(res.body) as { version?: string };
    if (info.version) return `confluent ${info.version}`;
  }
  return undefined;
}
