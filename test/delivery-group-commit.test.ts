/**
 * Group commit in the on-disk delivery queue, checked by counting system-call level work (not by timing):
 * appends that arrive together share one write and one fdatasync, DONE records are batched, and what a
 * crash (no close) leaves on disk still holds every un-acknowledged entry. The counts come from spies on
 * Node's own FileHandle methods (the calls the queue really makes) and are checked against the queue's
 * own counters, which bench/delivery.ts prints.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DiskQueue } from '../src/delivery/disk-queue.ts';
import { webhookExporterFactory } from '../exporters/webhook/index.ts';
import type { NotificationExporter } from '../src/delivery/notification-exporter.ts';
import { configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';
import { WebhookReceiver } from './doubles/webhook-receiver.ts';

/** Counts the FileHandle calls made from now on (the prototype is shared by every handle). */
async function fileHandleSpies() {
  const probe = await fsp.open(path.join(os.tmpdir(), `vigil-fh-probe-${process.pid}`), 'w');
  const proto = Object.getPrototypeOf(probe) as { write: unknown; writev: unknown; datasync: unknown; sync: unknown };
  await probe.close();
  fs.rmSync(path.join(os.tmpdir(), `vigil-fh-probe-${process.pid}`), { force: true });
  return {
    write: vi.spyOn(proto as { write: (...a: unknown[]) => unknown }, 'write'),
    writev: vi.spyOn(proto as { writev: (...a: unknown[]) => unknown }, 'writev'),
    datasync: vi.spyOn(proto as { datasync: () => unknown }, 'datasync'),
    sync: vi.spyOn(proto as { sync: () => unknown }, 'sync'),
  };
}

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('disk queue group commit (counts, not timings)', () => {
  it('N appends issued together share a handful of writes and fdatasyncs, and each resolves only once synced', async () => {
    const d = tempDir();
    dirs.push(d);
    const q = await DiskQueue.open<{ n: number }>(d);
    const spies = await fileHandleSpies();
    const N = 500;
    const synced: number[] = [];
    const all = Array.from({ length: N }, (_, n) =>
      q.append([{ item: { n }, severity: 1 }]).then((es) => {
        // resolved: an fdatasync has completed after its record was written
        synced.push(spies.datasync.mock.calls.length);
        return es[0]!;
      }),
    );
    const entries = await Promise.all(all);
    const fsyncs = spies.datasync.mock.calls.length + spies.sync.mock.calls.length;
    const writes = spies.write.mock.calls.length + spies.writev.mock.calls.length;
    // issued in one synchronous run: all in the first write, one fdatasync
    expect(fsyncs).toBe(1);
    expect(writes).toBe(1);
    expect(synced.every((c) => c >= 1)).toBe(true);
    expect(q.stats).toMatchObject({ fsyncs, writes });
    expect(entries.map((e) => e.item.n)).toEqual(Array.from({ length: N }, (_, n) => n));

    // N removals, one per event-loop turn (as deliveries finish): no write of their own, no fdatasync;
    // they wait for the shared timer (default 20 ms)
    spies.write.mockClear();
    spies.datasync.mockClear();
    for (const e of entries.slice(0, N / 2)) {
      q.remove(e.id);
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => q.waitingDone === 0, 5000, 'DONE records written by the timer');
    expect(spies.datasync).not.toHaveBeenCalled();
    // each write took many DONE records (a write per removal would be N / 2)
    expect(spies.write.mock.calls.length).toBeLessThan(N / 20);
    expect(q.stats.dones).toBe(N / 2);
    await q.close();

    // with a long timer, DONE records ride along with the next ENTRY write: one write, one fdatasync
    const q2 = await DiskQueue.open<{ n: number }>(d, { doneFlushMs: 60_000 });
    const live = [...q2.values()];
    expect(live.length).toBe(N / 2);
    spies.write.mockClear();
    spies.datasync.mockClear();
    for (const e of live) {
      q2.remove(e.id);
      await new Promise((r) => setImmediate(r));
    }
    expect(spies.write).not.toHaveBeenCalled();
    expect(q2.waitingDone).toBe(N / 2);
    await q2.append([{ item: { n: -1 }, severity: 1 }]);
    expect(spies.write).toHaveBeenCalledTimes(1);
    expect(spies.datasync).toHaveBeenCalledTimes(1);
    // no close (as a kill -9 leaves it): every DONE is on disk, only the new entry comes back
    const again = await DiskQueue.open<{ n: number }>(d);
    expect([...again.values()].map((e) => e.item.n)).toEqual([-1]);
    await again.close();
    await q2.close();
  });

  it('a crash before the DONE records are written brings those entries back (at least once), never loses a live one', async () => {
    const d = tempDir();
    dirs.push(d);
    const q = await DiskQueue.open<{ n: number }>(d, { doneFlushMs: 60_000 });
    const es = await Promise.all([1, 2, 3, 4].map((n) => q.append([{ item: { n }, severity: 1 }])));
    q.remove(es[0]![0]!.id);
    q.remove(es[1]![0]!.id);
    expect(q.waitingDone).toBe(2);
    // "crash": read the folder as it is, without close
    const afterCrash = await DiskQueue.open<{ n: number }>(d);
    expect([...afterCrash.values()].map((e) => e.item.n)).toEqual([1, 2, 3, 4]);
    await afterCrash.close();
    // an ENTRY write takes waiting DONE records along (no write of their own)
    await q.append([{ item: { n: 5 }, severity: 1 }]);
    expect(q.waitingDone).toBe(0);
    const afterSecond = await DiskQueue.open<{ n: number }>(d);
    expect([...afterSecond.values()].map((e) => e.item.n)).toEqual([3, 4, 5]);
    await afterSecond.close();
    await q.close();
  });
});

describe('webhook exporter: notifications consumed together share fdatasyncs', () => {
  it('1,000 concurrent consume() calls: every one delivered, fdatasyncs and writes far below 1,000', async () => {
    const hook = await new WebhookReceiver().start();
    const stateDir = tempDir();
    dirs.push(stateDir);
    const exp = webhookExporterFactory.create(
      testSettings('exporter', 'webhook/gc', { stateDir }),
      configFor(webhookExporterFactory, { url: `${hook.url}/hook`, sending_queue: { num_consumers: 16 } }),
    ) as unknown as NotificationExporter;
    await exp.start({ reportFatal: () => undefined });
    try {
      const spies = await fileHandleSpies();
      const N = 1000;
      await Promise.all(
        Array.from({ length: N }, (_, i) =>
          exp.consume({ alerts: [makeNotification(['webhook/gc'], { groupKey: `{}:{n="${i}"}`, alerts: [makeAlert({ alertname: 'GC', n: String(i) })] })] }),
        ),
      );
      await waitFor(() => hook.accepted.length >= N, 30_000, `${N} webhooks`);
      await waitFor(() => exp.delivery!.size === 0, 5000, 'queue empty');
      const st = exp.delivery!.diskStats!;
      expect(new Set(hook.payloads<{ groupKey: string }>().map((p) => p.groupKey)).size).toBe(N);
      
      const fsyncs = spies.datasync.mock.calls.length;
      expect(fsyncs).toBe(st.fsyncs);
      expect(fsyncs).toBeLessThanOrEqual(5);
      // ENTRY writes plus batched DONE writes: far fewer than one per record (2 per notification unbatched)
      expect(spies.write.mock.calls.length + spies.writev.mock.calls.length).toBeLessThan(N / 4);
      expect(st.dones).toBe(N);
    } finally {
      await exp.shutdown();
      await hook.close();
    }
  }, 60_000);
});
