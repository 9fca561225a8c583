// kafkajs is CommonJS and Node cannot see all of its named exports from ESM, so every runtime value
// is taken from the default export here, once.
import kafkajs from 'kafkajs';

export const {
  Kafka,
  logLevel,
  Partitioners,
  CompressionCodecs,
  CompressionTypes,
  AssignerProtocol,
  PartitionAssigners,
} = kafkajs;
