#!/usr/bin/env node
// Proves that every published package installs and works on its own, as a user gets it from the registry:
//   1. `pnpm pack` each package under packages/* (not private): the tarball npm would publish;
//   2. for each, a fresh project in a temp folder that depends on that tarball and on its declared peers only
//      (our own packages as their tarballs, forced through pnpm overrides so nothing of ours comes from the
//      npm registry; other peers at the version the workspace uses), installed with pnpm, offline from the
//      store when it can and from the registry otherwise;
//   3. Node imports every entry point of the exports map (and `./package.json`): a broken exports map, a
//      file missing from `files`, or a dependency that is neither declared nor a declared peer fails here;
//   4. tsc (strict, NodeNext, skipLibCheck: false) compiles a sample that references every runtime export
//      of every entry point through the published types: missing or mismatched declarations fail here;
//   5. every `bin` of the package, as installed, answers `--help` with exit 0.
// Prints one line per package and every problem; exits 1 if there is any. Packages are checked in parallel.
// Usage: node scripts/check-installs.mjs [package-name...]   (needs `pnpm build` first)
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(root, 'packages');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const only = process.argv.slice(2);
const started = Date.now();

/** Published packages: name, folder, manifest. */
function listPackages() {
  if (!existsSync(packagesDir)) return [];
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(packagesDir, d.name, 'package.json')))
    .map((d) => {
      const dir = join(packagesDir, d.name);
      return { dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) };
    })
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({ name: manifest.name, dir, manifest }));
}

/**
 * The version of `dependency` the workspace has installed for the package in `dir` (so the install can be
 * offline), else `fallback` (its declared range). Looks for the folder itself: exports maps may hide
 * `./package.json`.
 */
function workspaceVersion(dir, dependency, fallback) {
  const paths = createRequire(join(dir, 'package.json')).resolve.paths(dependency) ?? [];
  for (const modules of [...paths, join(root, 'node_modules')]) {
    const manifest = join(modules, dependency, 'package.json');
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')).version;
  }
  if (fallback === undefined) throw new Error(`${dependency} is not installed in the workspace`);
  return fallback;
}

/** Runs `limit` tasks at a time. */
async function pool(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** What a failed command printed, without stack frames. */
function output(error) {
  const text = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || String(error.message ?? error);
  return text
    .split('\n')
    .filter((line) => !/^\s+at /.test(line))
    .join('\n');
}

const indent = (text) =>
  text
    .split('\n')
    .map((line) => `      ${line}`)
    .join('\n');

/** The subpaths of an exports map, as import specifiers (`./package.json` apart). */
function entryPoints(pkg) {
  return Object.keys(pkg.manifest.exports ?? { '.': null })
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => pkg.name + subpath.slice(1));
}

/** Installs the project in `dir`: offline from the store first, then allowing the registry. */
async function install(dir) {
  const args = ['install', '--ignore-workspace', '--config.auto-install-peers=false', '--config.lockfile=false'];
  try {
    await run('pnpm', [...args, '--offline'], { cwd: dir, maxBuffer: 16 << 20 });
    return 'offline';
  } catch (error) {
    const text = output(error);
    if (!/OFFLINE|offline/.test(text)) throw Object.assign(new Error('pnpm install failed'), { detail: text });
  }
  try {
    await run('pnpm', [...args, '--prefer-offline'], { cwd: dir, maxBuffer: 16 << 20 });
    return 'registry';
  } catch (error) {
    throw Object.assign(new Error('pnpm install failed'), { detail: output(error) });
  }
}

async function checkPackage(pkg, tarballs, packagesByName, work) {
  const t0 = Date.now();
  const dir = join(work, pkg.name.replace('/', '+'));
  mkdirSync(dir, { recursive: true });
  const peers = Object.keys(pkg.manifest.peerDependencies ?? {});
  const dependencies = { [pkg.name]: `file:${tarballs.get(pkg.name)}` };
  // Its declared peers, optional ones included (so every entry point can load), and, as npm and pnpm
  // install them by themselves, the required peers of those of our packages it brings in.
  const wanted = peers.map((peer) => ({ name: peer, of: pkg }));
  while (wanted.length > 0) {
    const { name, of } = wanted.shift();
    if (name in dependencies) continue;
    const ours = packagesByName.get(name);
    if (ours === undefined) {
      dependencies[name] = workspaceVersion(of.dir, name, of.manifest.peerDependencies?.[name]);
      continue;
    }
    dependencies[name] = `file:${tarballs.get(name)}`;
    const optional = ours.manifest.peerDependenciesMeta ?? {};
    for (const peer of Object.keys(ours.manifest.peerDependencies ?? {})) {
      if (optional[peer]?.optional !== true) wanted.push({ name: peer, of: ours });
    }
  }
  // The consumer's TypeScript environment: Node's types, as in any Node project (typescript runs from the workspace).
  const devDependencies = { '@types/node': workspaceVersion(root, '@types/node') };
  const overrides = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'install-check', private: true, type: 'module', dependencies, devDependencies, pnpm: { overrides } }, null, 2)}\n`,
  );

  const problems = [];
  let source;
  try {
    source = await install(dir);
  } catch (error) {
    return { pkg, problems: [`install: ${error.message}\n${indent(error.detail ?? '')}`], ms: Date.now() - t0 };
  }

  // Runtime: import every entry point and list its exports.
  const entries = entryPoints(pkg);
  const probe = `
    const names = {};
    for (const spec of ${JSON.stringify(entries)}) {
      const mod = await import(spec);
      names[spec] = Object.keys(mod).filter((k) => k !== 'default');
      if (names[spec].length === 0) throw new Error(spec + ' exports nothing');
    }
    const manifest = await import(${JSON.stringify(`${pkg.name}/package.json`)}, { with: { type: 'json' } });
    if (manifest.default.name !== ${JSON.stringify(pkg.name)}) throw new Error('./package.json is not the manifest');
    console.log(JSON.stringify(names));
  `;
  writeFileSync(join(dir, 'probe.mjs'), probe);
  let names;
  try {
    const { stdout } = await run(process.execPath, ['probe.mjs'], { cwd: dir });
    names = JSON.parse(stdout);
  } catch (error) {
    problems.push(
      `import: an entry point does not load with only the declared peers installed\n${indent(output(error))}`,
    );
    return { pkg, problems, source, ms: Date.now() - t0 };
  }

  // Types: a sample that uses every runtime export of every entry point through the published declarations.
  const sample = entries
    .map((spec, i) => {
      const uses = names[spec].map((name) => `  m${i}.${name},`).join('\n');
      return `import * as m${i} from '${spec}';\nexport const uses${i} = [\n${uses}\n];\n`;
    })
    .join('');
  writeFileSync(join(dir, 'sample.ts'), sample);
  const tsconfig = {
    compilerOptions: {
      strict: true,
      skipLibCheck: false,
      noEmit: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2023',
      lib: ['es2023', 'esnext.disposable'],
      types: ['node'],
    },
    files: ['sample.ts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  try {
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, maxBuffer: 16 << 20 });
  } catch (error) {
    problems.push(
      `typecheck: the published types do not compile in a consumer\n${indent(output(error).replaceAll(dir, '<consumer>'))}`,
    );
  }
  // Commands: each bin, as the package manager linked it, answers `--help` with exit 0.
  const bins =
    typeof pkg.manifest.bin === 'string' ? { [pkg.name.split('/').pop()]: pkg.manifest.bin } : (pkg.manifest.bin ?? {});
  for (const bin of Object.keys(bins)) {
    try {
      await run(join(dir, 'node_modules', '.bin', bin), ['--help'], { cwd: dir, maxBuffer: 16 << 20 });
    } catch (error) {
      problems.push(`bin: \`${bin} --help\` failed in the installed package\n${indent(output(error))}`);
    }
  }
  const exportCount = Object.values(names).reduce((sum, list) => sum + list.length, 0);
  const installed = Object.keys(dependencies).filter((name) => name !== pkg.name);
  const result = { pkg, problems, source, entries: entries.length, exportCount, peers: installed, ms: Date.now() - t0 };
  return { ...result, bins: Object.keys(bins).length };
}

async function main() {
  const packages = listPackages().filter((pkg) => only.length === 0 || only.includes(pkg.name));
  if (packages.length === 0) {
    console.log('check-installs: no published packages');
    return 0;
  }
  const missing = packages.filter((pkg) => !existsSync(join(pkg.dir, 'dist')));
  if (missing.length > 0) {
    console.error(
      `check-installs: not built (no dist/): ${missing.map((p) => p.name).join(', ')}; run \`pnpm build\` first`,
    );
    return 1;
  }
  const work = mkdtempSync(join(tmpdir(), 'bus-install-check-'));
  try {
    // Every package's tarball, including the peers of the ones named on the command line.
    const all = listPackages();
    const packagesByName = new Map(all.map((pkg) => [pkg.name, pkg]));
    const tarballDir = join(work, 'tarballs');
    mkdirSync(tarballDir);
    const tarballs = new Map();
    await pool(all, availableParallelism(), async (pkg) => {
      const { stdout } = await run('pnpm', ['pack', '--json', '--pack-destination', tarballDir], {
        cwd: pkg.dir,
        maxBuffer: 16 << 20,
      });
      tarballs.set(pkg.name, JSON.parse(stdout).filename);
    });
    const results = await pool(packages, Math.max(2, availableParallelism()), (pkg) =>
      checkPackage(pkg, tarballs, packagesByName, work).catch((error) => ({
        pkg,
        problems: [`unexpected: ${error.stack}`],
        ms: 0,
      })),
    );
    let failed = 0;
    for (const r of results) {
      const took = `${(r.ms / 1000).toFixed(1)} s`;
      if (r.problems.length === 0) {
        const peers = r.peers.length === 0 ? 'no peers' : `with ${r.peers.join(', ')}`;
        console.log(
          `  ok  ${r.pkg.name}: ${r.entries} entry point(s), ${r.exportCount} exports typed${r.bins > 0 ? `, ${r.bins} bin(s)` : ''}; ${peers}; installed ${r.source === 'offline' ? 'offline from the store' : 'from the registry'} (${took})`,
        );
      } else {
        failed++;
        console.log(`  FAIL ${r.pkg.name} (${took})`);
        for (const problem of r.problems) console.log(`    - ${problem}`);
      }
    }
    const total = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    if (failed > 0) {
      console.log(`check-installs: ${failed} of ${results.length} package(s) failed (${total})`);
      return 1;
    }
    console.log(`check-installs: ${results.length} package(s) install and import on their own (${total})`);
    return 0;
  } finally {
    if (!process.env.CHECK_INSTALLS_KEEP) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

process.exitCode = await main();
