/**
 * Vitest global setup of the `cluster` project: the 3-node KRaft cluster of `infra.sh cluster`.
 *
 * It reuses a cluster whose 3 nodes all run, else it starts one (`infra.sh cluster up`) and stops it at
 * the end (`infra.sh cluster down`), because this run started it. Failover tests kill its nodes, so one
 * test run at a time owns a cluster: a lease file (the run's pid) guards it, and a second run fails at
 * once, saying to pick other ports with `BUS_CLUSTER_PORT`. A leftover cluster that is only partly up
 * (a run that died mid-scenario) is stopped and started again.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type ClusterConnection, type ClusterSetupInfo, runClusterCommand } from './cluster.ts';
import { infraHome } from './global-setup.ts';

const DEFAULT_PORT = 29092;

function log(message: string): void {
  process.stderr.write(`[bus test-infra cluster] ${message}\n`);
}

/** The same run dir `infra.sh cluster` derives from BUS_CLUSTER_DIR / BUS_CLUSTER_PORT. */
function clusterDir(port: number): string {
  if (process.env.BUS_CLUSTER_DIR) return process.env.BUS_CLUSTER_DIR;
  const run = join(infraHome(), 'run');
  return port === DEFAULT_PORT ? join(run, 'cluster') : join(run, `cluster-${port}`);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One test run at a time per cluster: a lease file holding the owner's pid. */
function takeLease(port: number): () => void {
  const dir = join(infraHome(), 'run');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-${port}.lease`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder !== process.pid && pidAlive(holder)) {
        throw new Error(
          `the test cluster on ports ${port}-${port + 5} is in use by test run pid ${holder} (${file}); ` +
            'failover tests kill its nodes, so runs cannot share it: set BUS_CLUSTER_PORT to another base port ' +
            '(6 consecutive free ports), e.g. BUS_CLUSTER_PORT=29192',
        );
      }
      rmSync(file, { force: true }); // left by a run that is gone
    }
  }
  throw new Error(`could not take the test cluster lease ${file}`);
}

/**
 * A random KRaft cluster id that starts with '-' on purpose: `infra.sh` once passed the id as `-t <id>`, and
 * StorageTool read such an id as an option (about 1 start in 64 failed). Every run that starts the cluster
 * proves the format step takes it.
 */
function dashFirstClusterId(): string {
  return `-${randomBytes(16).toString('base64url').slice(1)}`;
}

export default async function setup(project?: TestProject): Promise<() => Promise<void>> {
  const port = Number(process.env.BUS_CLUSTER_PORT ?? DEFAULT_PORT);
  const env: Record<string, string> = { BUS_CLUSTER_PORT: String(port) };
  if (process.env.BUS_CLUSTER_DIR) env.BUS_CLUSTER_DIR = process.env.BUS_CLUSTER_DIR;
  const release = takeLease(port);
  let startedByThisRun = false;
  try {
    const status = await runClusterCommand(['status'], env);
    if (status.code !== 0) {
      if (/^node \d+: (running|starting)/m.test(status.output)) {
        log(`a partly running cluster was left behind on port ${port}: stopping it`);
        const down = await runClusterCommand(['down'], env);
        if (down.code !== 0) throw new Error(`infra.sh cluster down failed:\n${down.output}`);
      }
      log(`starting the 3-node test cluster on ports ${port}-${port + 5} (infra.sh cluster up)`);
      const up = await runClusterCommand(['up'], { ...env, BUS_CLUSTER_ID: dashFirstClusterId() });
      if (up.code !== 0) throw new Error(`infra.sh cluster up failed:\n${up.output}`);
      startedByThisRun = true;
    }
    const connection = JSON.parse(readFileSync(join(clusterDir(port), 'connection.json'), 'utf8')) as ClusterConnection;
    log(`Kafka ${connection.version} cluster ${connection.clusterId} at ${connection.brokers.join(',')}`);
    const info: ClusterSetupInfo = { connection, startedByThisRun, env };
    const json = JSON.stringify(info);
    process.env.BUS_TEST_CLUSTER = json;
    project?.provide('busTestCluster', json);
  } catch (error) {
    if (startedByThisRun) await runClusterCommand(['down'], env);
    release();
    throw error;
  }
  return async () => {
    try {
      if (startedByThisRun) {
        log('stopping the test cluster this run started (infra.sh cluster down)');
        await runClusterCommand(['down'], env);
      }
    } finally {
      release();
    }
  };
}
