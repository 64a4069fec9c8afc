/**
 * src/startup-tiering.ts: V8 does not optimize while start-up defers it, optimizes hot code again once
 * resumed, and a user's own --no-opt is never overridden. Read with V8's %GetOptimizationStatus in a child
 * process (--allow-natives-syntax), as the function's tier, not as a timing.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/index.ts';

const root = path.resolve(import.meta.dirname, '..');
/** V8's OptimizationStatus bit for code compiled by TurboFan (src/runtime/runtime-test.cc). */
const TURBOFANNED = 1 << 6;

/** Runs a hot function 20,000 times while deferred, then again after resume; returns both statuses. */
async function tiers(nodeFlags: string[]): Promise<{ deferred: number; resumed: number; wasDeferred: boolean }> {
  const dir = tempDir('startup-tiering-');
  const script = path.join(dir, 'probe.mts');
  fs.writeFileSync(
    script,
    `import { deferOptimization, resumeOptimization, optimizationDeferred } from ${JSON.stringify(path.join(root, 'src/startup-tiering.ts'))};
const status = (f) => globalThis.eval('(f) => %GetOptimizationStatus(f)')(f);
function hot(a) { let s = 0; for (let i = 0; i < a.length; i++) s += (a[i] * 3) | 0; return s; }
const a = Array.from({ length: 1000 }, (_, i) => i);
deferOptimization();
for (let k = 0; k < 20000; k++) hot(a);
const deferred = status(hot);
const wasDeferred = optimizationDeferred();
resumeOptimization();
for (let k = 0; k < 20000; k++) hot(a);
console.log(JSON.stringify({ deferred, resumed: status(hot), wasDeferred, after: optimizationDeferred() }));
`,
  );
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--allow-natives-syntax', ...nodeFlags, '--import', 'tsx', script], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  const r = JSON.parse(out) as { deferred: number; resumed: number; wasDeferred: boolean; after: boolean };
  expect(r.after).toBe(false);
  return r;
}

describe('TurboFan held back during start-up', () => {
  it('hot code stays unoptimized while deferred and is optimized by TurboFan once resumed', async () => {
    const t = await tiers([]);
    expect(t.wasDeferred).toBe(true);
    expect(t.deferred & TURBOFANNED).toBe(0);
    expect(t.resumed & TURBOFANNED).toBe(TURBOFANNED);
  }, 60_000);

  it("leaves a user's --no-opt alone: nothing is optimized, before or after", async () => {
    const t = await tiers(['--no-opt']);
    expect(t.wasDeferred).toBe(false);
    expect(t.deferred & TURBOFANNED).toBe(0);
    expect(t.resumed & TURBOFANNED).toBe(0);
  }, 60_000);
});
