/**
 * TurboFan, V8's optimizing compiler, held back while the daemon starts (issue 21, start-up and idle memory).
 *
 * Start-up runs code once: module evaluation, the YAML parse, config validation, building the pipelines.
 * Optimizing the functions that get hot there is wasted work, done on background threads that compete with
 * start-up on a small machine, and it leaves the compiler's code pages of the node binary and its zone
 * memory resident in an idle daemon: measured on the shipped config from `dist/`, 4-5 MiB of idle RSS
 * (3.4 MiB of them the binary's text pages). V8 reads the flag at each tiering decision, so functions that
 * get hot once data flows are optimized as usual after {@link resumeOptimization}.
 *
 * A user's own choice wins: with `--opt`/`--no-opt`, `--turbofan`/`--no-turbofan`, `--jitless` or
 * `--max-opt` on the command line or in NODE_OPTIONS, nothing here changes any flag.
 */
import v8 from 'node:v8';

const userChose = /(^|\s)--(no-)?(opt|turbofan|jitless|max-opt)\b/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
let deferred = false;

/** Stops V8 from optimizing (until {@link resumeOptimization}); a no-op when the user set these flags. */
export function deferOptimization(): void {
  if (userChose || deferred) return;
  v8.setFlagsFromString('--no-opt');
  deferred = true;
}

/** Lets V8 optimize hot functions again; a no-op unless {@link deferOptimization} deferred it. Idempotent. */
export function resumeOptimization(): void {
  if (!deferred) return;
  v8.setFlagsFromString('--opt');
  deferred = false;
}

/** Whether optimization is held back now (for tests). */
export function optimizationDeferred(): boolean {
  return deferred;
}
