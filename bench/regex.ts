/**
 * `npm run bench regex`: user regexes run on RE2 (src/regex.ts, re2js): the `(a+)+b` case of issue 15
 * (6.6 s at 27 characters on the backtracking engine vigil used before, doubling per character) against
 * RE2's linear time, and the cost of one anchored match on a typical label value. Figures are printed
 * beside the goal, with the load average (timings on a shared machine are noisy).
 */
import os from 'node:os';
import { compileRegex } from '../src/regex.ts';
import { goalCell } from './_goals.ts';

function time(fn: () => void, reps = 1): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) fn();
  return Number(process.hrtime.bigint() - t) / 1e6 / reps;
}

export async function run(): Promise<void> {
  const re2 = compileRegex('(a+)+b');
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`(a+)+b against "a" x n (no match), RE2 (goal: ${goalCell('user regex (a+)+b')}):`);
  for (const n of [27, 1000, 100_000]) {
    const s = 'a'.repeat(n);
    const ms = time(() => re2.matches(s), n > 10_000 ? 3 : 50);
    console.log(`  n=${String(n).padStart(6)}  ${ms.toFixed(3)} ms`);
  }
  console.log('the same on a backtracking engine (JS RegExp, what vigil used before), for comparison:');
  const js = /^(?:(a+)+b)$/;
  for (const n of [18, 20, 22]) {
    const s = 'a'.repeat(n);
    console.log(`  n=${String(n).padStart(6)}  ${time(() => js.test(s)).toFixed(1)} ms  (doubles per character: 27 would take ~${(time(() => js.test(s)) * 2 ** (27 - n) / 1000).toFixed(1)} s)`);
  }
  const svc = compileRegex('check.*|cart-[0-9]+');
  const values = ['checkout', 'cart-12', 'payments', 'search-api'];
  let i = 0;
  const per = time(() => svc.matches(values[i++ & 3]!), 200_000);
  console.log(`a route matcher (check.*|cart-[0-9]+) on a label value: ${(per * 1000).toFixed(2)} us per match (routing runs once per alert: its routes are cached)`);
}
