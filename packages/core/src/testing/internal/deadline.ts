/** Thrown when a conformance wait passes its deadline; names what the suite was waiting for. */
export class DeadlineError extends Error {
  constructor(what: string, timeoutMs: number) {
    super(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    this.name = 'DeadlineError';
  }
}

/** Resolves like `promise`, or rejects with a {@link DeadlineError} after `timeoutMs`. Never leaves a timer behind. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(what, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
