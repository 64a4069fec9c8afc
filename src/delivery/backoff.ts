/** Exponential backoff with jitter, and Retry-After parsing. Pure functions, so they are tested alone. */

/**
 * The exporter retry policy (the `retry_on_failure` config, converted to milliseconds), as the Collector's exporterhelper:
 * `initialIntervalMs` is the first wait, each further wait is multiplied by `multiplier` up to `maxIntervalMs`,
 * and `randomizationFactor` (0..1) spreads each wait by ± that share. See {@link backoffDelay}.
 */
export interface BackoffPolicy {
  initialIntervalMs: number;
  maxIntervalMs: number;
  multiplier: number;
  randomizationFactor: number;
}

/**
 * The wait before retry number `retry` (1 = the first retry): `initial * multiplier^(retry-1)`, capped at
 * `max`, then drawn uniformly from `[w*(1-f), w*(1+f)]` with `rand()` in [0, 1), and capped at `max` again
 * (so a wait never exceeds `max_interval`).
 */
export function backoffDelay(retry: number, p: BackoffPolicy, rand: () => number = Math.random): number {
  const base = Math.min(p.initialIntervalMs * Math.pow(p.multiplier, Math.max(0, retry - 1)), p.maxIntervalMs);
  const f = p.randomizationFactor;
  const jittered = base * (1 - f + 2 * f * rand());
  return Math.min(Math.max(0, Math.round(jittered)), p.maxIntervalMs);
}

/**
 * Parses an HTTP `Retry-After` value (delay-seconds, or an HTTP date) into milliseconds from `now`;
 * undefined when absent or unparsable. A date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}
