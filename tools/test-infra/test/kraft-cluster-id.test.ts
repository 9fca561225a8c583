import { describe, expect, it } from 'vitest';
import { newKraftClusterId, storageFormatArgs } from '../src/kraft-cluster-id.ts';

describe('KRaft cluster ids', () => {
  it('are 16 random bytes in URL-safe base64, and never start with "-" (1 random id in 64 would)', () => {
    // 5,000 draws: with a 1-in-64 chance per id, a leading '-' would show up about 78 times.
    const ids = Array.from({ length: 5_000 }, () => newKraftClusterId());
    const bad = ids.filter(
      (id) => !/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id) || Buffer.from(id, 'base64url').length !== 16,
    );
    expect(bad).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reach StorageTool as one --cluster-id=<id> token, so an id that starts with "-" is not read as an option', () => {
    expect(storageFormatArgs('-abc', '/tmp/server.properties')).toEqual([
      'format',
      '--cluster-id=-abc',
      '-c',
      '/tmp/server.properties',
    ]);
  });
});
