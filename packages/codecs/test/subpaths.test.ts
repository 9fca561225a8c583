import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const PEERS = ['avsc', 'protobufjs'];

/** Every package imported (transitively, through relative imports) by a source file. */
function packagesReachedFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    // Type-only imports vanish at runtime, so they do not count.
    for (const match of text.matchAll(/^(?:import|export)(?!\s+type\b)[^'"]*?from\s+'([^']+)'/gm)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return packages;
}

describe('subpath isolation', () => {
  const entries = readdirSync(src, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'internal')
    .map((entry) => join(src, entry.name, 'index.ts'));
  const peersOf = (entry: string) => [...packagesReachedFrom(entry)].filter((name) => PEERS.includes(name)).sort();

  it('only the subpaths that need a peer import it', () => {
    const found = Object.fromEntries(
      [join(src, 'index.ts'), ...entries].map((entry) => [relative(src, entry), peersOf(entry)]),
    );
    expect(found).toEqual({
      'index.ts': [],
      'json/index.ts': [],
      'registry/index.ts': [],
      'avro/index.ts': ['avsc'],
      'protobuf/index.ts': ['protobufjs'],
    });
  });
});
