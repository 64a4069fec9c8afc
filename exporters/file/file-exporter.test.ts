/**
 * The file exporter's pipelined commits (issue 21): a write of the batches that arrive while an fdatasync
 * is in flight, acknowledgement only by an fdatasync that covers the batch, a failed fdatasync refusing
 * exactly the batches it covers, rotation while commits are in flight, and `interval` syncing while writes
 * never stop. The file is real (a temp folder); between the exporter and the disk sits `HeldDisk`, which
 * calls the real writev/fdatasync but can hold an fdatasync until the test releases it, or fail it with
 * EIO (a failing disk cannot be had on demand: it is the one thing mocked).
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Batch } from '../../src/model.ts';
import { silentLogger } from '../../src/logger.ts';
import { parseOtlpJson } from '../../src/otlp/json.ts';
import { otlpJsonBytes } from '../../src/otlp/json-text.ts';
import { ServiceTelemetry } from '../../src/telemetry.ts';
import { configFor, tempDir, waitFor } from '../../test/helpers/index.ts';
import { makeAlert, makeNotification } from '../../test/doubles/alerts.ts';
import { fileExporterFactory } from './index.ts';
import { FileExporter, type FileIo, nodeFileIo } from './file-exporter.ts';

const ID = 'file/t';
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** One fdatasync call as the disk saw it: the file (inode) and its size when the call started. */
interface SyncCall {
  ino: number;
  size: number;
  /** Lets a held call go on (to the real fdatasync), or fails it with `err`. */
  release(err?: NodeJS.ErrnoException): void;
  settled: boolean;
}

/** Real writev/fdatasync, with fdatasync calls held (while `hold`) until the test releases them. */
class HeldDisk implements FileIo {
  hold = false;
  readonly syncs: SyncCall[] = [];
  /** Writes in flight while an fdatasync was in flight (the pipelining itself). */
  writesDuringSync = 0;
  private syncsInFlight = 0;

  /** The next writev writes part of its bytes, then the one after fails with ENOSPC (a disk that fills up). */
  fillUp = false;

  async writev(fd: number, bufs: Buffer[]): Promise<number> {
    if (this.syncsInFlight) this.writesDuringSync++;
    if (this.fillUp) {
      this.fillUp = false;
      this.full = true;
      return nodeFileIo.writev(fd, [bufs[0]!.subarray(0, Math.max(1, bufs[0]!.length >> 1))]);
    }
    if (this.full) {
      this.full = false;
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    }
    return nodeFileIo.writev(fd, bufs);
  }
  private full = false;

  async fdatasync(fd: number): Promise<void> {
    const st = fs.fstatSync(fd);
    let release!: (err?: NodeJS.ErrnoException) => void;
    const gate = new Promise<NodeJS.ErrnoException | undefined>((r) => (release = r));
    const call: SyncCall = { ino: st.ino, size: st.size, release: (err) => release(err), settled: false };
    this.syncs.push(call);
    this.syncsInFlight++;
    try {
      const err = this.hold ? await gate : undefined;
      if (err) throw err;
      await nodeFileIo.fdatasync(fd);
    } finally {
      this.syncsInFlight--;
      call.settled = true;
    }
  }

  /** The held calls not yet released. */
  pending(): SyncCall[] {
    return this.syncs.filter((s) => !s.settled);
  }
}

function eio(): NodeJS.ErrnoException {
  return Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' });
}

async function setup(raw: Record<string, unknown>, disk = new HeldDisk()) {
  const d = tempDir();
  cleanup.push(() => fs.rmSync(d, { recursive: true, force: true }));
  const file = path.join(d, 'out.jsonl');
  const telemetry = new ServiceTelemetry();
  const config = configFor(fileExporterFactory, { path: file, signals: ['alerts'], ...raw });
  const exp = new FileExporter(ID, config, silentLogger(), telemetry.forComponent('exporter', ID), disk);
  await exp.start();
  cleanup.push(async () => {
    disk.hold = false;
    for (const s of disk.pending()) s.release();
    await exp.shutdown();
  });
  return { exp, file, disk };
}

/** A batch of one alert line, told apart by `i` (about `pad` bytes more when asked). */
function batch(i: number, pad = 0) {
  const a = makeAlert({ alertname: 'Seq', severity: 'info', i: String(i) }, pad ? { annotations: { pad: 'x'.repeat(pad) } } : {});
  return { alerts: [makeNotification([ID], { alerts: [a] })] };
}

const seqOf = (text: string): number[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => Number((JSON.parse(l) as { alert: { labels: { i: string } } }).alert.labels.i));

/** consume() with its outcome readable at any time. */
function track(p: Promise<void>) {
  const t = { done: false, error: undefined as Error | undefined };
  p.then(
    () => (t.done = true),
    (e: Error) => ((t.done = true), (t.error = e)),
  );
  return t;
}

describe('file exporter: pipelined commits (fsync: batch)', () => {
  it('writes the batches that arrive while an fdatasync is in flight, and acknowledges them only by a later fdatasync that covers them', async () => {
    const { exp, file, disk } = await setup({});
    disk.hold = true;
    const a = track(exp.consume(batch(0)));
    await waitFor(() => disk.pending().length === 1, 5000, 'the fdatasync of batch 0');
    const first = disk.pending()[0]!;
    // Batches 1..4 arrive while batch 0's fdatasync is held: they are written now, not after it.
    const later = [1, 2, 3, 4].map((i) => track(exp.consume(batch(i))));
    await waitFor(() => seqOf(fs.readFileSync(file, 'utf8')).length === 5, 5000, 'batches 1..4 written');
    expect(seqOf(fs.readFileSync(file, 'utf8'))).toEqual([0, 1, 2, 3, 4]);
    expect(disk.writesDuringSync).toBeGreaterThan(0);
    expect(first.size).toBe(fs.readFileSync(file).indexOf('\n') + 1); // it covers batch 0 only
    expect(a.done || later.some((t) => t.done)).toBe(false);

    // The first fdatasync returns: batch 0 is acknowledged, 1..4 are not (written after it started).
    first.release();
    await waitFor(() => a.done, 5000, 'batch 0 acknowledged');
    expect(a.error).toBeUndefined();
    await waitFor(() => disk.pending().length === 1, 5000, 'the fdatasync of batches 1..4');
    expect(later.some((t) => t.done)).toBe(false);
    const second = disk.pending()[0]!;
    expect(second.size).toBe(fs.statSync(file).size); // it covers everything written
    second.release();
    await waitFor(() => later.every((t) => t.done), 5000, 'batches 1..4 acknowledged');
    expect(later.map((t) => t.error)).toEqual([undefined, undefined, undefined, undefined]);
    expect(disk.syncs).toHaveLength(2); // one fdatasync for the four
  });

  it('keeps arrival order in the file across many overlapping commits', async () => {
    const { exp, file, disk } = await setup({});
    // Each fdatasync is held a little while, so that writes and syncs overlap in every arrangement.
    disk.hold = true;
    const releaser = setInterval(() => {
      for (const s of disk.pending()) s.release();
    }, 2);
    cleanup.push(() => clearInterval(releaser));
    const N = 300;
    const all: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      all.push(exp.consume(batch(i, (i * 37) % 500)));
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(seqOf(fs.readFileSync(file, 'utf8'))).toEqual(Array.from({ length: N }, (_, i) => i));
    expect(disk.writesDuringSync).toBeGreaterThan(0);
    expect(disk.syncs.length).toBeLessThan(N); // grouped
    // Every byte acknowledged was covered by a completed fdatasync of this file.
    expect(Math.max(...disk.syncs.map((s) => s.size))).toBe(fs.statSync(file).size);
  });

  it('a failed fdatasync refuses exactly the batches it covers; those written after it are written again and acknowledged', async () => {
    const { exp, file, disk } = await setup({});
    await exp.consume(batch(0)); // acknowledged before: must stay
    disk.hold = true;
    const one = track(exp.consume(batch(1)));
    await waitFor(() => disk.pending().length === 1, 5000, 'the fdatasync of batch 1');
    // 2 and 3 are written while batch 1's fdatasync is held: the next call covers both.
    const covered = [2, 3].map((i) => track(exp.consume(batch(i))));
    await waitFor(() => seqOf(fs.readFileSync(file, 'utf8')).length === 4, 5000, 'batches 2, 3 written');
    disk.pending()[0]!.release();
    await waitFor(() => one.done && disk.pending().length === 1, 5000, 'batch 1 acknowledged, the fdatasync of 2, 3');
    const failing = disk.pending()[0]!;
    expect(failing.size).toBe(fs.statSync(file).size);
    // 4..6 are written while the fdatasync of 2, 3 is held.
    const after = [4, 5, 6].map((i) => track(exp.consume(batch(i))));
    await waitFor(() => seqOf(fs.readFileSync(file, 'utf8')).length === 7, 5000, 'batches 4..6 written');

    failing.release(eio());
    await waitFor(() => covered.every((t) => t.done), 5000, 'batches 2, 3 refused');
    for (const t of covered) {
      expect(t.error?.message).toMatch(/cannot write .*out\.jsonl: EIO.*\(EIO\).*cut back/);
      expect((t.error as { permanent?: boolean }).permanent).toBe(false); // retryable
    }
    expect(one.error).toBeUndefined();
    // 4..6 are not refused with them: cut off the file with 2, 3, written again, synced by a new call.
    await waitFor(() => disk.pending().length === 1, 5000, 'the fdatasync of the rewrite');
    expect(after.some((t) => t.done)).toBe(false);
    expect(seqOf(fs.readFileSync(file, 'utf8'))).toEqual([0, 1, 4, 5, 6]);
    disk.hold = false;
    disk.pending()[0]!.release();
    await waitFor(() => after.every((t) => t.done), 5000, 'batches 4..6 acknowledged');
    expect(after.map((t) => t.error)).toEqual([undefined, undefined, undefined]);
    // A retry of the refused ones lands after them, once each.
    await exp.consume(batch(2));
    await exp.consume(batch(3));
    expect(seqOf(fs.readFileSync(file, 'utf8'))).toEqual([0, 1, 4, 5, 6, 2, 3]);
  });

  it('a write that fails while an fdatasync is in flight refuses its own batch only; the batch that fdatasync covers is acknowledged', async () => {
    const { exp, file, disk } = await setup({});
    disk.hold = true;
    const zero = track(exp.consume(batch(0)));
    await waitFor(() => disk.pending().length === 1, 5000, 'the fdatasync of batch 0');
    const one = track(exp.consume(batch(1)));
    await waitFor(() => seqOf(fs.readFileSync(file, 'utf8')).length === 2, 5000, 'batch 1 written');
    disk.pending()[0]!.release();
    await waitFor(() => zero.done && disk.pending().length === 1, 5000, 'batch 0 acknowledged, the fdatasync of batch 1 held');
    const held = disk.pending()[0]!;
    const sizeBefore = fs.statSync(file).size;
    expect(held.size).toBe(sizeBefore);
    disk.fillUp = true; // half of batch 2 goes in, then ENOSPC
    const two = track(exp.consume(batch(2, 3000)));
    await waitFor(() => two.done, 5000, 'batch 2 refused');
    expect(two.error?.message).toMatch(/no space left on device \(ENOSPC\).*cut back/);
    expect(fs.statSync(file).size).toBe(sizeBefore); // cut back to the lines before it
    expect(one.done).toBe(false); // still waiting for its fdatasync
    disk.hold = false;
    held.release();
    await waitFor(() => one.done, 5000, 'batch 1 acknowledged');
    expect([zero.error, one.error]).toEqual([undefined, undefined]);
    await exp.consume(batch(3));
    expect(seqOf(fs.readFileSync(file, 'utf8'))).toEqual([0, 1, 3]);
  });

  it('rotates while commits are in flight: every line once, in order, each rotated file synced whole before it was closed', async () => {
    // ~1 KiB lines, files of 8 KiB: a rotation every few groups.
    const { exp, file, disk } = await setup({ max_megabytes: 8 / 1024, max_backups: 1000 });
    disk.hold = true;
    const releaser = setInterval(() => {
      for (const s of disk.pending()) s.release();
    }, 1);
    cleanup.push(() => clearInterval(releaser));
    const N = 200;
    const all: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      all.push(exp.consume(batch(i, 700)));
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    await exp.shutdown();
    const dir = path.dirname(file);
    const backups = fs
      .readdirSync(dir)
      .filter((n) => n.startsWith('out.jsonl.'))
      .map((n) => Number(n.slice('out.jsonl.'.length)))
      .sort((x, y) => y - x); // oldest first
    expect(backups.length).toBeGreaterThan(10);
    const files = [...backups.map((n) => `${file}.${n}`), file];
    const seq: number[] = [];
    for (const f of files) {
      const st = fs.statSync(f);
      expect(st.size).toBeLessThanOrEqual(8 * 1024);
      seq.push(...seqOf(fs.readFileSync(f, 'utf8')));
      if (f === file) continue; // the current one is synced by shutdown (fsync)
      // Closed at rotation: an fdatasync of its whole size had completed.
      const synced = disk.syncs.filter((s) => s.ino === st.ino && s.settled).map((s) => s.size);
      expect(Math.max(0, ...synced), f).toBe(st.size);
    }
    expect(seq).toEqual(Array.from({ length: N }, (_, i) => i));
  });
});

describe('file exporter: OTLP lines encoded into pooled buffers', () => {
  const trace = fs.readFileSync(new URL('../../test/fixtures/otlp-examples/trace.json', import.meta.url), 'utf8');
  /** The example trace with its span names made unique (`span-<i>`), so each line tells its batch. */
  const traces = (i: number) => parseOtlpJson('traces', trace.replace(/"name":\s*"([^"]*)"/g, `"name": "$1-${i}"`));
  const expected = (batches: Batch[]) => Buffer.concat(batches.map((b) => otlpJsonBytes(b, 'traces', true))).toString('utf8');

  it('each line is its own batch, whole, when buffers are reused under overlapping commits and a failed fdatasync', async () => {
    const { exp, file, disk } = await setup({ signals: ['traces'] });
    const ok: Batch[] = [];
    // Overlapping commits: every fdatasync held a little, 120 batches in flight in waves.
    disk.hold = true;
    const releaser = setInterval(() => {
      for (const s of disk.pending()) s.release();
    }, 2);
    cleanup.push(() => clearInterval(releaser));
    for (let wave = 0; wave < 6; wave++) {
      const batches = Array.from({ length: 20 }, (_, j) => traces(wave * 20 + j));
      await Promise.all(batches.map((b) => exp.consume(b)));
      ok.push(...batches);
    }
    clearInterval(releaser);
    // A failed fdatasync: the batches written after it are written again from their (not yet reused) buffers.
    const a = traces(1000);
    const pa = track(exp.consume(a));
    await waitFor(() => disk.pending().length === 1, 5000, 'the fdatasync of batch 1000');
    const first = disk.pending()[0]!;
    const b = [traces(1001), traces(1002)];
    const pb = b.map((x) => track(exp.consume(x)));
    await waitFor(() => fs.statSync(file).size === Buffer.byteLength(expected([...ok, a, ...b])), 5000, 'batches 1001, 1002 written');
    first.release(eio());
    await waitFor(() => pa.done && disk.pending().length === 1, 5000, 'batch 1000 refused, the rewrite synced');
    expect(pa.error?.message).toMatch(/EIO/);
    // New batches encoded meanwhile take buffers from the pool: they must not be the rewritten ones'.
    const c = [traces(1003), traces(1004)];
    const pc = c.map((x) => track(exp.consume(x)));
    disk.hold = false;
    for (const s of disk.pending()) s.release();
    await waitFor(() => [...pb, ...pc].every((t) => t.done), 5000, 'batches 1001..1004 acknowledged');
    expect([...pb, ...pc].map((t) => t.error)).toEqual([undefined, undefined, undefined, undefined]);
    expect(fs.readFileSync(file, 'utf8')).toBe(expected([...ok, ...b, ...c]));
    // Nothing in flight: the pool keeps two buffers.
    expect((exp as unknown as { spares: unknown[] }).spares.length).toBeLessThanOrEqual(2);
  });
});

describe('file exporter: fsync interval', () => {
  it('syncs every interval while writes never stop, and acknowledges each batch once written', async () => {
    const { exp, file, disk } = await setup({ fsync: 'interval', fsync_interval: '20ms' });
    disk.hold = true; // no acknowledgement may wait for an fdatasync
    const until = performance.now() + 300;
    let i = 0;
    const writers = Array.from({ length: 4 }, async () => {
      while (performance.now() < until) await exp.consume(batch(i++, 2000));
    });
    await Promise.all(writers);
    expect(disk.syncs.length).toBeGreaterThan(0); // the writes never paused, the interval synced anyway
    expect(disk.pending().length).toBeLessThanOrEqual(1); // one call at a time
    disk.hold = false;
    for (const s of disk.pending()) s.release();
    expect(seqOf(fs.readFileSync(file, 'utf8'))).toEqual(Array.from({ length: i }, (_, k) => k));
  });
});

describe('file exporter: the output file deleted while open', () => {
  it.each([['batch'], ['none']])('fsync %s: every batch acknowledged after the delete is in the new file at the path (folder made again)', async (fsync) => {
    const { exp, file } = await setup({ fsync });
    await exp.consume(batch(0));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    for (let i = 1; i <= 3; i++) await exp.consume(batch(i));
    expect(seqOf(fs.readFileSync(file, 'utf8'))).toEqual([1, 2, 3]);
    fs.rmSync(file);
    await Promise.all([4, 5, 6].map((i) => exp.consume(batch(i))));
    expect(seqOf(fs.readFileSync(file, 'utf8'))).toEqual([4, 5, 6]);
  });
});
