/**
 * A queue folder deleted under a running vigil (a clean-up job, an operator's rm -rf): the segment being
 * written has no link left, so writes to it still "work" but nothing of them comes back after a restart.
 * The queue must notice, write every live entry anew in a folder made again, and acknowledge nothing that is
 * not on disk; when the folder cannot be made again, appends are refused (retryable) until it can.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DiskQueue } from '../src/delivery/disk-queue.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-dq-deleted-'));
  dirs.push(d);
  return d;
}

describe('disk queue: its folder deleted while running', () => {
  it('every acknowledged entry, before and after the delete, comes back after a kill -9; removed ones do not', async () => {
    const qdir = path.join(tmp(), 'queue');
    const q = await DiskQueue.open<{ n: number }>(qdir, { segmentBytes: 200, doneFlushMs: 1 });
    for (let n = 1; n <= 3; n++) await q.append([{ item: { n }, severity: 0 }]);
    fs.rmSync(qdir, { recursive: true, force: true });
    for (let n = 4; n <= 9; n++) await q.append([{ item: { n }, severity: 0 }]);
    q.remove(2);
    q.remove(5);
    await q.append([{ item: { n: 10 }, severity: 0 }]);
    expect(q.writeError).toBeUndefined();
    expect(q.stats.rewrites).toBeGreaterThan(0);
    // no close: as a kill -9 leaves it
    const again = await DiskQueue.open<{ n: number }>(qdir);
    expect([...again.values()].map((e) => e.item.n)).toEqual([1, 3, 4, 6, 7, 8, 9, 10]);
    await again.close();
    await q.close();
  });

  it('with many segments and a compaction of a stuck head under way, nothing live is lost', async () => {
    const qdir = path.join(tmp(), 'queue');
    const q = await DiskQueue.open<{ n: number }>(qdir, { segmentBytes: 120, doneFlushMs: 1 });
    await q.append([{ item: { n: 0 }, severity: 0 }]); // the stuck head
    for (let n = 1; n <= 40; n++) {
      const [e] = await q.append([{ item: { n }, severity: 0 }]);
      if (n % 5) q.remove(e!.id);
      if (n === 30) fs.rmSync(qdir, { recursive: true, force: true });
    }
    await q.append([{ item: { n: 41 }, severity: 0 }]);
    const expected = [...q.values()].map((e) => e.item.n);
    expect(expected).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 41]);
    const again = await DiskQueue.open<{ n: number }>(qdir);
    expect([...again.values()].map((e) => e.item.n)).toEqual(expected);
    await again.close();
    await q.close();
  });

  it('when the folder cannot be made again, appends are refused with why, and all is written once it can', async () => {
    const qdir = path.join(tmp(), 'queue');
    const q = await DiskQueue.open<{ n: number }>(qdir, { probeMs: 5 });
    await q.append([{ item: { n: 1 }, severity: 0 }]);
    fs.rmSync(qdir, { recursive: true, force: true });
    fs.writeFileSync(qdir, 'not a folder'); // mkdir fails (EEXIST / ENOTDIR)
    let refused = 0;
    for (let n = 2; n <= 4; n++) await q.append([{ item: { n }, severity: 0 }]).catch(() => refused++);
    expect(refused).toBe(3);
    expect(q.writeError?.message).toContain(qdir);
    expect(q.size).toBe(1);
    fs.rmSync(qdir);
    await q.append([{ item: { n: 5 }, severity: 0 }]);
    expect(q.writeError).toBeUndefined();
    const again = await DiskQueue.open<{ n: number }>(qdir);
    expect([...again.values()].map((e) => e.item.n)).toEqual([1, 5]);
    await again.close();
    await q.close();
  });
});
