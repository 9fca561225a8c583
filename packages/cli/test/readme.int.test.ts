import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readmeBlock, testInfra, uniqueName } from '@bus/test-infra';
import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

it('the README quick start runs as written in a shell, with the built bus binary, and prints what it shows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bus-cli-readme-'));
  const binDir = join(dir, 'bin');
  // `bus` on PATH, as a global install would put it.
  const { mkdirSync } = await import('node:fs');
  mkdirSync(binDir);
  writeFileSync(join(binDir, 'bus'), `#!/bin/sh\nexec "${process.execPath}" "${packageDir}dist/bin.js" "$@"\n`);
  chmodSync(join(binDir, 'bus'), 0o755);
  const topic = uniqueName('readme-orders');
  const subject = uniqueName('readme-orders-value');
  const script = readmeBlock(`${packageDir}README.md`, 'Quick start')
    .code.replaceAll('orders-value', '@SUBJECT@')
    .replaceAll('orders', topic)
    .replaceAll('@SUBJECT@', subject)
    .replace('localhost:9092', testInfra().kafka.brokers.join(','))
    .replace('http://localhost:8081', testInfra().registry.url);
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>(
    (resolve, reject) => {
      const child = spawn('bash', ['--norc', '--noprofile', '-eo', 'pipefail', '-c', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: dir,
        env: { PATH: `${binDir}:${process.env.PATH}`, HOME: dir },
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => {
        out += String(chunk);
      });
      child.stderr.on('data', (chunk) => {
        err += String(chunk);
      });
      child.on('error', reject);
      child.on('close', (exit) => resolve({ stdout: out, stderr: err, code: exit }));
    },
  );
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const lines = stdout.trim().split('\n');
  expect(lines).toHaveLength(4);
  expect(lines[0]).toBe(`created: ${topic} (3 partitions)`);
  expect(lines[1]).toBe(`produced 1 record to ${topic}`);
  expect(lines[2]).toMatch(/^[0-2]@0 \d{4}-\d\d-\d\dT[\d:.]+Z key=o-1 \[avro#\d+\] \{"id":"o-1","total":9\.5\}$/);
  expect(lines[3]).toBe(`compatible: order.avsc with ${subject}`);
});
