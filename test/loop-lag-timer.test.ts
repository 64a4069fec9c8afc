/**
 * The intake's event-loop lag timer (src/otlp/connections.ts) wakes the process ~10 times a second while the
 * loop keeps up (each wake-up costs ~0.1 ms of CPU on a small VM; a 20 ms interval was ~45 of the daemon's
 * ~280 wake-ups a second at 10,000 spans/s): a count, not a timing. Its own module instance under fake timers.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.useRealTimers();
  vi.resetModules();
});

describe('event-loop lag timer', () => {
  it('ticks 10 times a second while the loop keeps up, and measures a stall as lag', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
    vi.resetModules();
    const { loopBehindMs } = await import('../src/otlp/connections.ts');
    const timeouts = vi.spyOn(globalThis, 'setTimeout');
    const intervals = vi.spyOn(globalThis, 'setInterval');
    expect(loopBehindMs()).toBe(0); // starts the timer
    vi.advanceTimersByTime(10_000);
    // one timer armed per tick: ~10 a second once calm (the first tick at 20 ms)
    expect(intervals).not.toHaveBeenCalled();
    expect(timeouts.mock.calls.length).toBeGreaterThanOrEqual(95);
    expect(timeouts.mock.calls.length).toBeLessThanOrEqual(105);
    expect(loopBehindMs()).toBe(0);
    // a loop held for 800 ms (the clock moves, no timer runs): the lag reads at least the time overdue
    const held = performance.now();
    (performance as unknown as { now: () => number }).now = () => held + 800;
    expect(loopBehindMs()).toBeGreaterThanOrEqual(700);
  });
});
