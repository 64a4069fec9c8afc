/**
 * `npm run chaos [name...]`: runs the failure scenarios, every `chaos/<name>.chaos.ts` (all by default),
 * each in a process of its own and bounded in time. Each scenario starts vigil itself (loopback only),
 * prints its figures and exits non-zero when one of its invariants fails. `CHAOS_SHORT=1` runs the short
 * mode that CI uses; `VIGIL_ROOT=<checkout>` runs the scenarios against another checkout (the figures
 * "before" a change).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const all = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.chaos.ts'))
  .map((f) => f.slice(0, -'.chaos.ts'.length))
  .sort();
const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : all;
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(`no chaos scenario ${unknown.join(', ')} (have: ${all.join(', ')})`);
  process.exit(2);
}
/** A scenario that has not finished in this time is killed and counted as failed. */
const LIMIT_MS = Number(process.env.CHAOS_TIMEOUT_MS ?? 300_000);
const failed: string[] = [];
for (const name of names) {
  console.log(`\n=== chaos/${name}.chaos.ts ===`);
  const t0 = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    // A process group of its own: on timeout the scenario and the vigil it started are killed together.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(dir, `${name}.chaos.ts`)], { stdio: 'inherit', detached: true });
    const timer = setTimeout(() => {
      console.error(`chaos/${name}: still running after ${LIMIT_MS} ms: killed`);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, LIMIT_MS);
    child.on('exit', (c, sig) => {
      clearTimeout(timer);
      resolve(c ?? (sig ? 128 : 1));
    });
  });
  console.log(`--- chaos/${name}: ${code === 0 ? 'PASS' : `FAIL (exit ${code})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (code !== 0) failed.push(name);
}
console.log(`\nchaos: ${names.length - failed.length}/${names.length} passed${failed.length ? `; failed: ${failed.join(', ')}` : ''}`);
process.exit(failed.length ? 1 : 0);
