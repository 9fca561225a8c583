#!/usr/bin/env node
// Checks every publishable package under packages/* before release:
//   - package.json: "type": "module", "sideEffects": false, a "files" allow-list, "engines.node",
//     an "exports" map with "./package.json" whose every condition object lists "types" first,
//     peerDependencies with bounded ranges (no "*", no ">=x" without an upper bound);
//   - publint and `attw --pack --profile esm-only` on the built package;
//   - the built .d.ts compile in a consumer with `skipLibCheck: false`, TypeScript's default lib and no @types/node
//     (entry points whose peer's own types import Node's, listed in NEEDS_NODE_TYPES, are compiled
//     with @types/node instead, which those packages declare as an optional peer).
// Prints every problem and exits 1 if there is any. With no packages it passes.
// Usage: node scripts/check-packages.mjs [--no-tools]   (--no-tools: manifest checks only)
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(root, 'packages');
const runTools = !process.argv.includes('--no-tools');

/** @type {string[]} */
const problems = [];

function listPackages() {
  if (!existsSync(packagesDir)) return [];
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(packagesDir, d.name, 'package.json')))
    .map((d) => join(packagesDir, d.name));
}

/** Whether one side of `||` in a semver range has an upper bound. */
function boundedComparatorSet(part) {
  const p = part.trim();
  if (p === '' || p === '*' || p === 'x' || p === 'X' || p === 'latest') return false;
  if (/\s-\s/.test(p)) return true; // hyphen range a - b
  if (/^[\^~]/.test(p)) return true;
  if (p.includes('<')) return true;
  if (p.includes('>')) return false; // >=x or >x alone
  // Exact versions and x-ranges below the major (1.x, 1.2.x) are bounded; a bare "x" was handled above.
  return /^v?\d+(\.(\d+|x|X|\*))*(-[\w.]+)?$/.test(p);
}

function boundedRange(range) {
  if (typeof range !== 'string') return false;
  if (range.startsWith('workspace:')) {
    const rest = range.slice('workspace:'.length);
    return rest === '^' || rest === '~' || (rest !== '*' && boundedRange(rest));
  }
  if (range.startsWith('npm:')) return boundedRange(range.slice(range.lastIndexOf('@') + 1));
  return range.split('||').every(boundedComparatorSet);
}

/** Walks the exports map; every object of conditions that has "types" must list it first. */
function checkConditions(value, where, out) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const keys = Object.keys(value);
  const isSubpathMap = keys.every((k) => k.startsWith('.'));
  if (!isSubpathMap) {
    if (!keys.includes('types')) out.push(`${where}: no "types" condition`);
    else if (keys[0] !== 'types') out.push(`${where}: "types" must be the first condition (found: ${keys.join(', ')})`);
  }
  for (const k of keys) checkConditions(value[k], `${where}[${JSON.stringify(k)}]`, out);
}

function checkManifest(dir, pkg) {
  const name = pkg.name ?? relative(root, dir);
  const out = [];
  if (pkg.type !== 'module') out.push('"type" must be "module"');
  if (pkg.sideEffects !== false) out.push('"sideEffects" must be false');
  if (!Array.isArray(pkg.files) || pkg.files.length === 0) out.push('"files" allow-list is missing or empty');
  if (!pkg.engines || typeof pkg.engines.node !== 'string') out.push('"engines.node" is missing');
  const exp = pkg.exports;
  if (!exp || typeof exp !== 'object' || Array.isArray(exp)) {
    out.push('"exports" map is missing');
  } else {
    const subpaths = Object.keys(exp);
    if (!subpaths.every((k) => k.startsWith('.'))) out.push('"exports" must be a map of subpaths ("." ...)');
    if (!('./package.json' in exp)) out.push('"exports" has no "./package.json" entry');
    for (const [subpath, target] of Object.entries(exp)) {
      if (subpath === './package.json') continue;
      if (typeof target === 'string') out.push(`exports["${subpath}"]: a bare path has no "types" condition`);
      else checkConditions(target, `exports["${subpath}"]`, out);
    }
  }
  for (const [dep, range] of Object.entries(pkg.peerDependencies ?? {})) {
    if (!boundedRange(range)) out.push(`peerDependencies["${dep}"] = "${range}" has no upper bound`);
  }
  for (const p of out) problems.push(`${name}: ${p}`);
}

function tool(name, args, label) {
  const res = spawnSync('pnpm', ['exec', name, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 32 << 20 });
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim();
  if (res.status !== 0) {
    problems.push(`${label}: ${name} failed (exit ${res.status ?? res.signal})\n${indent(output)}`);
  } else if (process.env.CHECK_PACKAGES_VERBOSE) {
    console.log(`${label}: ${name}\n${indent(output)}`);
  }
}

const indent = (text) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

/**
 * Entry points whose types include a peer's types that import Node's own (kafkajs, avsc and
 * protobufjs all reference `node`): a TypeScript consumer needs @types/node for them anyway.
 */
const NEEDS_NODE_TYPES = new Set(['@bus/kafka', '@bus/codecs/avro', '@bus/codecs/protobuf', '@bus/otel/kafka']);

/**
 * The directory of installed package `name` as seen from `require`. Some packages (@opentelemetry/api)
 * do not export `./package.json`, so look for it along the resolution paths instead.
 */
function packageDir(require, name) {
  for (const base of require.resolve.paths(name) ?? []) {
    if (existsSync(join(base, name, 'package.json'))) return join(base, name);
  }
  return dirname(require.resolve(`${name}/package.json`));
}

/**
 * Compiles a consumer that imports every entry point's types, with `skipLibCheck: false`, as a user
 * project without @types/node would: the published .d.ts must not lean on Node's globals
 * (`Buffer`, `NodeJS.*`) or on a lib the consumer did not choose (`AsyncDisposable`).
 */
function checkConsumerTypes(packageDirs) {
  const work = mkdtempSync(join(tmpdir(), 'bus-dts-consumer-'));
  try {
    const modules = join(work, 'node_modules');
    const link = (name, target) => {
      const at = join(modules, ...name.split('/'));
      if (existsSync(at)) return;
      mkdirSync(dirname(at), { recursive: true });
      symlinkSync(target, at, 'dir');
    };
    const entries = { plain: [], node: [] };
    for (const dir of packageDirs) {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.private === true) continue;
      link(pkg.name, dir);
      const require = createRequire(join(dir, 'package.json'));
      for (const peer of Object.keys(pkg.peerDependencies ?? {})) {
        if (pkg.name.startsWith('@bus/') && peer.startsWith('@bus/')) continue;
        link(peer, packageDir(require, peer));
      }
      for (const subpath of Object.keys(pkg.exports ?? {})) {
        if (subpath === './package.json') continue;
        const name = pkg.name + subpath.slice(1);
        (NEEDS_NODE_TYPES.has(name) ? entries.node : entries.plain).push(name);
      }
    }
    link('@types/node', join(root, 'node_modules/@types/node'));
    writeFileSync(join(work, 'package.json'), '{ "type": "module", "private": true }\n');
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    for (const [kind, names] of Object.entries(entries)) {
      if (names.length === 0) continue;
      const file = `${kind}.ts`;
      writeFileSync(
        join(work, file),
        names.map((name, i) => `import type * as m${i} from '${name}';\nexport type { m${i} };\n`).join(''),
      );
      const config = {
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          types: kind === 'node' ? ['node'] : [],
        },
        files: [file],
      };
      writeFileSync(join(work, `tsconfig.${kind}.json`), JSON.stringify(config, null, 2));
      const res = spawnSync(process.execPath, [tsc, '-p', `tsconfig.${kind}.json`], { cwd: work, encoding: 'utf8' });
      if (res.status !== 0) {
        const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().replaceAll(work, '<consumer>');
        const without = kind === 'node' ? 'with @types/node' : 'without @types/node';
        problems.push(
          `types of ${names.join(', ')} do not compile in a consumer ${without} (skipLibCheck: false)\n${indent(output)}`,
        );
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const dirs = listPackages();
let checked = 0;
for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (pkg.private === true) continue;
  checked++;
  const label = pkg.name ?? relative(root, dir);
  checkManifest(dir, pkg);
  if (!runTools) continue;
  if (!existsSync(join(dir, 'dist'))) {
    problems.push(`${label}: not built (no dist/): run \`pnpm build\` first`);
    continue;
  }
  tool('publint', [relative(root, dir) || '.'], label);
  tool('attw', ['--pack', relative(root, dir), '--profile', 'esm-only', '--format', 'ascii'], label);
}

if (runTools) checkConsumerTypes(dirs);

if (problems.length > 0) {
  console.error(`check-packages: ${problems.length} problem(s) in ${checked} package(s):`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(
  `check-packages: ${checked} package(s) OK${runTools ? ' (manifest, publint, attw esm-only)' : ' (manifest)'}`,
);
