/**
 * Runs the examples of the package READMEs as tests, so a README never shows code that does not run.
 * An example is the first fenced block after a heading; it runs as an ES module inside the test's
 * vitest worker, so `@bus/*` imports resolve to the sources as in every other test.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';

/** A fenced code block of a Markdown file: its language and text. */
export interface ReadmeBlock {
  readonly language: string;
  readonly code: string;
}

/** The first fenced code block after the `## heading` (any level) of the Markdown file at `path`. */
export function readmeBlock(path: string, heading: string): ReadmeBlock {
  const lines = readFileSync(path, 'utf8').split('\n');
  const start = lines.findIndex((line) => /^#+ /.test(line) && line.replace(/^#+ /, '').trim() === heading);
  if (start < 0) throw new Error(`${path} has no heading "${heading}"`);
  const open = lines.findIndex((line, i) => i > start && line.startsWith('```'));
  const close = lines.findIndex((line, i) => i > open && line.startsWith('```'));
  if (open < 0 || close < 0) throw new Error(`${path} has no code block after "${heading}"`);
  return { language: (lines[open] as string).slice(3).trim(), code: lines.slice(open + 1, close).join('\n') };
}

/** Options of {@link runReadmeExample}. */
export interface RunReadmeExampleOptions {
  /** Directory of the package whose dependencies the example imports (the module is written below it). */
  readonly packageDir: string;
  /** Literal replacements applied to the code first, e.g. a fixed topic name → a unique one. */
  readonly replace?: Readonly<Record<string, string>>;
}

/**
 * Runs `block` as a module and returns what it printed with `console.log`, a line per call.
 * Resolves when the module's top-level code has finished; a throw rejects.
 */
export async function runReadmeExample(block: ReadmeBlock, options: RunReadmeExampleOptions): Promise<string[]> {
  let code = block.code;
  for (const [from, to] of Object.entries(options.replace ?? {})) code = code.replaceAll(from, to);
  const extension = block.language === 'ts' || block.language === 'typescript' ? 'ts' : 'mjs';
  // Inside the package (and git-ignored), so its node_modules resolve the example's imports.
  const file = join(options.packageDir, '.readme-examples', `${randomUUID()}.${extension}`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, code);
  const printed: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    printed.push(format(...args));
  };
  try {
    await import(pathToFileURL(file).href);
    return printed;
  } finally {
    console.log = log;
    rmSync(file, { force: true });
    try {
      rmdirSync(dirname(file));
    } catch {
      // Another example of this package is still running from it.
    }
  }
}
