import { ConfigError } from '@bus/core';
import { describe, expect, it } from 'vitest';
import { errorLine } from '../src/errors.ts';
import { parseHeaders, parseResetTarget, parseStart } from '../src/internal/positions.ts';
import { bus } from './helpers.ts';

describe('argument parsing (no broker)', () => {
  it('reads --from positions', () => {
    expect(parseStart('earliest')).toBe('earliest');
    expect(parseStart('latest')).toBe('latest');
    expect(parseStart('42')).toEqual({ offset: 42 });
    expect(parseStart('2026-03-01T08:00:00Z')).toEqual({ timestamp: Date.parse('2026-03-01T08:00:00Z') });
    expect(parseStart('2026-03-01')).toEqual({ timestamp: Date.parse('2026-03-01') });
    expect(parseStart('2026-03-01T08:00:00+02:00')).toEqual({ timestamp: Date.parse('2026-03-01T06:00:00Z') });
    for (const bad of ['-1', 'yesterday', '2026-13-45T99:00:00Z', '1.5', '']) {
      expect(() => parseStart(bad)).toThrow(expect.objectContaining({ code: 'CLI_USAGE', exitCode: 2 }));
    }
  });

  it('reads --to reset targets', () => {
    expect(parseResetTarget('earliest')).toBe('earliest');
    expect(parseResetTarget('0:12,3:7')).toEqual({
      offsets: [
        { partition: 0, offset: 12 },
        { partition: 3, offset: 7 },
      ],
    });
    expect(parseResetTarget('2026-03-01T08:00:00Z')).toEqual({ timestamp: Date.parse('2026-03-01T08:00:00Z') });
    for (const bad of ['0:', '0:1,', 'a:1', '12', 'soon']) {
      expect(() => parseResetTarget(bad)).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
    }
  });

  it('reads name=value headers; the value may hold "="', () => {
    expect(parseHeaders(['a=1', 'b=x=y', 'empty='])).toEqual({ a: '1', b: 'x=y', empty: '' });
    expect(() => parseHeaders(['=1'])).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
    expect(() => parseHeaders(['novalue'])).toThrow(expect.objectContaining({ code: 'CLI_USAGE' }));
  });

  it('error lines are one line, list every config problem and mask secrets', () => {
    const config = new ConfigError('Kafka URL', [
      { path: 'scheme', message: 'must be kafka:// or kafka+ssl://' },
      { path: 'brokers[0]', message: 'must be "host:port"' },
    ]);
    expect(errorLine(config, [])).toBe(
      'error [CONFIG_INVALID]: Invalid Kafka URL options: scheme must be kafka:// or kafka+ssl://; brokers[0] must be "host:port"',
    );
    const leaky = new Error('cannot reach kafka://alice:hunter2@host:9092\nsecond line with hunter2');
    expect(errorLine(leaky, ['hunter2'])).toBe('error: cannot reach kafka://alice:***@host:9092 second line with ***');
  });

  it('--help and --version exit 0 without a connection; a missing argument is a usage error', async () => {
    const help = await bus(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: bus [options] [command]');
    for (const command of ['topics', 'tail', 'produce', 'groups', 'dlq', 'schema'])
      expect(help.stdout).toContain(command);
    expect((await bus(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const tailHelp = await bus(['tail', '--help']);
    expect(tailHelp.stdout).toContain('--from <position>');
    const missing = await bus(['tail']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("error [CLI_USAGE]: missing required argument 'topic'\n");
  });
});
