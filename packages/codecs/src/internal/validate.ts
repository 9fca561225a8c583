import type { CodecContext } from '../codec.js';
import { CodecError, type CodecIssue } from '../errors.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import { location } from './location.js';

/** Turns Standard Schema issues into dotted-path issues. */
export function toIssues(issues: ReadonlyArray<StandardSchemaV1.Issue>): CodecIssue[] {
  return issues.map((issue) => ({
    path: (issue.path ?? [])
      .map((segment) => String(typeof segment === 'object' && segment !== null ? segment.key : segment))
      .join('.'),
    message: issue.message,
  }));
}

function failure(issues: ReadonlyArray<StandardSchemaV1.Issue>, ctx: CodecContext, what: string): CodecError {
  const list = toIssues(issues);
  const summary = list
    .slice(0, 5)
    .map((issue) => `${issue.path || '(root)'}: ${issue.message}`)
    .join('; ');
  const more = list.length > 5 ? `; and ${list.length - 5} more` : '';
  return new CodecError(`${what} failed validation: ${summary}${more}`, {
    code: 'VALIDATION_FAILED',
    issues: list,
    ...location(ctx),
  });
}

/**
 * Validates `value`, synchronously when the validator is synchronous so the hot path allocates no
 * promise; a throwing validator becomes a `VALIDATION_FAILED` error too.
 */
export function validateStandard<T>(
  schema: StandardSchemaV1<unknown, T>,
  value: unknown,
  ctx: CodecContext,
  what: string,
): T | Promise<T> {
  let result: StandardSchemaV1.Result<T> | Promise<StandardSchemaV1.Result<T>>;
  try {
    result = schema['~standard'].validate(value);
  } catch (cause) {
    throw new CodecError(`${what} validator threw`, { code: 'VALIDATION_FAILED', cause, ...location(ctx) });
  }
  if (result instanceof Promise) {
    return result.then(
      (settled) => {
        if (settled.issues) throw failure(settled.issues, ctx, what);
        return settled.value;
      },
      (cause: unknown) => {
        throw new CodecError(`${what} validator threw`, { code: 'VALIDATION_FAILED', cause, ...location(ctx) });
      },
    );
  }
  if (result.issues) throw failure(result.issues, ctx, what);
  return result.value;
}
