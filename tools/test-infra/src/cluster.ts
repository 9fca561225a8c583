/**
 * The 3-node KRaft test cluster (`infra.sh cluster ...`) as tests see it: its brokers, and the node
 * operations failover tests need (kill -9, SIGTERM, start). The `cluster` vitest project's global setup
 * (`cluster-global-setup.ts`) starts it and passes {@link TestCluster} to the workers.
 *
 *   const cluster = testCluster();
 *   await cluster.kill9(2);   // SIGKILL node 2's JVM
 *   await cluster.start(2);   // start it again; resolves when it answers metadata requests
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const infraScript = fileURLToPath(new URL('../../../scripts/infra/infra.sh', import.meta.url));

/** The connection file `infra.sh cluster up` writes (`<cluster dir>/connection.json`). */
export interface ClusterConnection {
  /** PLAINTEXT bootstrap servers of all nodes. */
  brokers: string[];
  /** The nodes, each broker + controller. */
  nodes: Array<{ id: number; broker: string; controller: string }>;
  /** Kafka version of the cached jars. */
  version: string;
  /** The KRaft cluster id the nodes were formatted with. */
  clusterId: string;
  /** Run dir: pid files, logs (`node-N.log`), data. */
  dir: string;
  minInsyncReplicas: number;
  replicationFactor: number;
  /** `broker.session.timeout.ms`: how long a killed node keeps its leaderships before it is fenced. */
  sessionTimeoutMs: number;
}

/** What the `cluster` project's global setup passes to its test workers. */
export interface ClusterSetupInfo {
  connection: ClusterConnection;
  /** Whether this test run started the cluster (and formatted it), rather than finding it running. */
  startedByThisRun: boolean;
  /** The environment `infra.sh cluster` commands need to address this cluster (`BUS_CLUSTER_*`). */
  env: Record<string, string>;
}

/** The cluster of this test run, with its node operations. */
export interface TestCluster extends ClusterSetupInfo {
  readonly brokers: string[];
  /** SIGKILL node N's JVM (no shutdown of any kind); resolves once the process is gone. */
  kill9(node: number): Promise<void>;
  /** SIGTERM node N (controlled shutdown) and wait until it exited. */
  stop(node: number): Promise<void>;
  /** Start node N on its data; resolves when it answers metadata requests. */
  start(node: number): Promise<void>;
  /** Which nodes have a live JVM, per `infra.sh cluster status`. */
  runningNodes(): Promise<number[]>;
}

/** Runs `infra.sh cluster <args>`; rejects with its output when it fails. */
export function runClusterCommand(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 300_000,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [infraScript, 'cluster', ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 4 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

async function mustRun(args: string[], env: Record<string, string>): Promise<void> {
  const { code, output } = await runClusterCommand(args, env);
  if (code !== 0) throw new Error(`infra.sh cluster ${args.join(' ')} failed (exit ${code}):\n${output}`);
}

/** The cluster of this run. Throws with an actionable message outside the `cluster` vitest project. */
export function testCluster(): TestCluster {
  const raw = process.env.BUS_TEST_CLUSTER || providedCluster();
  if (!raw) {
    throw new Error(
      'BUS_TEST_CLUSTER is not set: cluster tests must run in the `cluster` vitest project, whose global setup ' +
        'starts the 3-node cluster (tools/test-infra/src/cluster-global-setup.ts).',
    );
  }
  const info = JSON.parse(raw) as ClusterSetupInfo;
  const check = (node: number) => {
    if (!info.connection.nodes.some((n) => n.id === node)) throw new RangeError(`no cluster node ${node}`);
  };
  return {
    ...info,
    brokers: info.connection.brokers,
    kill9: async (node) => {
      check(node);
      await mustRun(['kill9', String(node)], info.env);
    },
    stop: async (node) => {
      check(node);
      await mustRun(['stop', String(node)], info.env);
    },
    start: async (node) => {
      check(node);
      await mustRun(['start', String(node)], info.env);
    },
    runningNodes: async () => {
      const { output } = await runClusterCommand(['status'], info.env);
      return [...output.matchAll(/^node (\d+): running/gm)].map((m) => Number(m[1]));
    },
  };
}

function providedCluster(): string | undefined {
  try {
    return inject('busTestCluster');
  } catch {
    return undefined;
  }
}

declare module 'vitest' {
  interface ProvidedContext {
    /** JSON of {@link ClusterSetupInfo}, provided by the cluster global setup. */
    busTestCluster: string;
  }
}
