import { defineConfig } from 'tsup';

// The public types use AsyncDisposable and Symbol.asyncDispose: name the lib that declares them, so
// a consumer compiles them without @types/node and whatever its own `lib` setting.
const DTS_BANNER = '/// <reference lib="esnext.disposable" />';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  // tsup's declaration build sets `baseUrl`, which TypeScript 6 deprecates.
  dts: { banner: DTS_BANNER, compilerOptions: { ignoreDeprecations: '6.0' } },
  clean: true,
  sourcemap: true,
  target: 'node22',
});
