import { ConfigError, type ConfigIssue } from './errors.js';

/**
 * Collects option problems so a constructor can report all of them in one {@link ConfigError}.
 *
 * @example
 * const issues = new ConfigIssues('KafkaPublisher');
 * issues.require(options.brokers?.length, 'brokers', 'at least one broker is required');
 * issues.throwIfAny();
 */
export class ConfigIssues {
  readonly #subject: string;
  readonly #issues: ConfigIssue[] = [];

  /** @param subject What is being configured, used in the error message. */
  constructor(subject: string) {
    this.#subject = subject;
  }

  /** Records a problem at `path`. The message must not contain the value (it may be a secret). */
  add(path: string, message: string): this {
    this.#issues.push({ path, message });
    return this;
  }

  /** Records a problem at `path` unless `condition` is truthy. */
  require(condition: unknown, path: string, message: string): this {
    if (!condition) this.add(path, message);
    return this;
  }

  /** Checks that a value, when set, is an integer within `[min, max]`. */
  integer(value: unknown, path: string, range: { min?: number; max?: number } = {}): this {
    if (value === undefined) return this;
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.add(path, `must be an integer from ${min} to ${max}`);
    }
    return this;
  }

  /** Checks that a value, when set, is a finite number within `[min, max]`. */
  number(value: unknown, path: string, range: { min?: number; max?: number } = {}): this {
    if (value === undefined) return this;
    const { min = -Number.MAX_VALUE, max = Number.MAX_VALUE } = range;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      this.add(path, `must be a number from ${min} to ${max}`);
    }
    return this;
  }

  /** Checks that a value, when set, is one of `allowed`. */
  oneOf<T>(value: unknown, path: string, allowed: readonly T[]): this {
    if (value !== undefined && !allowed.includes(value as T)) {
      this.add(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return this;
  }

  /** The problems found so far. */
  get issues(): readonly ConfigIssue[] {
    return this.#issues;
  }

  /** Throws a {@link ConfigError} listing every problem, if there is any. */
  throwIfAny(): void {
    if (this.#issues.length > 0) throw new ConfigError(this.#subject, [...this.#issues]);
  }
}
