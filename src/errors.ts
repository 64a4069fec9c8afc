/**
 * Error classes shared by every component. A permanent error (bad payload: drop, count, log once) is a
 * different class from a retryable one (timeout, 5xx, 429, a full queue: back off, honour Retry-After).
 */

/** Data refused downstream. `permanent` false means "retry later" (receivers answer 429/503/UNAVAILABLE). */
export class ConsumerError extends Error {
  readonly permanent: boolean;
  /** Suggested wait before a retry, in milliseconds (from a Retry-After, or the refusing component). */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: { permanent: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = opts.permanent ? 'PermanentError' : 'RetryableError';
    this.permanent = opts.permanent;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export function permanentError(message: string, cause?: unknown): ConsumerError {
  return new ConsumerError(message, { permanent: true, cause });
}

export function retryableError(message: string, retryAfterMs?: number, cause?: unknown): ConsumerError {
  return new ConsumerError(message, { permanent: false, retryAfterMs, cause });
}

/** Whether an error asks the sender to retry (anything not explicitly permanent is retryable). */
export function isRetryable(err: unknown): boolean {
  return !(err instanceof ConsumerError && err.permanent);
}

/** Stable codes for startup errors (config errors have theirs in src/config/load.ts: ConfigErrorCodes). */
export const ErrorCodes = {
  START_FAILED: 'VIGIL_START_FAILED',
} as const;

export class VigilError extends Error {
  readonly code: string;
  constructor(code: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.name = 'VigilError';
  }
}
