/**
 * Error classes shared by every component. A permanent error (bad payload: drop, count, log once) is a
 * different class from a retryable one (timeout, 5xx, 429, a full queue: back off, honour Retry-After).
 */

/** Data refused downstream. `permanent` false means "retry later" (receivers answer 429/503/UNAVAILABLE). */
export class ConsumerError extends Error {
  readonly permanent: boolean;
  /** `VIGIL_DATA_PERMANENT` or `VIGIL_DATA_RETRYABLE`. */
  readonly code: ErrorCode;
  /** Suggested wait before a retry, in milliseconds (from a Retry-After, or the refusing component). */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, opts: { permanent: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = opts.permanent ? ErrorCodes.DATA_PERMANENT : ErrorCodes.DATA_RETRYABLE;
    this.name = opts.permanent ? 'PermanentError' : 'RetryableError';
    this.permanent = opts.permanent;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** A {@link ConsumerError} that says "do not retry this data". */
export function permanentError(message: string, cause?: unknown): ConsumerError {
  return new ConsumerError(message, { permanent: true, cause });
}

/** A {@link ConsumerError} that says "retry later", after `retryAfterMs` when given. */
export function retryableError(message: string, retryAfterMs?: number, cause?: unknown): ConsumerError {
  return new ConsumerError(message, { permanent: false, retryAfterMs, cause });
}

/**
 * The pipelines behind a receiver changed (a reload re-pointed its `emit`) between the decoding of a request
 * and its delivery, and now read more of a span than was decoded for the old ones (src/otlp/proto-decode.ts
 * `decodedCovers`). Internal: the receiver decodes the request again, whole, and delivers that; a client never
 * sees it.
 */
export class StaleDecodeError extends Error {
  constructor() {
    super('the pipelines changed while the request was decoded for them');
    this.name = 'StaleDecodeError';
  }
}

/** Whether an error asks the sender to retry (anything not explicitly permanent is retryable). */
export function isRetryable(err: unknown): boolean {
  return !(err instanceof ConsumerError && err.permanent);
}

/**
 * The catalogue: every stable error code vigil emits, grouped by concern. Codes are matched by tools and
 * never change meaning; messages are for people and may change. Each coded error class below (and the
 * few elsewhere: IntakeError, OtlpDecodeError, StateWriteError, PriceFileError, the API's errors) extends
 * {@link VigilError} with one of these. (Fastify `lib/errors.js`: one file, grouped by concern.)
 */
export const ErrorCodes = {
  // config (src/config/load.ts): every problem of `vigil validate`, with file:line:col
  CONFIG_READ: 'VIGIL_CONFIG_READ',
  CONFIG_YAML: 'VIGIL_CONFIG_YAML',
  /** A `${env:NAME}` with no value and no default. */
  CONFIG_ENV: 'VIGIL_CONFIG_ENV',
  CONFIG_DUPLICATE_KEY: 'VIGIL_CONFIG_DUPLICATE_KEY',
  /** A key or value a component's schema refuses. */
  CONFIG_SCHEMA: 'VIGIL_CONFIG_SCHEMA',
  /** An unknown component type or a bad component ID. */
  CONFIG_COMPONENT: 'VIGIL_CONFIG_COMPONENT',
  /** Pipeline wiring (undefined or misplaced IDs, an exporter that would receive nothing). */
  CONFIG_PIPELINE: 'VIGIL_CONFIG_PIPELINE',
  /** An address bound twice. */
  CONFIG_ENDPOINT: 'VIGIL_CONFIG_ENDPOINT',

  // start-up
  /** A start that failed after the config validated (a port in use, a state folder not writable). */
  START_FAILED: 'VIGIL_START_FAILED',

  // intake (receivers): the HTTP status / gRPC code goes with it
  /** Malformed or out-of-range data: 400 / INVALID_ARGUMENT, not retried. */
  INTAKE_INVALID: 'VIGIL_INTAKE_INVALID',
  /** Missing or wrong bearer token: 401 / UNAUTHENTICATED. */
  INTAKE_UNAUTHENTICATED: 'VIGIL_INTAKE_UNAUTHENTICATED',
  /** Unknown path, method, content type or encoding: 404 / 405 / 415. */
  INTAKE_UNSUPPORTED: 'VIGIL_INTAKE_UNSUPPORTED',
  /** Body larger than max_request_body_size: 413 / RESOURCE_EXHAUSTED. */
  INTAKE_TOO_LARGE: 'VIGIL_INTAKE_TOO_LARGE',
  /** Body not received within read_timeout: 408. */
  INTAKE_TIMEOUT: 'VIGIL_INTAKE_TIMEOUT',
  /** Refused for now (admission limits, memory_limiter, a full queue): 429 / 503 / UNAVAILABLE with Retry-After. */
  INTAKE_OVERLOADED: 'VIGIL_INTAKE_OVERLOADED',
  /** The client went away before its request was processed: nothing was delivered. */
  INTAKE_CLIENT_GONE: 'VIGIL_INTAKE_CLIENT_GONE',
  /** An OTLP request that does not decode (with the field path). */
  OTLP_DECODE: 'VIGIL_OTLP_DECODE',

  // pipeline and delivery
  /** Data refused downstream for good (do not retry). */
  DATA_PERMANENT: 'VIGIL_DATA_PERMANENT',
  /** Data refused downstream for now (retry later). */
  DATA_RETRYABLE: 'VIGIL_DATA_RETRYABLE',
  /** An export attempt failed (the otlp exporter's transport), retryable or not. */
  EXPORT_FAILED: 'VIGIL_EXPORT_FAILED',
  /** A state file (alert state, silences, budgets) could not be written; the previous version is kept. */
  STATE_WRITE: 'VIGIL_STATE_WRITE',
  /** A price table that cannot be read or has a bad entry. */
  PRICE_FILE: 'VIGIL_PRICE_FILE',

  // the Alertmanager-compatible API and its clients
  API_BAD_REQUEST: 'VIGIL_API_BAD_REQUEST',
  API_UNAUTHORIZED: 'VIGIL_API_UNAUTHORIZED',
  API_NOT_FOUND: 'VIGIL_API_NOT_FOUND',
  API_ERROR: 'VIGIL_API_ERROR',
  /** `vigil silence|alerts|status` could not reach the daemon or got an error from it. */
  API_CLIENT: 'VIGIL_API_CLIENT',
  /** A matcher (`name=~"re"`) that does not parse or whose regex RE2 refuses. */
  MATCHER_INVALID: 'VIGIL_MATCHER_INVALID',
  SILENCE_INVALID: 'VIGIL_SILENCE_INVALID',
  SILENCE_NOT_FOUND: 'VIGIL_SILENCE_NOT_FOUND',
} as const;
/** One of the catalogue's codes. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An error with a stable {@link ErrorCodes} code. */
export class VigilError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.name = 'VigilError';
  }
}

/** The code of an error vigil raised, or undefined for anything else. */
export function errorCodeOf(err: unknown): ErrorCode | undefined {
  return err instanceof VigilError ? err.code : undefined;
}

/**
 * The system error code (`EADDRINUSE`, `EACCES`, ...) behind a start failure: the `code` of the error or of one it
 * wraps (`cause`), else one named in the message (gRPC's bind error carries it only as text). Undefined when none.
 */
export function systemErrorCode(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  }
  return /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES|EPERM|ENOENT|ENOTDIR|ENOSPC|EROFS)\b/.exec(err instanceof Error ? err.message : String(err))?.[1];
}
