/**
 * A separate single-node Kafka broker for one test: its own ports and temporary data directory, the same
 * cached jars as the local JVM infra (`scripts/infra/infra.sh`). Tests that stop or restart a broker use
 * it so the shared broker other tests run against is never disturbed.
 *
 *   await using kafka = await startDedicatedKafka();
 *   // ... kafka.brokers; await kafka.stop(); await kafka.start(); ...
 *
 * It needs Java 17+ (and Maven once, to fill the cache); it works whatever source the shared infra
 * came from. Without Java it throws {@link DedicatedKafkaUnavailableError}.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track, waitForExit } from './child-processes.ts';
import { freePort } from './containers.ts';
import { newKraftClusterId, storageFormatArgs } from './kraft-cluster-id.ts';

const infraScript = fileURLToPath(new URL('../../../scripts/infra/infra.sh', import.meta.url));

export interface DedicatedKafkaOptions {
  /** Extra `server.properties` entries, e.g. `{ 'log.retention.ms': 60000 }`. */
  config?: Record<string, string | number | boolean>;
  /** PLAINTEXT port; a free port by default. */
  port?: number;
  /** Deadline for each start, in ms (default 90 s). */
  startTimeoutMs?: number;
  /** Deadline for a graceful stop before SIGKILL, in ms (default 30 s). */
  stopTimeoutMs?: number;
  /** KRaft cluster id to format the storage with (16 bytes, URL-safe base64); random by default. */
  clusterId?: string;
}

export interface DedicatedKafka extends AsyncDisposable {
  /** PLAINTEXT bootstrap servers; the same across stop/start. */
  readonly brokers: string[];
  /** Kafka version of the cached jars. */
  readonly version: string;
  /** The KRaft cluster id the storage was formatted with. */
  readonly clusterId: string;
  /** Data and log directory (removed by close()). */
  readonly dataDir: string;
  /** Whether the broker process is running. */
  readonly running: boolean;
  /** Stops the broker gracefully (SIGTERM, then SIGKILL after the deadline); data is kept. */
  stop(): Promise<void>;
  /** Kills the broker process at once (SIGKILL, like a crashed host); data is kept. Resolves once it exited. */
  kill(): Promise<void>;
  /** Starts the broker again on the same ports and data; resolves when it answers metadata requests. */
  start(): Promise<void>;
  /** Stops the broker and removes its data. */
  close(): Promise<void>;
}

/** Thrown when a dedicated broker cannot be started on this machine (no Java 17+, no cached Kafka and no Maven). */
export class DedicatedKafkaUnavailableError extends Error {
  override readonly name = 'DedicatedKafkaUnavailableError';
}

interface InfraPaths {
  java: string;
  kafkaHome: string;
  classpath: string;
  kafkaVersion: string;
  log4j2: string;
  runDir: string;
}

let pathsPromise: Promise<InfraPaths> | undefined;

function infraPaths(): Promise<InfraPaths> {
  pathsPromise ??= new Promise<InfraPaths>((resolve, reject) => {
    execFile('bash', [infraScript, 'paths'], { timeout: 600_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(
          new DedicatedKafkaUnavailableError(
            `startDedicatedKafka needs Java 17+ (and Maven once, to cache Kafka's jars): ` +
              `'infra.sh paths' failed: ${stderr.trim() || error.message}`,
          ),
        );
        return;
      }
      resolve(JSON.parse(stdout) as InfraPaths);
    });
  });
  pathsPromise.catch(() => {
    pathsPromise = undefined;
  });
  return pathsPromise;
}

interface RunResult {
  code: number;
  output: string;
}

function runChild(
  java: string,
  args: string[],
  timeoutMs: number,
): { child: ChildProcess; result: Promise<RunResult> } {
  let child!: ChildProcess;
  const result = new Promise<RunResult>((resolve) => {
    child = execFile(java, args, { timeout: timeoutMs, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
  return { child, result };
}

function run(java: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return runChild(java, args, timeoutMs).result;
}

export async function startDedicatedKafka(options: DedicatedKafkaOptions = {}): Promise<DedicatedKafka> {
  const paths = await infraPaths();
  const port = options.port ?? (await freePort());
  const controllerPort = await freePort();
  const startTimeoutMs = options.startTimeoutMs ?? 90_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  const dataDir = await mkdtemp(join(tmpdir(), 'bus-dedicated-kafka-'));
  const id = `${process.pid}-${port}`;
  const pidDir = join(paths.runDir, 'dedicated');
  const pidFile = join(pidDir, `${id}.pid`);
  await mkdir(pidDir, { recursive: true });
  const propsFile = join(dataDir, 'server.properties');
  const config: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(dataDir, 'data'),
    'num.partitions': 3,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 5,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': true,
    'num.network.threads': 2,
    'num.io.threads': 2,
    ...options.config,
  };
  await writeFile(
    propsFile,
    `${Object.entries(config)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
  const jvm = [`-Dlog4j2.configurationFile=${paths.log4j2}`, '-Djava.awt.headless=true'];
  const clusterId = options.clusterId ?? newKraftClusterId();
  const format = await run(
    paths.java,
    [...jvm, '-Xmx256m', '-cp', paths.classpath, 'kafka.tools.StorageTool', ...storageFormatArgs(clusterId, propsFile)],
    120_000,
  );
  if (format.code !== 0) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`formatting the dedicated broker's storage failed:\n${format.output}`);
  }

  const brokers = [`127.0.0.1:${port}`];
  const logFile = join(dataDir, 'kafka.log');
  let child: ChildProcess | undefined;
  let closed = false;

  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  const start = async (): Promise<void> => {
    if (closed) throw new Error('this dedicated broker was closed');
    if (isRunning()) return;
    const out = createWriteStream(logFile, { flags: 'a' });
    const proc = spawn(
      paths.java,
      [
        ...jvm,
        '-Xms128m',
        '-Xmx512m',
        '-XX:+UseG1GC',
        '-Dbus.infra.role=dedicated-kafka',
        '-cp',
        paths.classpath,
        'kafka.Kafka',
        propsFile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.pipe(out, { end: false });
    proc.stderr?.pipe(out, { end: false });
    proc.once('exit', () => out.end());
    child = proc;
    track(proc);
    await writeFile(pidFile, `${proc.pid}\n`);
    const exited = new Promise<'exited'>((resolve) => proc.once('exit', () => resolve('exited')));
    const health = runChild(
      paths.java,
      ['-Xmx128m', ...jvm, '-cp', paths.classpath, 'HealthCheck', brokers[0]!, String(startTimeoutMs)],
      startTimeoutMs + 30_000,
    );
    const outcome = await Promise.race([health.result, exited]);
    if (outcome === 'exited') {
      health.child.kill('SIGKILL');
      await rm(pidFile, { force: true });
      throw new Error(`the dedicated broker exited during startup (log: ${logFile})`);
    }
    if (outcome.code !== 0) {
      await stop();
      throw new Error(
        `the dedicated broker did not become ready in ${startTimeoutMs} ms (log: ${logFile}): ${outcome.output}`,
      );
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
    await rm(pidFile, { force: true });
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    if (!proc || !isRunning()) return;
    proc.kill('SIGKILL');
    await waitForExit(proc, 10_000);
    await rm(pidFile, { force: true });
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    await stop();
    closed = true;
    await rm(pidFile, { force: true });
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (error) {
    await close();
    throw error;
  }

  return {
    brokers,
    version: paths.kafkaVersion,
    clusterId,
    dataDir,
    get running() {
      return isRunning();
    },
    start,
    stop,
    kill,
    close,
    [Symbol.asyncDispose]: close,
  };
}
