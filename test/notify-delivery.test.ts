import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { backoffDelay, parseRetryAfter } from '../src/delivery/backoff.ts';
import { type DeliveryOptions } from '../src/delivery/config.ts';
import { DeliveryQueue } from '../src/delivery/delivery-queue.ts';
import { DiskQueue } from '../src/delivery/disk-queue.ts';
import { notificationRank } from '../src/delivery/severity.ts';
import { TimerHeap } from '../src/delivery/timer-heap.ts';
import { ConsumerError, permanentError, retryableError } from '../src/errors.ts';
import type { AlertNotification } from '../src/model.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { silentLogger } from '../src/logger.ts';
import { recordingLogger, tempDir } from './helpers/index.ts';
import { makeAlert, makeNotification } from './doubles/alerts.ts';

const policy = { initialIntervalMs: 1000, maxIntervalMs: 30_000, multiplier: 2, randomizationFactor: 0.5 };

describe('backoff', () => {
  it('grows exponentially and is capped at max_interval', () => {
    const mid = () => 0.5; // no jitter
    expect([1, 2, 3, 4, 5, 6, 7, 12].map((n) => backoffDelay(n, policy, mid))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('jitter stays within [w(1-f), min(w(1+f), max)]', () => {
    for (let retry = 1; retry <= 8; retry++) {
      const base = Math.min(1000 * 2 ** (retry - 1), 30_000);
      expect(backoffDelay(retry, policy, () => 0)).toBe(base * 0.5);
      expect(backoffDelay(retry, policy, () => 0.999999)).toBe(Math.min(Math.round(base * 1.499999), 30_000));
      for (let i = 0; i < 50; i++) {
        const d = backoffDelay(retry, policy);
        expect(d).toBeGreaterThanOrEqual(base * 0.5);
        expect(d).toBeLessThanOrEqual(Math.min(base * 1.5, 30_000));
      }
    }
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

const telemetry = new ServiceTelemetry();
let dirs: string[] = [];
const queues: DeliveryQueue<AlertNotification>[] = [];

function options(over: Partial<DeliveryOptions> = {}): DeliveryOptions {
  return {
    timeoutMs: 10_000,
    shutdownTimeoutMs: 5000,
    retryEnabled: true,
    initialIntervalMs: 1000,
    maxIntervalMs: 30_000,
    maxElapsedMs: 3_600_000,
    multiplier: 2,
    randomizationFactor: 0.5,
    maxItems: 100,
    maxBytes: 1 << 20,
    concurrency: 1,
    storage: 'disk',
    queueEnabled: true,
    minSendIntervalMs: 0,
    rateLimitKey: '',
    ...over,
  };
}

async function open(send: (n: AlertNotification, signal: AbortSignal) => Promise<void>, over: Partial<DeliveryOptions> = {}, dir?: string, logger = silentLogger()) {
  const d = dir ?? tempDir();
  if (!dir) dirs.push(d);
  const q = await DeliveryQueue.open<AlertNotification>({
    dir: d,
    id: 'webhook/test',
    options: options(over),
    logger,
    telemetry: telemetry.forComponent('exporter', 'webhook/test'),
    send,
    severity: notificationRank,
    itemCount: (n) => n.alerts.length,
    describe: (n) => ({ groupKey: n.groupKey }),
    rand: () => 0.5,
  });
  queues.push(q);
  return { q, dir: d, deadLetters: () => readDeadLetters(d) };
}

function readDeadLetters(d: string): { reason: string; attempts: number; notification: AlertNotification }[] {
  const f = path.join(d, 'dead-letter.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as never);
}

const notif = (severity: string, tag: string) =>
  makeNotification(['webhook/test'], { groupKey: tag, alerts: [makeAlert({ alertname: tag, severity })] });

async function waitForQ(pred: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !pred(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!pred()) throw new Error('timed out');
}


describe('TimerHeap', () => {
  it('pops in due order', () => {
    const h = new TimerHeap<number>();
    const dues = Array.from({ length: 200 }, (_, i) => (i * 7919) % 1000);
    dues.forEach((d, i) => h.push(i, d));
    const out: number[] = [];
    while (h.size) {
      const due = h.peekDue();
      const i = h.pop()!;
      expect(dues[i]).toBe(due);
      out.push(due);
    }
    expect(out).toEqual([...dues].sort((a, b) => a - b));
    expect(h.peekDue()).toBe(Infinity);
  });
});

describe('DeliveryQueue with a fake clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(Date.parse('2026-11-23T10:00:00Z'));
  });
  afterEach(async () => {
    vi.useRealTimers();
    for (const q of queues.splice(0)) await q.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  it('retries with growing backoff, then gives up after max_elapsed_time into the dead letter', async () => {
    const t0 = Date.now();
    const attempts: number[] = [];
    const { q, deadLetters } = await open(async () => {
      attempts.push(Date.now() - t0);
      throw retryableError('connection refused');
    }, { maxElapsedMs: 20_000 });
    await q.enqueue([notif('critical', 'g1')]);
    await vi.advanceTimersByTimeAsync(60_000);
    // 0, +1s, +2s, +4s, +8s: the next wait (16s) would pass 20s since the first attempt.
    expect(attempts).toEqual([0, 1000, 3000, 7000, 15_000]);
    const dl = deadLetters();
    expect(dl).toHaveLength(1);
    expect(dl[0]!.attempts).toBe(5);
    expect(dl[0]!.reason).toBe('gave up after 5 attempts: connection refused');
    expect(dl[0]!.notification.groupKey).toBe('g1');
    expect(q.size).toBe(0);
  });

  it('honours Retry-After instead of the backoff', async () => {
    const t0 = Date.now();
    const attempts: number[] = [];
    const { q } = await open(async () => {
      attempts.push(Date.now() - t0);
      if (attempts.length === 1) throw new ConsumerError('429', { permanent: false, retryAfterMs: 7000 });
    });
    await q.enqueue([notif('warning', 'g')]);
    await vi.advanceTimersByTimeAsync(6999);
    expect(attempts).toEqual([0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toEqual([0, 7000]);
    expect(q.stats().delivered).toBe(1);
  });

  it('backs off as usual when Retry-After says 0 (or a date already past), instead of retrying in a tight loop', async () => {
    const t0 = Date.now();
    const attempts: number[] = [];
    const { q } = await open(async () => {
      attempts.push(Date.now() - t0);
      if (attempts.length < 4) throw new ConsumerError('503', { permanent: false, retryAfterMs: 0 });
    });
    await q.enqueue([notif('warning', 'g')]);
    await vi.advanceTimersByTimeAsync(999);
    expect(attempts).toEqual([0]);
    await vi.advanceTimersByTimeAsync(10_000);
    // 0, then the backoff of the default options: +1s, +2s, +4s
    expect(attempts).toEqual([0, 1000, 3000, 7000]);
    expect(q.stats().delivered).toBe(1);
  });

  it('sends a permanent failure to the dead letter at once', async () => {
    let calls = 0;
    const { q, deadLetters } = await open(async () => {
      calls++;
      throw permanentError('400 invalid_payload');
    });
    await q.enqueue([notif('critical', 'bad')]);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(1);
    expect(deadLetters()[0]!.reason).toBe('permanent error: 400 invalid_payload');
  });

  it('reports its last deliveries and dead letters, newest first (the status page)', async () => {
    const { q, dir } = await open(async (n) => {
      if (n.groupKey === 'bad') throw permanentError('400 invalid_payload');
    });
    await q.enqueue([notif('warning', 'good')]);
    await vi.advanceTimersByTimeAsync(100);
    await q.enqueue([notif('critical', 'bad')]);
    await vi.advanceTimersByTimeAsync(100);
    const { records, deadLetterFile } = q.recent();
    expect(deadLetterFile).toBe(path.join(dir, 'dead-letter.jsonl'));
    expect(records.map((r) => [r.outcome, r.groupKey, r.alerts, r.attempts, r.reason])).toEqual([
      ['dead_letter', 'bad', 1, 1, 'permanent error: 400 invalid_payload'],
      ['delivered', 'good', 1, 1, undefined],
    ]);
  });

  it('times an attempt out (retryable) and keeps the rate limit', async () => {
    const t0 = Date.now();
    const starts: number[] = [];
    const { q } = await open(
      (_n, signal) => {
        starts.push(Date.now() - t0);
        if (starts.length === 1) return new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
        return Promise.resolve();
      },
      { timeoutMs: 500, minSendIntervalMs: 1000, concurrency: 4 },
    );
    await q.enqueue([notif('info', 'a'), notif('info', 'b'), notif('info', 'c')]);
    await vi.advanceTimersByTimeAsync(10_000);
    // a at 0 (times out at 500, retries after 1s backoff = 1500, but the rate limit allows one a second),
    // b at 1000, c at 2000, a again at 3000.
    expect(starts).toEqual([0, 1000, 2000, 3000]);
    expect(q.stats().delivered).toBe(3);
  });

  it('queues with the same rate-limit key share it', async () => {
    const t0 = Date.now();
    const starts: string[] = [];
    const send = async (n: AlertNotification) => void starts.push(`${n.groupKey}@${Date.now() - t0}`);
    const a = await open(send, { minSendIntervalMs: 1000, rateLimitKey: 'slack https://hooks.example/x' });
    const b = await open(send, { minSendIntervalMs: 1000, rateLimitKey: 'slack https://hooks.example/x' });
    await a.q.enqueue([notif('info', 'a1'), notif('info', 'a2')]);
    await b.q.enqueue([notif('info', 'b1')]);
    await vi.advanceTimersByTimeAsync(5000);
    const times = starts.map((s) => Number(s.split('@')[1])).sort((x, y) => x - y);
    expect(starts).toHaveLength(3);
    expect(times).toEqual([0, 1000, 2000]);
  });

  it('when full, drops the oldest of the lowest severity first and never a critical', async () => {
    const { q } = await open(async () => {
      throw retryableError('down');
    }, { maxItems: 4, concurrency: 1 });
    // Let the first one be attempted and wait for its retry, so nothing is in flight.
    await q.enqueue([notif('warning', 'w1')]);
    await vi.advanceTimersByTimeAsync(10);
    await q.enqueue([notif('info', 'i1'), notif('critical', 'c1'), notif('info', 'i2')]);
    const keys = () => [...(q as unknown as { store: DiskQueue<AlertNotification> }).store.values()].map((e) => e.item.groupKey);
    expect(keys()).toEqual(['w1', 'i1', 'c1', 'i2']);
    await q.enqueue([notif('error', 'e1')]); // drops i1 (info, oldest)
    expect(keys()).toEqual(['w1', 'c1', 'i2', 'e1']);
    await q.enqueue([notif('critical', 'c2')]); // drops i2
    await q.enqueue([notif('critical', 'c3')]); // drops w1
    await q.enqueue([notif('info', 'i3')]); // the new one is the least severe: it is dropped
    expect(keys()).toEqual(['c1', 'e1', 'c2', 'c3']);
    await q.enqueue([notif('critical', 'c4')]); // drops e1
    expect(keys()).toEqual(['c1', 'c2', 'c3', 'c4']);
    // Only criticals left: a new critical is refused, retryably, and nothing is dropped.
    await expect(q.enqueue([notif('critical', 'c5')])).rejects.toMatchObject({ permanent: false });
    expect(keys()).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(q.stats().dropped).toBe(5);
  });

  it('bounds bytes as well as items', async () => {
    const { q } = await open(async () => {
      throw retryableError('down');
    }, { maxBytes: 4096, concurrency: 1 });
    for (let i = 0; i < 20; i++) await q.enqueue([notif('warning', `w${i}`)]);
    expect(q.stats().queuedBytes).toBeLessThanOrEqual(4096);
    expect(q.stats().dropped).toBeGreaterThan(0);
    expect(q.size).toBeGreaterThan(1);
  });

  it('a storm into a full queue: making room walks the queue once per call, not once per new item, and picks the same victims', async () => {
    const { q } = await open(() => new Promise<void>(() => undefined), { maxItems: 2000, maxBytes: 1 << 30, concurrency: 1, storage: 'memory', shutdownTimeoutMs: 1 });
    const store = (q as unknown as { store: { values(): IterableIterator<{ item: AlertNotification }> } }).store;
    const values = store.values.bind(store);
    let visited = 0;
    store.values = function* () {
      for (const e of values()) {
        visited++;
        yield e;
      }
    } as typeof store.values;
    // 1000 info, then 1000 warning (the first info goes in flight and stays there)
    await q.enqueue([...Array.from({ length: 1000 }, (_, i) => notif('info', `i${i}`)), ...Array.from({ length: 1000 }, (_, i) => notif('warning', `w${i}`))]);
    visited = 0;
    // 1500 warnings: the 999 info not in flight go first, then the 501 oldest warnings
    await q.enqueue(Array.from({ length: 1500 }, (_, i) => notif('warning', `n${i}`)));
    expect(visited).toBeLessThanOrEqual(3 * (2000 + 1500));
    const keys = [...values()].map((e) => e.item.groupKey);
    expect(keys).toHaveLength(2000);
    expect(keys.slice(0, 2)).toEqual(['i0', 'w501']);
    expect(keys.filter((k) => k.startsWith('n'))).toHaveLength(1500);
    expect(q.stats().dropped).toBe(1500);
  });

  it('a storm of drops is logged at most once every 10 s with the count, and every drop is counted', async () => {
    const { logger, lines } = recordingLogger();
    const { q } = await open(() => new Promise<void>(() => undefined), { maxItems: 10, concurrency: 1, storage: 'memory', shutdownTimeoutMs: 1 }, undefined, logger);
    const dropLines = () => lines.filter((l) => l.includes('queue full'));
    for (let i = 0; i < 500; i++) await q.enqueue([notif('warning', `w${i}`)]);
    expect(q.stats().dropped).toBe(490);
    expect(dropLines()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10_000);
    await q.enqueue([notif('warning', 'late')]);
    expect(dropLines()).toHaveLength(2);
    expect(JSON.parse(dropLines()[1]!)).toMatchObject({ dropped: 490 });
  });

  it('a queue that keeps dropping while its target hangs does not keep the dropped notifications', async () => {
    const { q } = await open(() => new Promise<void>(() => undefined), { maxItems: 100, concurrency: 1, storage: 'memory', shutdownTimeoutMs: 1 });
    for (let round = 0; round < 50; round++) await q.enqueue(Array.from({ length: 100 }, (_, i) => notif('warning', `r${round}-${i}`)));
    expect(q.size).toBe(100);
    expect(q.stats().dropped).toBe(49 * 100); // every round after the first drops 100: the 99 queued and not in flight, and its own last
    expect(q.referenced).toBeLessThanOrEqual(2 * 100 + 1024);
  });
});

describe('queue durability', () => {
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  it('keeps undelivered entries across a restart and drops delivered ones; shutdown leaves the rest', async () => {
    const d = tempDir();
    dirs.push(d);
    let up = false;
    const got: string[] = [];
    const send = async (n: AlertNotification) => {
      if (!up) throw retryableError('down');
      got.push(n.groupKey);
    };
    const a = await open(async (n) => {
      if (n.groupKey === 'first') return;
      throw retryableError('down');
    }, { shutdownTimeoutMs: 200, initialIntervalMs: 10_000 }, d);
    await a.q.enqueue([notif('info', 'first')]);
    await new Promise((r) => setTimeout(r, 50));
    await a.q.enqueue([notif('critical', 'x'), notif('warning', 'y')]);
    await a.q.close();
    up = true;
    const b = await open(send, {}, d);
    await new Promise((r) => setTimeout(r, 200));
    await b.q.close();
    expect(got.sort()).toEqual(['x', 'y']);
    void up;
  });

  it('shutdown delivers what it can before resolving', async () => {
    const got: string[] = [];
    const { q } = await open(async (n) => {
      await new Promise((r) => setTimeout(r, 20));
      got.push(n.groupKey);
    }, { shutdownTimeoutMs: 5000 });
    await q.enqueue([notif('info', 'a'), notif('info', 'b'), notif('info', 'c'), notif('info', 'd')]);
    await q.close();
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(q.size).toBe(0);
  });

  it('shutdown gives up on a hung target after shutdown_timeout and leaves the notification queued', async () => {
    const d = tempDir();
    dirs.push(d);
    let aborted = false;
    const a = await open(
      (_n, signal) =>
        new Promise<void>((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          }),
        ),
      { shutdownTimeoutMs: 100, timeoutMs: 60_000 },
      d,
    );
    await a.q.enqueue([notif('critical', 'hung')]);
    await a.q.close();
    expect(aborted).toBe(true);
    const got: string[] = [];
    const b = await open(async (n) => void got.push(n.groupKey), {}, d);
    await waitForQ(() => got.length === 1);
    expect(got).toEqual(['hung']);
    expect(b.deadLetters()).toEqual([]);
  });

  it('a torn record at the end of a segment (crash mid-append) blocks nothing', async () => {
    const d = tempDir();
    dirs.push(d);
    const disk = await DiskQueue.open<{ n: number }>(d);
    await disk.append([{ item: { n: 1 }, severity: 1 }, { item: { n: 2 }, severity: 1 }]);
    await disk.close();
    const seg = fs.readdirSync(d).filter((f) => f.endsWith('.seg')).sort()[0]!;
    // Half a record: a header that promises more bytes than follow.
    const junk = Buffer.alloc(20);
    junk.writeUInt32LE(1000, 0);
    fs.appendFileSync(path.join(d, seg), junk);
    const again = await DiskQueue.open<{ n: number }>(d);
    expect([...again.values()].map((e) => e.item.n)).toEqual([1, 2]);
    expect(again.stats.tornRecords).toBe(1);
    await again.append([{ item: { n: 3 }, severity: 1 }]);
    again.remove([...again.values()][0]!.id);
    await again.close();
    const third = await DiskQueue.open<{ n: number }>(d);
    expect([...third.values()].map((e) => e.item.n)).toEqual([2, 3]);
    await third.close();
  });

  it('replay skips a bad record in the middle of a segment and keeps every good record after it', async () => {
    const d = tempDir();
    dirs.push(d);
    const disk = await DiskQueue.open<{ n: number; s: string }>(d);
    for (let n = 1; n <= 4; n++) await disk.append([{ item: { n, s: 'x'.repeat(100) }, severity: 1 }]);
    await disk.close();
    const file = path.join(d, fs.readdirSync(d).filter((f) => f.endsWith('.seg')).sort()[0]!);
    const data = fs.readFileSync(file);
    // damage record 2 (a byte of its payload: its CRC-32 no longer matches) and cut into record 3's header
    const second = data.indexOf('{"id":2');
    data[second + 20] ^= 0xff;
    const third = data.indexOf('{"id":3') - 9;
    const torn = Buffer.concat([data.subarray(0, third), data.subarray(third, third + 5), data.subarray(third)]);
    fs.writeFileSync(file, torn);
    const again = await DiskQueue.open<{ n: number; s: string }>(d);
    expect([...again.values()].map((e) => e.item.n)).toEqual([1, 3, 4]);
    expect(again.stats.tornRecords).toBe(1); // one damaged stretch (record 2 and the stray bytes), skipped as one
    await again.close();
  });

  it('compacts a head segment held by a stuck entry, and keeps that entry across a restart', async () => {
    const d = tempDir();
    dirs.push(d);
    const disk = await DiskQueue.open<{ n: number }>(d, { segmentBytes: 256 });
    const [stuck] = await disk.append([{ item: { n: -1 }, severity: 4 }]);
    for (let i = 0; i < 200; i++) {
      const [e] = await disk.append([{ item: { n: i }, severity: 1 }]);
      disk.remove(e!.id);
    }
    await disk.append([{ item: { n: 999 }, severity: 1 }]);
    // Without compaction the stuck head would keep every later segment (~200 of them).
    expect(disk.segmentCount).toBeLessThanOrEqual(12);
    await disk.close();
    const again = await DiskQueue.open<{ n: number }>(d, { segmentBytes: 256 });
    expect([...again.values()].map((e) => [e.id, e.item.n])).toEqual([
      [stuck!.id, -1],
      [202, 999],
    ]);
    await again.close();
  });

  it('deletes segments once every entry in them is done', async () => {
    const d = tempDir();
    dirs.push(d);
    const disk = await DiskQueue.open<{ n: number }>(d);
    const es = await disk.append([{ item: { n: 1 }, severity: 0 }]);
    await disk.close();
    const reopened = await DiskQueue.open<{ n: number }>(d);
    reopened.remove(es[0]!.id);
    await reopened.close();
    const last = await DiskQueue.open<{ n: number }>(d);
    expect(last.size).toBe(0);
    await last.close();
    expect(fs.readdirSync(d).filter((f) => f.endsWith('.seg')).length).toBe(1);
  });
});

describe('disk queue: a write that cannot progress or a disk that keeps failing', () => {
  const opened: DiskQueue<unknown>[] = [];
  afterEach(async () => {
    for (const q of opened.splice(0)) await q.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    dirs = [];
  });
  /** The queue's open segment file handle, to make its writes fail as a bad disk would. */
  const handleOf = (q: DiskQueue<unknown>) => (q as unknown as { fh: fs.promises.FileHandle }).fh;

  it('a write the kernel takes 0 bytes of fails the append (EIO, undone), it is not retried forever', async () => {
    const d = tempDir();
    dirs.push(d);
    const q = await DiskQueue.open<{ n: number }>(d);
    opened.push(q as DiskQueue<unknown>);
    await q.append([{ item: { n: 1 }, severity: 0 }]);
    const fh = handleOf(q as DiskQueue<unknown>);
    const write = fh.write.bind(fh);
    let calls = 0;
    // a write(2) that returns 0: no progress (a guard against the old endless loop: give up after 100)
    (fh as { write: unknown }).write = async (buf: Buffer) => {
      if (++calls > 100) throw new Error(`write called ${calls} times without progress`);
      return { bytesWritten: 0, buffer: buf };
    };
    await expect(q.append([{ item: { n: 2 }, severity: 0 }])).rejects.toMatchObject({ code: 'EIO', message: expect.stringMatching(/took no more bytes/) });
    expect(calls, 'one write, not a loop').toBe(1);
    expect(q.writeError?.code).toBe('EIO');
    expect(q.size, 'the refused entry is not counted').toBe(1);
    (fh as { write: unknown }).write = write;
    await q.append([{ item: { n: 3 }, severity: 0 }]);
    expect(q.writeError).toBeUndefined();
    const again = await DiskQueue.open<{ n: number }>(d);
    opened.push(again as DiskQueue<unknown>);
    expect([...again.values()].map((e) => e.item.n)).toEqual([1, 3]);
  });

  it('a disk whose writes keep failing (EIO at fdatasync) stays in the write-error state at every probe, until a write works', async () => {
    const d = tempDir();
    dirs.push(d);
    const states: (string | undefined)[] = [];
    const q = await DiskQueue.open<{ n: number }>(d, { onWriteState: (e) => states.push(e?.code), probeMs: 3_600_000 });
    opened.push(q as DiskQueue<unknown>);
    const probe = () => (q as unknown as { probeSpace(): Promise<void> }).probeSpace();
    await q.append([{ item: { n: 1 }, severity: 0 }]);
    const fh = handleOf(q as DiskQueue<unknown>);
    const datasync = fh.datasync.bind(fh);
    (fh as { datasync: unknown }).datasync = async () => {
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    };
    await expect(q.append([{ item: { n: 2 }, severity: 0 }])).rejects.toMatchObject({ code: 'EIO' });
    expect(states).toEqual(['EIO']);
    // the filesystem shows plenty of free space: that is no sign the disk works
    await probe();
    await probe();
    expect(q.writeError?.code, 'still failing: /readyz keeps naming the queue').toBe('EIO');
    expect(states).toEqual(['EIO']);
    (fh as { datasync: unknown }).datasync = datasync;
    await probe();
    expect(q.writeError, 'a probe write that works clears it').toBeUndefined();
    expect(states).toEqual(['EIO', undefined]);
    await q.append([{ item: { n: 3 }, severity: 0 }]);
    const again = await DiskQueue.open<{ n: number }>(d);
    opened.push(again as DiskQueue<unknown>);
    expect([...again.values()].map((e) => e.item.n)).toEqual([1, 3]);
    expect(again.stats.tornRecords).toBe(0);
  });
});

describe('disk queue: segments that cannot be deleted (read-only disk)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    dirs = [];
  });

  it('a done segment whose delete fails stays listed and is deleted later; the writer does not reject', async () => {
    const d = tempDir();
    dirs.push(d);
    const q = await DiskQueue.open<{ n: number; pad: string }>(d, { segmentBytes: 256 });
    const pad = 'p'.repeat(300); // one record fills a segment
    const es = [];
    for (let n = 0; n < 3; n++) es.push(...(await q.append([{ item: { n, pad }, severity: 0 }])));
    const rm = vi.spyOn(fs.promises, 'rm').mockRejectedValue(Object.assign(new Error('EROFS: read-only file system, unlink'), { code: 'EROFS' }));
    const rejections: unknown[] = [];
    const onRejection = (r: unknown) => rejections.push(r);
    process.on('unhandledRejection', onRejection);
    try {
      for (const e of es.slice(0, 2)) q.remove(e.id);
      await q.append([{ item: { n: 3, pad }, severity: 0 }]);
      await q.append([{ item: { n: 4, pad }, severity: 0 }]);
      expect(rm).toHaveBeenCalled();
      await new Promise((r) => setImmediate(r));
      expect(rejections, 'the writer does not reject').toEqual([]);
      expect(fs.readdirSync(d).filter((f) => f.endsWith('.seg')).length, 'nothing deleted').toBe(q.segmentCount);
      rm.mockRestore();
      await q.append([{ item: { n: 5, pad }, severity: 0 }]);
      await q.close();
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    const again = await DiskQueue.open<{ n: number; pad: string }>(d, { segmentBytes: 256 });
    expect([...again.values()].map((e) => e.item.n), 'the done ones are gone once deletes work').toEqual([2, 3, 4, 5]);
    expect(fs.readdirSync(d).filter((f) => f.endsWith('.seg')).length).toBe(again.segmentCount);
    await again.close();
  });

  it('a done head that cannot be deleted is not compacted: each append is one write, no empty one', async () => {
    const d = tempDir();
    dirs.push(d);
    const q = await DiskQueue.open<{ n: number; pad: string }>(d, { segmentBytes: 256 });
    const pad = 'p'.repeat(300); // one record fills a segment
    const es = [];
    for (let n = 0; n < 12; n++) es.push(...(await q.append([{ item: { n, pad }, severity: 0 }])));
    vi.spyOn(fs.promises, 'rm').mockRejectedValue(Object.assign(new Error('EROFS: read-only file system, unlink'), { code: 'EROFS' }));
    for (const e of es.slice(0, 10)) q.remove(e.id); // the oldest segments are done, and cannot be deleted
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    for (let n = 12; n < 15; n++) {
      const writes = q.stats.writes;
      await q.append([{ item: { n, pad }, severity: 0 }]);
      await settle();
      expect(q.stats.writes - writes, `append ${n}: one write`).toBe(1);
    }
    vi.restoreAllMocks();
    await q.close();
  });
});

describe('DeliveryQueue storage and no queue (the one delivery path of every queued exporter)', () => {
  it('storage: memory delivers like disk, writes no queue file, and dead-letters what shutdown could not deliver', async () => {
    const got: string[] = [];
    let up = true;
    const { q, dir, deadLetters } = await open(
      async (n) => {
        if (!up) throw retryableError('target down');
        got.push(n.groupKey);
      },
      { storage: 'memory', shutdownTimeoutMs: 50, initialIntervalMs: 10_000 },
    );
    await q.enqueue([notif('warning', 'a')]);
    await waitForQ(() => got.length === 1);
    expect(got).toEqual(['a']);
    expect(fs.existsSync(path.join(dir, 'queue'))).toBe(false);
    up = false;
    await q.enqueue([notif('critical', 'b')]);
    await q.close();
    expect(deadLetters().map((d) => [d.notification.groupKey, d.reason])).toEqual([['b', 'exporter shut down before it could be delivered (sending_queue.storage: memory)']]);
    expect(deadLetters()[0]!.attempts).toBeGreaterThanOrEqual(1);
  });

  it('sending_queue.enabled: false sends inside enqueue, once, and hands a failure back as the target said', async () => {
    let answer: 'ok' | 'retry' | 'permanent' = 'ok';
    let calls = 0;
    const { q, deadLetters } = await open(
      async () => {
        calls++;
        if (answer === 'retry') throw retryableError('503 from target', 2000);
        if (answer === 'permanent') throw new ConsumerError('400 from target', { permanent: true });
      },
      { queueEnabled: false },
    );
    await q.enqueue([notif('warning', 'a')]);
    expect(calls).toBe(1);
    answer = 'retry';
    await expect(q.enqueue([notif('warning', 'b')])).rejects.toMatchObject({ permanent: false, retryAfterMs: 2000 });
    answer = 'permanent';
    await expect(q.enqueue([notif('warning', 'c')])).rejects.toMatchObject({ permanent: true });
    expect(calls).toBe(3);
    expect(q.size).toBe(0);
    expect(deadLetters()).toEqual([]);
  });
});
