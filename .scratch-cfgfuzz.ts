import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from './src/config/load.ts';
import { components } from './app/components.ts';
const base = fs.readFileSync('pipelines.yaml', 'utf8').split('\n');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfgfuzz-'));
const junk = ['', '~', 'null', '[]', '{}', '-1', '1e999', '0x10', '"x"', 'yes', '&a x', '*a', '!!binary aGk=', '!!str', '[1, [2]]', '{a: {b: c}}', '"${env:X}"', '${env:}', '-', '? x', ': y', '|', '>', '1h', '5m', '0s', '"\\u0000"', '9999999999999999999999', 'NaN', '.inf', '2026-01-01', "'", '"', '#'];
let ok = 0, errs = 0, crashes = 0;
const N = Number(process.argv[2] ?? 400);
for (let i = 0; i < N; i++) {
  const lines = [...base];
  const edits = 1 + Math.floor(Math.random() * 3);
  for (let k = 0; k < edits; k++) {
    const li = Math.floor(Math.random() * lines.length);
    const r = Math.random();
    if (r < 0.25) lines.splice(li, 1);
    else if (r < 0.5) lines[li] = lines[li]!.replace(/:\s*(.+)$/, `: ${junk[Math.floor(Math.random() * junk.length)]}`);
    else if (r < 0.65) lines.splice(li, 0, lines[Math.floor(Math.random() * lines.length)]!);
    else if (r < 0.8) lines[li] = ' ' + lines[li];
    else lines[li] = lines[li]!.replace(/^(\s*)(\S+):/, `$1${junk[Math.floor(Math.random() * junk.length)]}x:`);
  }
  const f = path.join(dir, `c${i}.yaml`);
  fs.writeFileSync(f, lines.join('\n'));
  try {
    const r = await loadConfig([f], components, { HOME: '/tmp' });
    if ((r as { errors?: unknown[] }).errors?.length) {
      errs++;
      for (const e of (r as { errors: { message: string; line?: number }[] }).errors) if (/undefined|\[object Object\]|TypeError|Cannot read/.test(e.message)) { console.log('ODD MESSAGE', e.message.slice(0, 200)); }
    } else ok++;
  } catch (e) {
    crashes++;
    if (crashes < 8) { console.log('THREW', (e as Error).stack?.split('\n').slice(0, 4).join(' | ')); fs.copyFileSync(f, `/tmp/crash-${crashes}.yaml`); }
  }
}
console.log({ ok, errs, crashes });
