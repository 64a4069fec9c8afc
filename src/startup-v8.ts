/**
 * Two V8 settings held while the daemon starts and released once it is ready (issue 21, start-up and
 * idle memory): start-up runs code once (module evaluation, the YAML parse, validation, building the
 * pipelines), so what V8 does to speed up code that keeps running is wasted there and stays resident in
 * an idle daemon. Measured on the shipped config from `dist/` (idle RSS 3 s after ready):
 *
 * - TurboFan, the optimizing compiler (`--no-opt` while held): optimizing what gets hot during start-up
 *   is work on background threads that compete with start-up on a small machine, and it leaves the
 *   compiler's text pages of the node binary and its zone memory resident: 4-5 MiB of idle RSS (3.4 MiB
 *   of them the binary's text pages).
 * - The young generation's growth (`--semi-space-growth-factor=1` while held, V8's default 2 after):
 *   start-up's allocations, most of which survive, grew the semi-spaces from 1 to ~2.4 MiB each, which an
 *   idle heap keeps (4.6-5.0 MiB of new space, nearly empty): held, 1.8 MiB; 2-3 MiB of idle RSS.
 *
 * V8 reads both flags at each decision (a function's tiering, a scavenge's resizing), so after
 * {@link releaseAfterStartup} hot code is optimized and the young generation grows under load as usual
 * (up to `--max-semi-space-size`): the CPU at 10,000 spans/s did not move (A/B in the README's table).
 *
 * A user's own choice wins: a flag of the same family on the command line or in NODE_OPTIONS (`--opt`,
 * `--no-opt`, `--turbofan`, `--jitless`, `--max-opt`; `--semi-space-growth-factor`) leaves that setting
 * alone.
 */
import v8 from 'node:v8';
import type { Worker } from 'node:worker_threads';

const userFlags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
const userTiering = /(^|\s)--(no-)?(opt|turbofan|jitless|max-opt)\b/.test(userFlags);
const userGrowth = /(^|\s)--semi[-_]space[-_]growth[-_]factor\b/.test(userFlags);
let held: { tiering: boolean; growth: boolean } | undefined;
/** Sets the held growth factor again once a new worker thread runs (see holdForStartup). */
const reassertOnWorker = (w: Worker): void => {
  w.once('online', () => {
    if (held?.growth) v8.setFlagsFromString('--semi-space-growth-factor=1');
  });
};

/** Holds both settings (those the user did not set) until {@link releaseAfterStartup}. Idempotent. */
export function holdForStartup(): void {
  if (held) return;
  held = { tiering: !userTiering, growth: !userGrowth };
  if (held.tiering) v8.setFlagsFromString('--no-opt');
  if (held.growth) {
    v8.setFlagsFromString('--semi-space-growth-factor=1');
    // A worker thread started meanwhile (the telemetry front boots during start-up) sets the factor back to
    // 2 when V8 configures its heap, on that thread, before the worker runs: set it again once each new
    // worker is online (Node's process 'worker' event announces every Worker created).
    process.on('worker', reassertOnWorker);
  }
}

/** Gives V8 its usual settings back; a no-op unless {@link holdForStartup} held them. Idempotent. */
export function releaseAfterStartup(): void {
  if (!held) return;
  if (held.tiering) v8.setFlagsFromString('--opt');
  process.off('worker', reassertOnWorker);
  if (held.growth) v8.setFlagsFromString('--semi-space-growth-factor=2');
  held = undefined;
}

/** Which settings are held now (for tests). */
export function heldForStartup(): { tiering: boolean; growth: boolean } | undefined {
  return held && { ...held };
}
