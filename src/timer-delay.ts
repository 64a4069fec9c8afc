/**
 * Node's timers take a delay of at most 2^31 - 1 ms (about 24.8 days); a longer one (a `window: 30d`, an
 * `interval: 60d`, a `shutdown_timeout: 1000d`) fires after 1 ms instead, with only a process warning: an
 * interval then runs in a loop, a deadline passes at once. Every timer whose delay comes from the config
 * goes through {@link timerDelay}.
 */

/** The longest delay Node's setTimeout and setInterval honour: 2^31 - 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * `ms` as a timer delay Node honours: at most {@link MAX_TIMER_MS} (a longer wait fires then, and the caller
 * waits again or accepts the shorter period) and at least 0 (NaN is 0).
 */
export function timerDelay(ms: number): number {
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms > 0 ? ms : 0;
}
