/**
 * src/startup-v8.ts: while held, V8 does not optimize and the young generation does not grow; once
 * released, hot code is optimized by TurboFan and the young generation grows under allocation as usual;
 * a user's own flags are never overridden. Read in a child process as V8 reports them
 * (%GetOptimizationStatus with --allow-natives-syntax, the new space's size), not as timings.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/index.ts';

const root = path.resolve(import.meta.dirname, '..');
/** V8's OptimizationStatus bits for code compiled by TurboFan and by Sparkplug (src/runtime/runtime-test.cc). */
const TURBOFANNED = 1 << 6;
const BASELINE = 1 << 15;

interface Seen {
  /** What heldForStartup() said while held, and after the release. */
  held: { tiering: boolean; growth: boolean } | null;
  after: unknown;
  /** The hot function's optimization status while held, then after the release. */
  tierHeld: number;
  tierReleased: number;
  /** The new space's size (bytes) at start, after retaining 300,000 objects while held, and as many again after the release. */
  newStart: number;
  newHeld: number;
  newReleased: number;
}

/** `worker`: a worker thread starts while held (as a module-customization hooks thread does during start-up), and this thread yields a few times after. */
async function probe(nodeFlags: string[], worker = false): Promise<Seen> {
  const dir = tempDir('startup-v8-');
  const script = path.join(dir, 'probe.mts');
  fs.writeFileSync(
    script,
    `import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { holdForStartup, releaseAfterStartup, heldForStartup } from ${JSON.stringify(path.join(root, 'src/startup-v8.ts'))};
const status = (f) => globalThis.eval('(f) => %GetOptimizationStatus(f)')(f);
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
function hot(a) { let s = 0; for (let i = 0; i < a.length; i++) s += (a[i] * 3) | 0; return s; }
const a = Array.from({ length: 1000 }, (_, i) => i);
const keep = [];
const retain = () => { for (let i = 0; i < 300000; i++) keep.push({ i, s: 'x' + i }); };
const newStart = newSpace();
holdForStartup();
if (${worker}) {
  const w = new Worker('setTimeout(() => {}, 100)', { eval: true });
  await new Promise((r) => w.once('online', r));
  await new Promise((r) => setTimeout(r, 50));
}
for (let k = 0; k < 20000; k++) hot(a);
retain();
const seen = { held: heldForStartup() ?? null, tierHeld: status(hot), newStart, newHeld: newSpace() };
releaseAfterStartup();
for (let k = 0; k < 20000; k++) hot(a);
retain();
console.log(JSON.stringify({ ...seen, after: heldForStartup() ?? null, tierReleased: status(hot), newReleased: newSpace() }));
`,
  );
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--allow-natives-syntax', ...nodeFlags, '--import', 'tsx', script], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  const seen = JSON.parse(out) as Seen;
  expect(seen.after).toBeNull();
  return seen;
}

describe('V8 settings held during start-up', () => {
  it('while held nothing is optimized and the young generation stays small; released, both behave as usual', async () => {
    const s = await probe([]);
    expect(s.held).toEqual({ tiering: true, growth: true });
    expect(s.tierHeld & TURBOFANNED).toBe(0);
    expect(s.tierHeld & BASELINE, 'no Sparkplug code while held').toBe(0);
    expect(s.tierReleased & TURBOFANNED).toBe(TURBOFANNED);
    // held: at most both semi-spaces of the initial size committed; released: grown several times over
    expect(s.newHeld).toBeLessThanOrEqual(2 * s.newStart);
    expect(s.newReleased).toBeGreaterThan(4 * s.newHeld);
  }, 60_000);

  it("leaves a user's own --no-opt and --semi-space-growth-factor alone", async () => {
    const s = await probe(['--no-opt', '--semi-space-growth-factor=3']);
    expect(s.held).toEqual({ tiering: false, growth: false });
    expect(s.tierHeld & TURBOFANNED).toBe(0);
    expect(s.tierReleased & TURBOFANNED).toBe(0);
    // the user's factor applies while "held" too: the young generation grows
    expect(s.newHeld).toBeGreaterThan(2 * s.newStart);
  }, 60_000);

  it('a worker thread started while held (V8 resets the growth factor when it configures its heap) does not undo the hold', async () => {
    const s = await probe([], true);
    expect(s.newHeld).toBeLessThanOrEqual(2 * s.newStart);
    expect(s.newReleased).toBeGreaterThan(4 * s.newHeld);
  }, 60_000);

  it('a worker thread booting while this thread keeps allocating (V8 resets the factor before the worker is online) does not undo the hold', async () => {
    // a worker thread (a hooks thread, a library's) boots beside start-up's module loading: allocation goes on, with event-loop turns,
    // until the worker is online
    const s = await run(`
holdForStartup();
const newStart = newSpace();
const w = new Worker('setTimeout(() => {}, 100)', { eval: true });
let online = false;
w.once('online', () => (online = true));
let chunks = 0;
while (!online || chunks < 20) {
  for (let i = 0; i < 20000; i++) keep.push({ i, s: 'x' + i });
  chunks++;
  await new Promise((r) => setTimeout(r, 1));
}
console.log(JSON.stringify({ newStart, newHeld: newSpace(), chunks }));
releaseAfterStartup();
`);
    expect(s.chunks).toBeGreaterThanOrEqual(20);
    expect(s.newHeld).toBeLessThanOrEqual(2 * (s.newStart as number));
  }, 60_000);

  it('capYoungGeneration keeps the young generation within its cap under allocation, and lifts it again', async () => {
    const s = await run(`
// in turns of ~2,000 retained objects (about what a request of 100 spans leaves behind): the cap is checked
// after each collection, a turn later
const grow = async () => {
  for (let c = 0; c < 600; c++) {
    for (let i = 0; i < 2000; i++) keep.push({ i, s: 'x' + i });
    await new Promise((r) => setImmediate(r));
  }
  return newSpace();
};
const capped = capYoungGeneration(4);
const newCapped = await grow();
uncapYoungGeneration();
const newUncapped = await grow();
console.log(JSON.stringify({ capped, newCapped, newUncapped }));
`);
    expect(s.capped).toBe(true);
    // within the cap, or one growth step past it: the cap is checked after each collection, a loop turn later, so
    // a loop slowed by a busy machine can let V8 double the young generation once before the check (documented in
    // src/startup-v8.ts; seen once in CI at 8 MiB); uncapped, V8 grows it past 8 MiB (below)
    expect(s.newCapped).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(s.newCapped).toBeGreaterThan(2 * 1024 * 1024);
    // V8's own growth goes past it
    expect(s.newUncapped as number).toBeGreaterThan(8 * 1024 * 1024);
  }, 60_000);

  it("does not cap when the user sized the young generation, nor while start-up holds the factor", async () => {
    const user = await run(`console.log(JSON.stringify({ capped: capYoungGeneration(4) }));`, ['--max-semi-space-size=8']);
    expect(user.capped).toBe(false);
    const heldNow = await run(`holdForStartup(); console.log(JSON.stringify({ capped: capYoungGeneration(4) })); releaseAfterStartup();`);
    expect(heldNow.capped).toBe(false);
  }, 60_000);
});

/** Runs `body` (an ES module's top-level code) in a fresh node with startup-v8's exports, `newSpace()`, `keep` and `Worker` in scope; returns the JSON it printed. */
async function run(body: string, nodeFlags: string[] = []): Promise<Record<string, number | boolean>> {
  const dir = tempDir('startup-v8-');
  const script = path.join(dir, 'run.mts');
  fs.writeFileSync(
    script,
    `import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { holdForStartup, releaseAfterStartup, capYoungGeneration, uncapYoungGeneration } from ${JSON.stringify(path.join(root, 'src/startup-v8.ts'))};
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
const keep = [];
${body}
`,
  );
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [...nodeFlags, '--import', 'tsx', script], { cwd: root, timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
  return JSON.parse(out) as Record<string, number | boolean>;
}
