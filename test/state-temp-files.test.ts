/**
 * A kill -9 in the middle of a state-file save leaves its temp file (`<file>.<pid>.<n>.tmp`) beside the file.
 * Before, nothing removed them: every crash during a save kept one for ever, on the disk whose space is short on
 * a bad disk day. Each loader of a state file now removes them before its first read (once per process), and
 * leaves every other file alone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { SilenceStore } from '../src/silence-store.ts';
import { configFor, tempDir, testSettings } from './helpers/index.ts';
import { STATEFUL_COMPONENTS } from './helpers/stateful-components.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Leaves what a save killed half-way leaves (two temp files, one of another pid), and a file that is not one. */
function crashLeftovers(file: string): { temps: string[]; other: string } {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temps = [`${file}.4242.7.tmp`, `${file}.${process.pid}.1.tmp`];
  for (const t of temps) fs.writeFileSync(t, '{"half":');
  const other = `${file}.backup.tmp`;
  fs.writeFileSync(other, 'mine');
  return { temps, other };
}

describe('temp files of a state-file save cut by a crash', () => {
  const components = STATEFUL_COMPONENTS;
  it.each(components)('%s: removed at start, other files kept', async (id, factory, kind, raw, rel) => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const { temps, other } = crashLeftovers(path.join(dir, rel));
    const c = factory.create(testSettings(kind, id, { stateDir: dir }), configFor(factory, raw)) as unknown as { start(): Promise<void>; shutdown(): Promise<void> };
    await c.start();
    cleanup.push(() => c.shutdown());
    for (const t of temps) expect(fs.existsSync(t), t).toBe(false);
    expect(fs.readFileSync(other, 'utf8')).toBe('mine');
  });

  it('silences: removed at open, other files kept', () => {
    const dir = tempDir();
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const { temps, other } = crashLeftovers(path.join(dir, 'silences.json'));
    SilenceStore.open(dir);
    for (const t of temps) expect(fs.existsSync(t), t).toBe(false);
    expect(fs.readFileSync(other, 'utf8')).toBe('mine');
  });
});
