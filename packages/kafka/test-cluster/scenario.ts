/**
 * One failover scenario: a fresh RF-3 topic on a healed cluster, a sequenced stream through bus, the
 * scenario's fault while the stream runs, then drain, close and an audit of the log. The figures are
 * printed (`[cluster-figures] {...}`) and, when `BUS_CLUSTER_FIGURES` names a file, appended to it.
 */
import { appendFileSync } from 'node:fs';
import { type TestCluster, testCluster, uniqueName } from '@bus/test-infra';
import { createClusterTopic, healCluster } from './cluster-helpers.ts';
import { auditLog, type LogFigures } from './log-audit.ts';
import { SequencedStream, type StreamOptions } from './sequenced-stream.ts';

export type ScenarioFigures = ReturnType<SequencedStream['figures']> &
  LogFigures & {
    scenario: string;
    driver: string;
    drained: boolean;
    faultError: string | undefined;
    extra: Record<string, unknown>;
  };

export interface ScenarioContext {
  cluster: TestCluster;
  stream: SequencedStream;
  topic: string;
  group: string;
  /** Extra figures of this scenario, reported with the others. */
  extra: Record<string, unknown>;
}

export async function runScenario(
  name: string,
  fault: (context: ScenarioContext) => Promise<void>,
  options: Partial<Omit<StreamOptions, 'brokers' | 'topic' | 'group'>> = {},
): Promise<ScenarioFigures> {
  const cluster = testCluster();
  await healCluster(cluster);
  const topic = await createClusterTopic(`cluster-${name}`, 6);
  const group = uniqueName(`cluster-${name}`);
  const stream = new SequencedStream({ brokers: cluster.brokers, topic, group, ...options });
  const extra: Record<string, unknown> = {};
  let drained = false;
  let faultError: string | undefined;
  stream.start();
  try {
    await stream.warmUp();
    // A fault step that fails (a deadline on a loaded machine) is reported with the figures, not instead of them.
    await fault({ cluster, stream, topic, group, extra }).catch((error: unknown) => {
      faultError = error instanceof Error ? error.message : String(error);
      stream.mark(`fault step failed: ${faultError}`);
    });
    await stream.stopPublishing();
    drained = await stream.drain();
  } finally {
    await stream.stopPublishing();
    await stream.close();
    // Leave the cluster whole for the next scenario even when this one failed half-way.
    await healCluster(cluster).catch(() => undefined);
  }
  const log = await auditLog(topic, stream.ledger);
  const driver = options.driver ?? 'kafkajs';
  const figures: ScenarioFigures = { scenario: name, driver, ...stream.figures(), ...log, drained, faultError, extra };
  report(figures);
  return figures;
}

function report(figures: ScenarioFigures): void {
  const line = JSON.stringify(figures);
  console.log(`[cluster-figures] ${line}`);
  const file = process.env.BUS_CLUSTER_FIGURES;
  if (file) appendFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), ...figures })}\n`);
}

/** Polls `condition` (errors count as "not yet") until it holds; throws after the deadline. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(condition)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
