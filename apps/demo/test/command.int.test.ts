// The README's first command itself, as a user types it: `bash scripts/run.sh demo` (toolchain, install when
// stale, turbo build — cached after the CI build, and a cache hit rewrites nothing — then the demo).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testInfra } from '@bus/test-infra';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'demo-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runDemo(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/run.sh', 'demo', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bash scripts/run.sh demo', () => {
  it('builds what it needs, runs the apps in memory, prints the summary and exits 0', async () => {
    const { code, stdout, stderr } = await runDemo(['--orders', '60', '--audit-log', join(dir, 'memory.jsonl')], {
      KAFKA_BROKERS: '',
      SCHEMA_REGISTRY_URL: '',
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('bus demo: orders, pricing and audit on the embedded in-memory broker, topics demo.*');
    expect(stdout).toContain('  orders         60 placed over HTTP, 60 shipped');
    expect(stdout).toContain('  dead-lettered  6, replayed 6, then shipped');
    expect(stdout).toMatch(/ {2}audit log {6}186 records in /);
  }, 300_000);

  it('--kafka: the same on the broker and registry named by KAFKA_BROKERS and SCHEMA_REGISTRY_URL', async () => {
    const infra = testInfra();
    const { code, stdout, stderr } = await runDemo(
      ['--kafka', '--orders', '30', '--audit-log', join(dir, 'kafka.jsonl')],
      { KAFKA_BROKERS: infra.kafka.brokers.join(','), SCHEMA_REGISTRY_URL: infra.registry.url },
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/bus demo: orders, pricing and audit on the Kafka at \S+ with the registry at /);
    expect(stdout).toContain('  orders         30 placed over HTTP, 30 shipped');
    expect(stdout).toContain('  dead-lettered  3, replayed 3, then shipped');
  }, 300_000);
});
