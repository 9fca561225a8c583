import { BusError, ConfigError } from '@bus/core';

const CLI_ERROR_MARKER = 'bus.error.cli';

/** Stable codes of {@link CliError}. */
export const CliErrorCode = {
  /** Arguments or options are wrong (unknown command, bad `--from`, missing `--subject`). */
  USAGE: 'CLI_USAGE',
  /** No Kafka connection was given: neither `--url` nor `KAFKA_*` variables. */
  NO_CONNECTION: 'CLI_NO_CONNECTION',
  /** A schema registry is needed and none was given: neither `--registry` nor `SCHEMA_REGISTRY_URL`. */
  NO_REGISTRY: 'CLI_NO_REGISTRY',
  /** A line of input is not what the command reads (e.g. not JSON for `bus produce`). */
  BAD_INPUT: 'CLI_BAD_INPUT',
  /** `bus schema check`: the schema is not compatible with the subject. */
  INCOMPATIBLE: 'CLI_SCHEMA_INCOMPATIBLE',
} as const;

/** One of the {@link CliErrorCode} values. */
export type CliErrorCodeValue = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** A failure the CLI reports itself: bad usage, missing connection settings, bad input lines. */
export class CliError extends BusError {
  declare readonly code: CliErrorCodeValue;
  /** Process exit code for this failure: 2 for usage errors, 1 otherwise. */
  readonly exitCode: number;

  constructor(message: string, code: CliErrorCodeValue, options: { cause?: unknown } = {}) {
    super(message, { code, cause: options.cause });
    this.name = 'CliError';
    this.exitCode = code === CliErrorCode.USAGE ? 2 : 1;
    this.mark(CLI_ERROR_MARKER);
  }

  /** Whether `error` is a {@link CliError} from any installed copy of this package. */
  static override isInstance(error: unknown): error is CliError {
    return BusError.hasMarker(error, CLI_ERROR_MARKER);
  }
}

/**
 * The one line printed for a failure: `error [CODE]: message`. A `ConfigError`'s problems are
 * joined on that line. `secrets` (passwords from the connection settings) are masked wherever
 * they appear.
 */
export function errorLine(error: unknown, secrets: readonly string[]): string {
  let message: string;
  let code: string | undefined;
  if (ConfigError.isInstance(error)) {
    const subject = error.message.split('\n')[0]?.replace(/ \(\d+ problems?\):$/, '') ?? 'Invalid options';
    message = `${subject}: ${error.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`;
    code = error.code;
  } else if (error instanceof Error) {
    message = error.message.replace(/\s*\n\s*/g, ' ');
    code = BusError.isInstance(error) ? error.code : undefined;
  } else {
    message = String(error);
  }
  return mask(`error${code === undefined ? '' : ` [${code}]`}: ${message}`, secrets);
}

/** Masks every secret and any `user:password@` in URLs. */
export function mask(text: string, secrets: readonly string[]): string {
  let result = text.replace(/\/\/([^/\s:@]+):([^@\s]+)@/g, '//$1:***@');
  for (const secret of secrets) if (secret.length > 0) result = result.split(secret).join('***');
  return result;
}
