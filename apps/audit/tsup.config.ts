import { defineConfig } from 'tsup';

// An app, not a library: plain ESM for `node dist/main.js`, no declarations (consumers in this
// workspace read the types from src/, see package.json).
export default defineConfig({
  entry: ['src/index.ts', 'src/main.ts'],
  format: ['esm'],
  dts: false,
  clean: true,
  sourcemap: true,
  target: 'node22',
});
