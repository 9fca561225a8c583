import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'json/index': 'src/json/index.ts',
    'avro/index': 'src/avro/index.ts',
    'protobuf/index': 'src/protobuf/index.ts',
    'registry/index': 'src/registry/index.ts',
  },
  format: ['esm'],
  // The tsconfig maps workspace packages to their sources for typechecking; declarations must
  // reference the published packages instead, so the build resolves them normally.
  dts: { compilerOptions: { paths: {}, ignoreDeprecations: '6.0' } },
  clean: true,
  sourcemap: true,
  target: 'node22',
  external: ['@bus/core', 'avsc', 'protobufjs', '@kafkajs/confluent-schema-registry'],
});
