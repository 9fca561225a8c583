import { defineConfig } from 'tsup';

// The public types use AsyncDisposable and Symbol.asyncDispose: name the lib that declares them, so
// a consumer compiles them without @types/node and whatever its own `lib` setting.
const DTS_BANNER = '/// <reference lib="esnext.disposable" />';

export default defineConfig({
  entry: { index: 'src/index.ts', bin: 'src/bin.ts' },
  format: ['esm'],
  // The tsconfig maps workspace packages to their sources for typechecking; declarations must
  // reference the published packages instead, so the build resolves them normally.
  dts: {
    entry: { index: 'src/index.ts' },
    banner: DTS_BANNER,
    compilerOptions: { paths: {}, ignoreDeprecations: '6.0' },
  },
  clean: true,
  sourcemap: true,
  target: 'node22',
  external: ['@bus/core', '@bus/codecs', '@bus/kafka'],
});
