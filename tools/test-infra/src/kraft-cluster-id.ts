/**
 * KRaft cluster ids for the brokers the test infra formats (dedicated brokers here, `infra.sh` in shell).
 */
import { randomBytes } from 'node:crypto';

/**
 * A random KRaft cluster id: 16 bytes in URL-safe base64 without padding. Like Kafka's `Uuid.randomUuid()`,
 * never one that starts with `-`, which a command line would read as an option.
 */
export function newKraftClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * The `kafka.tools.StorageTool` arguments that format one node's storage. The id is passed as one
 * `--cluster-id=<id>` token, the form StorageTool accepts for any id, even one that starts with `-`
 * (`-t <id>` made it fail with "argument --cluster-id/-t: expected one argument" about 1 time in 64).
 */
export function storageFormatArgs(clusterId: string, propertiesFile: string): string[] {
  return ['format', `--cluster-id=${clusterId}`, '-c', propertiesFile];
}
