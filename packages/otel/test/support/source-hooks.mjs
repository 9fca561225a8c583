// Module hooks for the test's child processes: `@bus/*` resolves to the workspace sources (as the
// vitest aliases do) and the sources' `.js` specifiers to their `.ts` files, which Node runs with type
// stripping. So the processes run without a prior build. Use: node --import <this file> script.ts
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = new URL('../../../../', import.meta.url);
const BUS = /^@bus\/(core|kafka|codecs|cqrs|rpc|otel)(?:\/(.+))?$/;

registerHooks({
  resolve(specifier, context, nextResolve) {
    const bus = BUS.exec(specifier);
    if (bus) {
      const path =
        bus[2] === undefined ? `packages/${bus[1]}/src/index.ts` : `packages/${bus[1]}/src/${bus[2]}/index.ts`;
      return { url: new URL(path, root).href, shortCircuit: true };
    }
    const parent = context.parentURL;
    if (
      specifier.startsWith('.') &&
      specifier.endsWith('.js') &&
      parent?.endsWith('.ts') &&
      parent.includes('/packages/')
    ) {
      const ts = new URL(`${specifier.slice(0, -3)}.ts`, parent);
      if (existsSync(fileURLToPath(ts))) return { url: ts.href, shortCircuit: true };
    }
    return nextResolve(specifier, context);
  },
});
