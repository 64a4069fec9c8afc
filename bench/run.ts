/**
 * `npm run bench [name...]`: runs the benchmarks (all by default) one after another and prints their
 * figures. Each bench/<name>.ts exports `run()`; each runs in a process of its own, so that one's heap,
 * JIT state and garbage do not move the next one's figures (run in one process, the alert evaluation
 * round measured ~50% slower after the ingest benchmarks, and its live-memory figure came out negative).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadAverage } from './_proc.ts';

const ORDER = ['daemon', 'ingest', 'processors', 'metric-points', 'alerts', 'delivery', 'prometheus'];
const rank = (n: string) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
const dir = import.meta.dirname;
const all = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => path.basename(f, '.ts'))
  .sort((a, b) => rank(a) - rank(b));

const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : all;
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length) {
  console.error(`no benchmark ${unknown.join(', ')} (have: ${all.join(', ')})`);
  process.exit(1);
}
let failed = 0;
for (const name of names) {
  console.log(`\n=== bench/${name}.ts === load average ${loadAverage()}`);
  const url = pathToFileURL(path.join(dir, `${name}.ts`)).href;
  const script = `const m = await import(${JSON.stringify(url)}); await m.run(); process.exit(0);`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`bench/${name}.ts failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
