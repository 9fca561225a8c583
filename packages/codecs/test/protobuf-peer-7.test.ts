import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { expect, it, vi } from 'vitest';

// The protobufjs peer range is >=7.4 <9 and the dev dependency is 8.x: this file runs the protobuf
// suite again with protobufjs 7 (installed as the alias protobufjs-7) in place of the peer.
vi.mock('protobufjs', async () => import('protobufjs-7'));

it('the protobuf suite below runs on protobufjs 7', async () => {
  const peer = await import('protobufjs');
  const seven = await import('protobufjs-7');
  expect(peer.default).toBe(seven.default);
  const manifest = createRequire(import.meta.url).resolve('protobufjs-7/package.json');
  expect(JSON.parse(readFileSync(manifest, 'utf8')).version).toMatch(/^7\./);
});

await import('./protobuf.test.ts');
