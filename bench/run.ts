/**
 * `npm run bench [name...]`: runs the benchmarks (all by default) one after another and prints their
 * figures. Each bench/<name>.ts exports `run()`.
 */
import fs from 'node:fs';
import path from 'node:path';

const ORDER = ['ingest', 'processors', 'alerts', 'delivery'];
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
for (const name of names) {
  console.log(`\n=== bench/${name}.ts ===`);
  const mod = (await import(`./${name}.ts`)) as { run: () => Promise<void> };
  await mod.run();
}
process.exit(0);
