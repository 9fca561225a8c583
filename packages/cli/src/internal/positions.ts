import type { PartitionOffset, ResetTarget } from '@bus/kafka';
import { CliError, CliErrorCode } from '../errors.js';

/** Where `bus tail` starts. */
export type StartPosition = 'earliest' | 'latest' | { offset: number } | { timestamp: number };

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Parses `earliest`, `latest`, an offset or an ISO 8601 time. */
export function parseStart(text: string): StartPosition {
  const value = text.trim();
  if (value === 'earliest' || value === 'latest') return value;
  if (/^\d+$/.test(value)) return { offset: Number(value) };
  const timestamp = parseTime(value);
  if (timestamp !== undefined) return { timestamp };
  throw new CliError(
    `--from must be earliest, latest, an offset or an ISO time (e.g. 2026-01-31T12:00:00Z), not "${value}"`,
    CliErrorCode.USAGE,
  );
}

/** Parses `earliest`, `latest`, an ISO 8601 time or `partition:offset,...`. */
export function parseResetTarget(text: string): ResetTarget {
  const value = text.trim();
  if (value === 'earliest' || value === 'latest') return value;
  if (/^\d+:\d+(,\d+:\d+)*$/.test(value)) {
    const offsets: PartitionOffset[] = value.split(',').map((pair) => {
      const [partition, offset] = pair.split(':').map(Number);
      return { partition: partition!, offset: offset! };
    });
    return { offsets };
  }
  const timestamp = parseTime(value);
  if (timestamp !== undefined) return { timestamp };
  throw new CliError(
    `--to must be earliest, latest, an ISO time or partition:offset[,partition:offset...], not "${value}"`,
    CliErrorCode.USAGE,
  );
}

function parseTime(value: string): number | undefined {
  if (!ISO_DATE.test(value)) return undefined;
  const timestamp = Date.parse(value);
  return Number.isNaN(timestamp) ? undefined : timestamp;
}

/** Parses a non-negative integer option. */
export function parseCount(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()))
    throw new CliError(`${name} must be a whole number, not "${text}"`, CliErrorCode.USAGE);
  return Number(text);
}

/** Parses repeated `k=v` options into a record. */
export function parseHeaders(pairs: readonly string[] | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new CliError(`--header must be name=value, not "${pair}"`, CliErrorCode.USAGE);
    headers[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return headers;
}
