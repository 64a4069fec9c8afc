/**
 * V8 settings held while the daemon starts and released once it is ready (issue 21, start-up and
 * idle memory): start-up runs code once (module evaluation, the YAML parse, validation, building the
 * pipelines), so what V8 does to speed up code that keeps running is wasted there and stays resident in
 * an idle daemon. Measured on the shipped config from `dist/` (idle RSS 3 s after ready):
 *
 * - TurboFan, the optimizing compiler (`--no-opt` while held): optimizing what gets hot during start-up
 *   is work on background threads that compete with start-up on a small machine, and it leaves the
 *   compiler's text pages of the node binary and its zone memory resident: 4-5 MiB of idle RSS (3.4 MiB
 *   of them the binary's text pages). Sparkplug, the baseline compiler (`--no-sparkplug` while held), likewise:
 *   its code for start-up's warm functions filled 0.75 MiB of code space (0.25 held) and 0.5 MiB of heap;
 *   idle RSS median 66.2 against 66.8 MiB in 5 alternated starts, CPU to ready the same (median 400 ms).
 * - The young generation's growth (`--semi-space-growth-factor=1` while held, V8's default 2 after):
 *   start-up's allocations, most of which survive, grew the semi-spaces from 1 to ~2.4 MiB each, which an
 *   idle heap keeps (4.6-5.0 MiB of new space, nearly empty): held, 1.8 MiB; 2-3 MiB of idle RSS.
 *
 * V8 reads these flags at each decision (a function's tiering, a scavenge's resizing), so after
 * {@link releaseAfterStartup} hot code is optimized and the young generation grows under load.
 *
 * A worker thread resets the growth factor to 2 when V8 configures its heap (V8's Heap::ConfigureHeap raises
 * any factor below 2), on that thread, before the worker runs any JavaScript. vigil starts none of its own, but
 * one can boot during start-up (the thread of Node's module-customization hooks, when a `--import` registers
 * them, as tsx and the bench's module log do). While held, the factor is therefore set again every 2 ms from a
 * worker's creation until it is online (about 30-100 ms); waiting for 'online' alone let the main heap's
 * scavenges of that window double the young generation (4 MiB committed at idle instead of 2, 1.5-2 MiB of RSS).
 *
 * After start-up, {@link capYoungGeneration} keeps the young generation's growth within a cap (default
 * {@link YOUNG_GENERATION_CAP_MIB}): V8 grows it, by the same growth factor, up to 2 x 16 MiB semi-spaces under a
 * steady allocation rate, most of it resident (16-32 MiB at 10,000 spans/s); the cap sets the factor to 1 once the
 * committed young generation reached it, and back to 2 below it. It is checked after each garbage collection (a
 * `gc` PerformanceObserver, a loop turn later), so a loop congested by overload can step past it once (16 MiB
 * was seen at twice the machine's capacity); V8 shrinks the young generation again when allocation calms down.
 * V8 has no way to lower `--max-semi-space-size` at run time, and a flag would have to be in every start command.
 *
 * A user's own choice wins: a flag of the same family on the command line or in NODE_OPTIONS (`--opt`,
 * `--no-opt`, `--turbofan`, `--jitless`, `--max-opt`, `--sparkplug`, `--always-sparkplug`; `--semi-space-growth-factor`,
 * `--max-semi-space-size`)
 * leaves that setting alone.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

const userFlags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
const userTiering = /(^|\s)--(no-)?(opt|turbofan|jitless|max-opt|sparkplug|always-sparkplug)\b/.test(userFlags);
const userGrowth = /(^|\s)--semi[-_]space[-_]growth[-_]factor\b/.test(userFlags);
const userYoungSize = userGrowth || /(^|\s)--(max|min)[-_]semi[-_]space[-_]size\b/.test(userFlags);
let held: { tiering: boolean; growth: boolean } | undefined;
/**
 * Sets the held growth factor again, every 2 ms from a worker thread's creation until it is online (or gone):
 * V8 resets it on that thread at a moment this one cannot see (see this file's comment).
 */
const reassertOnWorker = (w: Worker): void => {
  const hold = (): void => {
    if (held?.growth) v8.setFlagsFromString('--semi-space-growth-factor=1');
  };
  const poll = setInterval(hold, 2);
  poll.unref();
  const done = (): void => {
    clearInterval(poll);
    hold();
  };
  w.once('online', done);
  w.once('exit', done);
};

/** Holds the settings (those the user did not set) until {@link releaseAfterStartup}. Idempotent. */
export function holdForStartup(): void {
  if (held) return;
  held = { tiering: !userTiering, growth: !userGrowth };
  if (held.tiering) v8.setFlagsFromString('--no-opt');
  if (held.tiering) v8.setFlagsFromString('--no-sparkplug');
  if (held.growth) {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    // A worker thread started meanwhile (a module-customization hooks thread, say) sets the factor back to
    // 2 when V8 configures its heap, on that thread, before the worker runs: set it again once each new
    // worker is online (Node's process 'worker' event announces every Worker created).
    process.on('worker', reassertOnWorker);
  }
}

/**
 * The process event {@link releaseAfterStartup} emits once V8's flags are back to what they were: the build's
 * training start (deploy/bundle-main.mjs) writes the bundle's code cache then, under the flags a start compiles
 * the bundle with (V8 refuses a cache made under other flags).
 */
export const STARTUP_RELEASED_EVENT = 'vigil:startup-released';

/**
 * Gives V8 its usual settings back and emits {@link STARTUP_RELEASED_EVENT} on `process`; a no-op unless
 * {@link holdForStartup} held them. Idempotent.
 */
export function releaseAfterStartup(): void {
  if (!held) return;
  if (held.tiering) v8.setFlagsFromString('--opt');
  if (held.tiering) v8.setFlagsFromString('--sparkplug');
  process.off('worker', reassertOnWorker);
  if (held.growth) v8.setFlagsFromString('--semi-space-growth-factor=2');
  held = undefined;
  (process as NodeJS.EventEmitter).emit(STARTUP_RELEASED_EVENT);
}

/**
 * The young generation's committed size (MiB, both semi-spaces: `v8.getHeapSpaceStatistics()`'s `new_space`)
 * that {@link capYoungGeneration} keeps it within by default. V8's own limit on 64-bit is 32 MiB (2 x 16 MiB
 * semi-spaces), which the daemon reached at 10,000 spans/s; the A/B of the CPU at that rate, capped against
 * uncapped, is in the README's benchmark table.
 */
export const YOUNG_GENERATION_CAP_MIB = 8;
let cap: { observer: PerformanceObserver; atCap: boolean } | undefined;

/** The young generation's committed size in bytes (both semi-spaces). */
export function youngGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * Keeps the young generation within `mib` MiB committed (a power of two >= 2: V8 doubles it at each growth)
 * from now on: after each garbage collection, the growth factor is set to 1 when the young generation reached
 * the cap (set again at each collection: a new worker thread resets it) and to 2 below it. A no-op when the user
 * set `--semi-space-growth-factor` or `--max-semi-space-size` / `--min-semi-space-size`, or while start-up holds
 * the factor ({@link holdForStartup}; call it after {@link releaseAfterStartup}). Idempotent; the observer does not
 * keep the process alive. Returns whether a cap is in force.
 */
export function capYoungGeneration(mib = YOUNG_GENERATION_CAP_MIB): boolean {
  if (userYoungSize || held?.growth) return false;
  if (!(mib >= 2 && Number.isInteger(Math.log2(mib)))) throw new RangeError(`young generation cap: ${mib} MiB is not a power of two >= 2`);
  cap?.observer.disconnect();
  const bytes = mib * 1024 * 1024;
  const check = (): void => {
    if (!cap) return;
    const atCap = youngGenerationBytes() >= bytes;
    // at the cap: set at every collection (a new worker thread resets it); below: once, when it changes
    if (atCap) v8.setFlagsFromString('--semi-space-growth-factor=1');
    else if (cap.atCap) v8.setFlagsFromString('--semi-space-growth-factor=2');
    cap.atCap = atCap;
  };
  const observer = new PerformanceObserver(check);
  cap = { observer, atCap: false };
  observer.observe({ entryTypes: ['gc'] });
  check();
  return true;
}

/** Lifts the cap of {@link capYoungGeneration} (growth factor 2 again). */
export function uncapYoungGeneration(): void {
  if (!cap) return;
  cap.observer.disconnect();
  cap = undefined;
  v8.setFlagsFromString('--semi-space-growth-factor=2');
}

/** Which settings are held now (for tests). */
export function heldForStartup(): { tiering: boolean; growth: boolean } | undefined {
  return held && { ...held };
}
