/**
 * A separate Apicurio Registry for one test, with its own HTTP port, keeping its schemas in topics of
 * its own on a Kafka broker (KafkaSQL storage, the same settings as `scripts/infra/infra.sh` uses for
 * the shared registry). Tests that stop or restart a registry use it, so the shared registry other
 * tests run against is never disturbed.
 *
 *   await using registry = await startDedicatedRegistry({ brokers: testInfra().kafka.brokers });
 *   // ... registry.url; await registry.stop(); await registry.start(); ...
 *
 * close() stops it and deletes its topics.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { track, waitForExit } from './child-processes.ts';
import { freePort } from './containers.ts';

const infraScript = fileURLToPath(new URL('../../../scripts/infra/infra.sh', import.meta.url));

export interface DedicatedRegistryOptions {
  /** Bootstrap servers of the broker that stores the schemas. */
  brokers: string[];
  /** Prefix of its topic and consumer group names; unique by default. */
  topicPrefix?: string;
  /** HTTP port; a free port by default. */
  port?: number;
  /** Deadline for each start, in ms (default 240 s: Quarkus starts slowly on a loaded machine). */
  startTimeoutMs?: number;
  /** Deadline for a graceful stop before SIGKILL, in ms (default 30 s). */
  stopTimeoutMs?: number;
}

export interface DedicatedRegistry extends AsyncDisposable {
  /** Confluent-compatible base URL (`.../apis/ccompat/v7`); the same across stop/start. */
  readonly url: string;
  /** The KafkaSQL topics (journal, snapshots, events). */
  readonly topics: readonly string[];
  /** Whether the registry process is running. */
  readonly running: boolean;
  /** Stops the registry (SIGTERM, then SIGKILL after the deadline); its topics are kept. */
  stop(): Promise<void>;
  /** Starts it again on the same port and topics; resolves when its API answers. */
  start(): Promise<void>;
  /** Stops it and deletes its topics. */
  close(): Promise<void>;
}

interface RegistryPaths {
  java: string;
  dir: string;
  jar: string;
}

function registryPaths(): Promise<RegistryPaths> {
  return new Promise((resolve, reject) => {
    execFile('bash', [infraScript, 'registry-paths'], { timeout: 600_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`'infra.sh registry-paths' failed: ${stderr.trim() || error.message}`));
      else resolve(JSON.parse(stdout) as RegistryPaths);
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

export async function startDedicatedRegistry(options: DedicatedRegistryOptions): Promise<DedicatedRegistry> {
  const paths = await registryPaths();
  const port = options.port ?? (await freePort());
  const prefix = options.topicPrefix ?? `bus-registry-${Date.now().toString(36)}-${port}`;
  const startTimeoutMs = options.startTimeoutMs ?? 240_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  const logDir = await mkdtemp(join(tmpdir(), 'bus-dedicated-registry-'));
  const logFile = join(logDir, 'registry.log');
  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  const topics = [`${prefix}-journal`, `${prefix}-snapshots`, `${prefix}-events`];
  // The same storage settings as registry_storage_args in scripts/infra/infra.sh.
  const args = [
    '-Xms64m',
    '-Xmx384m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    '-Dbus.infra.role=dedicated-registry',
    '-Dquarkus.http.host=127.0.0.1',
    `-Dquarkus.http.port=${port}`,
    '-Dquarkus.log.level=WARN',
    '-Dapicurio.storage.kind=kafkasql',
    `-Dapicurio.kafkasql.bootstrap.servers=${options.brokers.join(',')}`,
    `-Dapicurio.kafkasql.topic=${topics[0]}`,
    '-Dapicurio.kafkasql.topic.retention.ms=-1',
    `-Dapicurio.kafkasql.snapshots.topic=${topics[1]}`,
    `-Dapicurio.events.kafka.topic=${topics[2]}`,
    `-Dapicurio.kafkasql.consumer.group-prefix=${prefix}-`,
    '-jar',
    paths.jar,
  ];
  let child: ChildProcess | undefined;
  let closed = false;
  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const start = async (): Promise<void> => {
    if (closed) throw new Error('this dedicated registry was closed');
    if (isRunning()) return;
    const out = createWriteStream(logFile, { flags: 'a' });
    const proc = spawn(paths.java, args, { cwd: paths.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.pipe(out, { end: false });
    proc.stderr?.pipe(out, { end: false });
    proc.once('exit', () => out.end());
    child = proc;
    track(proc);
    const deadline = Date.now() + startTimeoutMs;
    while (!(await answers(url))) {
      if (!isRunning()) throw new Error(`the dedicated registry exited during startup (log: ${logFile})`);
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the dedicated registry did not answer within ${startTimeoutMs} ms (log: ${logFile})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250)); // poll interval, bounded by the deadline
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || !isRunning()) return;
    proc.kill('SIGTERM');
    if (!(await waitForExit(proc, stopTimeoutMs))) {
      proc.kill('SIGKILL');
      await waitForExit(proc, 10_000);
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await stop();
    const admin = new Kafka({ brokers: options.brokers, logLevel: logLevel.NOTHING }).admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const ours = topics.filter((topic) => existing.has(topic));
      if (ours.length > 0) await admin.deleteTopics({ topics: ours });
    } finally {
      await admin.disconnect();
    }
    await rm(logDir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (error) {
    await close();
    throw error;
  }

  return {
    url,
    topics,
    get running() {
      return isRunning();
    },
    start,
    stop,
    close,
    [Symbol.asyncDispose]: close,
  };
}
