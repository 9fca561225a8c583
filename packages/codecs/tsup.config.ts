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
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
  external: ['avsc', 'protobufjs', '@kafkajs/confluent-schema-registry'],
});
