/**
 * A durable FIFO of JSON items on disk: length+checksum framed records appended to segment files, with
 * group commit (appends that arrive while a write is in flight share the next write and fsync).
 *
 * Records: `[u32 payload length][u32 crc32(type byte + payload)][u8 type][payload]`, little endian.
 * - type 1, ENTRY: payload is JSON `{"id", "t" (enqueued at, ms), "s" (severity rank), "i" (the item)}`;
 * - type 2, DONE: payload is the id as a float64 (the entry was delivered, dead-lettered or dropped). A
 *   DONE record for id 0 (no entry has it) is a probe write of a failing queue, ignored by replay.
 * A DONE record is always written to the same or a later segment than its ENTRY, and segments are deleted
 * oldest first once none of their entries is live, so a DONE record is never deleted while its ENTRY
 * still exists. On open every segment is replayed; a record whose length runs past the end of its file or whose
 * checksum does not match (a crash in the middle of an append) is skipped: replay looks for the next
 * whole record after it (a frame whose header, JSON opening and CRC-32 all check), so a good record after
 * a bad one is never dropped. Writing always continues in a fresh segment.
 *
 * Group commit: appends that arrive while a write is in flight (or in the same tick) share the next
 * `write` and `fdatasync`; an `append` resolves only once its ENTRY records are fdatasync'd. DONE records
 * are batched too, and never synced on their own: `remove` keeps them in memory, and they are written with
 * the next ENTRY write, or by one shared timer at most `doneFlushMs` (default 20 ms) later, or at once when
 * 64 KiB of them are waiting, or by `close`. So a crash never loses an un-acknowledged (live) entry: its
 * ENTRY was on disk before `append` resolved, and its DONE is only written after. What a crash can do is
 * bring back an entry already done: after a kill -9, one removed within the last `doneFlushMs` (its DONE
 * was still in memory); after a power cut, also one whose DONE reached the page cache but no fdatasync
 * (a later ENTRY write's fdatasync covers the DONE records written before it). Delivery is at least once.
 *
 * A write that fails part-way (ENOSPC, EDQUOT, EIO...) is undone before anything else is written: the
 * segment is truncated back to its size before that write (or, if even that fails, closed and writing
 * rolls to a new segment). The entries of the failed write are forgotten (they were never acknowledged:
 * `append` rejects), so `size`, `bytes` and the capacity they hold reflect only what is on disk; DONE
 * records of the failed write are kept in memory and written with the next write that succeeds (until then
 * a restart may deliver those entries once more: at least once). While writes fail the queue is in the
 * `writeError` state; it leaves it only when a write succeeds: the next append's, or a probe's (every
 * `probeMs`, once the filesystem shows free space: the held DONE records, or a DONE record for no entry,
 * written and fdatasync'd). Free space alone clears nothing: a read-only disk or one that answers EIO has
 * room, and the queue stays in the state, with its reason, while it cannot write.
 * A fully-done segment that cannot be deleted (read-only disk) stays on the list, oldest first, and its delete
 * is tried again after the next write; the writer never rejects because of it.
 *
 * A segment deleted under the queue (its folder removed by hand or by a clean-up job) still takes writes, but
 * nothing written to it would come back after a restart. So after every write the segment is checked (fstat:
 * no link left); when it is gone the folder is made again and every live entry is written anew to a fresh
 * segment and fdatasync'd (`stats.rewrites`), then the older segments are deleted. The write that found it out
 * is only acknowledged once that rewrite is on disk; if the rewrite fails the write is refused as any failed
 * write, and the rewrite is tried again before the next write (or probe) until it works.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';

const HEADER = 9;
const TYPE_ENTRY = 1;
const TYPE_DONE = 2;
/** A segment is closed for writing beyond this size. */
const SEGMENT_BYTES = 8 * 1024 * 1024;
/** Segments held behind a still-live head before its live entries are moved to the tail (compaction). */
const COMPACT_AFTER_SEGMENTS = 8;
/** DONE records waiting in memory are written at once past this many bytes. */
const DONE_BATCH_BYTES = 64 * 1024;

interface Segment {
  seq: number;
  file: string;
  /** Entries in this segment that are not done. */
  live: number;
  size: number;
}

/** One queued item. */
export interface QueueEntry<T> {
  /** Increasing across restarts. */
  readonly id: number;
  readonly item: T;
  /** Size of its ENTRY record on disk. */
  readonly bytes: number;
  /** Severity rank given at append (higher is more severe). */
  readonly severity: number;
  /** When it was first queued (ms since the epoch), kept across restarts. */
  readonly enqueuedAt: number;
}

interface InternalEntry<T> extends QueueEntry<T> {
  seg: Segment;
  /** Whether its ENTRY record is written to `seg` (and counted in `seg.live`). */
  written: boolean;
}

interface Pending {
  buf: Buffer;
  sync: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
  /** Entry records carry their entries, whose segment is fixed when they are written. */
  entries?: InternalEntry<unknown>[];
  /** For compaction: the segment its entries' records are in until the copy is on disk. */
  from?: Segment;
}

/** Why the queue cannot write (see {@link DiskQueue.writeError}). */
export interface QueueWriteError {
  /** errno code (`ENOSPC`, `EDQUOT`, `EIO`...). */
  code: string;
  /** What, where and how much, for logs and /readyz. */
  message: string;
  /** Bytes of the write that failed. */
  bytes: number;
  /** Bytes free for an unprivileged user on the queue's filesystem when it failed (undefined if unknown). */
  freeBytes: number | undefined;
  since: number;
}

/**
 * Counters of what the queue wrote (bench/delivery.ts's write-amplification figures; the group-commit test
 * asserts on `writes` and `fsyncs`, which count system-call level work and do not move with load).
 */
export interface DiskQueueStats {
  bytesWritten: number;
  /** Successful writes to a segment file (each one `write` call, unless the kernel took it in parts). */
  writes: number;
  /** fdatasync calls after successful writes. */
  fsyncs: number;
  /** ENTRY records appended (successful or not): `appends / fsyncs` is the group-commit factor. */
  appends: number;
  /** DONE records handed to the writer. */
  dones: number;
  /** Records skipped at open because they were torn or corrupt. */
  tornRecords: number;
  /** Writes that failed (and were undone). */
  failedWrites: number;
  /** Times every live entry was written anew because the segment in use had been deleted under the queue. */
  rewrites: number;
}

/** Tuning of a {@link DiskQueue}: segment size (bytes), write-state callback and free-space probe period (ms). */
export interface DiskQueueOptions {
  /** Size past which a segment is closed for writing (tests make it small). */
  segmentBytes?: number;
  /** Called when writes start failing (with why) and when they work again (undefined). */
  onWriteState?: (err: QueueWriteError | undefined) => void;
  /** How often a failing queue checks for free space and then tries a probe write (default 2 s). */
  probeMs?: number;
  /**
   * Longest a DONE record waits in memory before it is written when no ENTRY write takes it along (ms,
   * default 20). A kill -9 within this time after a delivery brings that entry back once at restart.
   */
  doneFlushMs?: number;
}

/**
 * The durable on-disk FIFO of JSON items `T` described in this file's comment. `append` rejects when the
 * queue is closed, or with an error saying what, where and how much when the write fails (nothing
 * half-written is kept).
 */
export class DiskQueue<T> {
  private readonly entries = new Map<number, InternalEntry<T>>();
  private readonly segments: Segment[] = [];
  private current: Segment | undefined;
  private fh: fsp.FileHandle | undefined;
  private nextId = 1;
  private liveBytes = 0;
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private compacting = false;
  private closed = false;
  /** DONE records whose write failed: written first by the next write. */
  private heldDone: Buffer[] = [];
  /** DONE records not handed to the writer yet (see the file's comment), and their bytes. */
  private doneBufs: Buffer[] = [];
  private doneBytes = 0;
  /** The one timer that writes waiting DONE records (shared by every `remove`). */
  private doneTimer: NodeJS.Timeout | undefined;
  /** The current segment could not be truncated back after a failed write: roll before writing again. */
  private mustRoll = false;
  private probe: NodeJS.Timeout | undefined;
  /** A probe write is in flight (the next tick does not start another). */
  private probing = false;
  private readonly segmentBytes: number;
  /** Highest segment number used or seen on disk (a new segment always gets a higher one). */
  private lastSeq = 0;
  /** The live entries must be written anew before anything else (their segment was deleted under the queue). */
  private rewriteNeeded = false;
  /** Set while writes fail; undefined when the last write worked. */
  writeError: QueueWriteError | undefined;
  readonly stats: DiskQueueStats = { bytesWritten: 0, writes: 0, fsyncs: 0, appends: 0, dones: 0, tornRecords: 0, failedWrites: 0, rewrites: 0 };

  private constructor(
    readonly dir: string,
    private readonly opts: DiskQueueOptions,
  ) {
    this.segmentBytes = opts.segmentBytes ?? SEGMENT_BYTES;
  }

  /** Opens (creating) the queue in `dir` and replays what an earlier run left there. */
  static async open<T>(dir: string, opts: DiskQueueOptions = {}): Promise<DiskQueue<T>> {
    const q = new DiskQueue<T>(dir, opts);
    await fsp.mkdir(dir, { recursive: true });
    await q.replay();
    await q.openSegment();
    return q;
  }

  /**
   * How many live entries a queue folder holds, read without changing anything on disk (nothing deleted or
   * created): for a queue no component has open, such as that of an exporter a reload removed.
   */
  static async countLive(dir: string): Promise<number> {
    const q = new DiskQueue<unknown>(dir, {});
    await q.replay(true);
    return q.size;
  }

  /** Live entries, oldest first. */
  values(): IterableIterator<QueueEntry<T>> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  /** Segment files held on disk (tests). */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Bytes of the live entries' records. */
  get bytes(): number {
    return this.liveBytes;
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  /** Size an item would take on disk (its ENTRY record), to check bounds before appending. */
  static recordSize(item: unknown): number {
    return DiskQueue.recordSizeOf(JSON.stringify(item));
  }

  /** Size of the ENTRY record of an item already serialized to JSON (an upper bound within a few bytes). */
  static recordSizeOf(json: string): number {
    return HEADER + Buffer.byteLength(json) + 60;
  }

  /** DONE records waiting in memory for their write (tests). */
  get waitingDone(): number {
    return this.doneBufs.length;
  }

  /**
   * Appends items; resolves once they are written and fsync'd, with their entries (in order). The
   * entries are visible in `values()` from the call on.
   */
  append(items: readonly { item: T; severity: number; json?: string }[], now = Date.now()): Promise<QueueEntry<T>[]> {
    if (this.closed) return Promise.reject(new Error(`queue ${this.dir} is closed`));
    const bufs: Buffer[] = [];
    const out: InternalEntry<T>[] = [];
    for (const { item, severity, json } of items) {
      const id = this.nextId++;
      const buf = entryRecord(id, now, severity, json ?? JSON.stringify(item));
      const e: InternalEntry<T> = { id, item, bytes: buf.length, severity, enqueuedAt: now, seg: this.current!, written: false };
      this.entries.set(id, e);
      this.liveBytes += buf.length;
      bufs.push(buf);
      out.push(e);
    }
    this.stats.appends += out.length;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ buf: bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs), sync: true, resolve, reject, entries: out as InternalEntry<unknown>[] });
      this.kick();
    }).then(() => out);
  }

  /** Marks an entry done (delivered, dead-lettered or dropped): it will not come back after a restart. */
  remove(id: number): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.liveBytes -= e.bytes;
    if (e.written) e.seg.live--;
    const b = doneRecord(id);
    this.stats.dones++;
    this.doneBufs.push(b);
    this.doneBytes += b.length;
    if (this.doneBytes >= DONE_BATCH_BYTES) {
      this.takeDone();
      this.kick();
    } else if (!this.doneTimer && !this.closed) {
      this.doneTimer = setTimeout(() => {
        this.doneTimer = undefined;
        if (this.takeDone()) this.kick();
      }, this.opts.doneFlushMs ?? 20);
      this.doneTimer.unref();
    }
  }

  /** Hands the waiting DONE records to the writer as one unsynced write; false when there were none. */
  private takeDone(): boolean {
    if (!this.doneBufs.length) return false;
    const buf = this.doneBufs.length === 1 ? this.doneBufs[0]! : Buffer.concat(this.doneBufs, this.doneBytes);
    this.doneBufs = [];
    this.doneBytes = 0;
    this.pending.push({ buf, sync: false, resolve: noop, reject: noop });
    return true;
  }

  /** Writes what is pending and closes the file. The queue stays on disk for the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
    if (this.doneTimer) clearTimeout(this.doneTimer);
    this.doneTimer = undefined;
    this.takeDone();
    if (this.heldDone.length) this.pending.push({ buf: Buffer.concat(this.heldDone.splice(0)), sync: false, resolve: noop, reject: noop });
    let rounds = 0;
    while ((this.flushing || this.pending.length) && rounds++ < 3) await (this.flushing ?? this.flush());
    await this.fh?.close();
    this.fh = undefined;
  }

  /**
   * Starts the writer unless it runs. It starts a microtask later, so that every append and removal made in
   * the same synchronous run (a round's notifications handed over together) goes into its first write.
   */
  private kick(): void {
    if (!this.flushing && this.fh) this.flushing = Promise.resolve().then(() => this.flush());
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length && this.fh) {
        // waiting DONE records ride along with this write (no write of their own)
        this.takeDone();
        const batch = this.pending;
        this.pending = [];
        if (this.heldDone.length) batch.unshift({ buf: Buffer.concat(this.heldDone.splice(0)), sync: false, resolve: noop, reject: noop });
        if (this.rewriteNeeded) {
          try {
            await this.rewriteAll();
          } catch (err) {
            await this.failed(batch, undefined, 0, err as NodeJS.ErrnoException);
            continue;
          }
        }
        if (this.mustRoll || this.current!.size >= this.segmentBytes) {
          try {
            await this.openSegment();
            this.mustRoll = false;
          } catch (err) {
            await this.failed(batch, undefined, 0, err as NodeJS.ErrnoException);
            continue;
          }
        }
        const seg = this.current!;
        let sync = false;
        const bufs: Buffer[] = [];
        let n = 0;
        for (const p of batch) {
          bufs.push(p.buf);
          n += p.buf.length;
          if (p.sync) sync = true;
          if (p.entries)
            for (const e of p.entries) {
              if (this.entries.get(e.id) === e) {
                // Its ENTRY record lands in `seg`, whatever segment was current at append.
                e.seg = seg;
                e.written = true;
                seg.live++;
              }
            }
        }
        const before = seg.size;
        try {
          await writeAll(this.fh, bufs);
          if (sync) {
            await this.fh.datasync();
            this.stats.fsyncs++;
          }
        } catch (err) {
          await this.failed(batch, seg, before, err as NodeJS.ErrnoException, n);
          continue;
        }
        if (this.rewriteNeeded || (await this.segmentGone())) {
          // what was just written (and every live entry before it) is in a file no one can open again
          this.rewriteNeeded = true;
          try {
            await this.rewriteAll();
          } catch (err) {
            await this.failed(batch, undefined, 0, err as NodeJS.ErrnoException, n);
            continue;
          }
        }
        seg.size += n;
        this.stats.bytesWritten += n;
        this.stats.writes++;
        // only bytes that reached the disk say it works again
        if (this.writeError && n > 0) this.recovered();
        for (const p of batch) p.resolve();
      }
      await this.collect();
    } finally {
      this.flushing = undefined;
      if (this.pending.length && this.fh) this.kick();
    }
  }

  /**
   * Undoes a failed write: truncates `seg` back to `before` (or rolls to a new segment at the next write),
   * forgets the entries it carried, keeps its DONE records for the next write, puts compacted entries back
   * in their old segment, and rejects the appends with an error that says what, where and how much.
   */
  private async failed(batch: Pending[], seg: Segment | undefined, before: number, err: NodeJS.ErrnoException, bytes = 0): Promise<void> {
    this.stats.failedWrites++;
    if (seg) {
      try {
        await this.fh!.truncate(before);
        // Make the cut durable, so no torn record reappears after a power cut.
        await this.fh!.datasync().catch(() => undefined);
      } catch {
        this.mustRoll = true;
      }
    }
    const why = await this.describe(err, bytes || batch.reduce((a, p) => a + p.buf.length, 0));
    for (const p of batch) {
      if (p.entries) {
        for (const e of p.entries) {
          if (this.entries.get(e.id) !== e) continue;
          if (e.written && seg && e.seg === seg) seg.live--;
          if (p.from) {
            // compaction: the entry's record is still in its old segment
            e.seg = p.from;
            e.written = true;
            p.from.live++;
          } else {
            e.written = false;
            this.entries.delete(e.id);
            this.liveBytes -= e.bytes;
          }
        }
      } else if (!p.sync) {
        this.heldDone.push(p.buf);
      }
      p.reject(Object.assign(new Error(why.message, { cause: err }), { code: why.code }));
    }
    const first = !this.writeError;
    this.writeError = { ...why, since: this.writeError?.since ?? Date.now() };
    if (first) this.opts.onWriteState?.(this.writeError);
    if (!this.probe && !this.closed) {
      // a probe that fails is tried again at the next tick (the write-error state stays meanwhile)
      this.probe = setInterval(() => void this.probeSpace().catch(() => undefined), this.opts.probeMs ?? 2000);
      this.probe.unref();
    }
  }

  private async describe(err: NodeJS.ErrnoException, bytes: number): Promise<Omit<QueueWriteError, 'since'>> {
    const code = err.code ?? 'EIO';
    const freeBytes = await freeBytesOf(this.dir);
    const what = code === 'ENOSPC' ? 'no space left on device' : code === 'EDQUOT' ? 'disk quota exceeded' : err.message;
    return {
      code,
      bytes,
      freeBytes,
      message:
        `cannot write the queue in ${this.dir}: ${what} (${code}) writing ${bytes} bytes` +
        (freeBytes !== undefined ? `, ${freeBytes} bytes free on its filesystem` : '') +
        '; nothing of this write was kept (retry later)',
    };
  }

  private recovered(): void {
    this.writeError = undefined;
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
    this.opts.onWriteState?.(undefined);
  }

  /**
   * While writes fail: once the filesystem shows room, writes a probe record (with the held DONE records, which
   * the writer puts first) and fdatasyncs it; its success clears the state, its failure keeps it (with the new
   * reason). Resolves once the probe write settled (or at once when there is no room yet).
   */
  private async probeSpace(): Promise<void> {
    if (!this.writeError || this.closed || this.probing) return;
    this.probing = true;
    try {
      const free = await freeBytesOf(this.dir);
      // the state may have cleared (a write that worked) or the queue closed while statfs ran
      if (!this.writeError || this.closed) return;
      if (free !== undefined && free < Math.max(this.writeError.bytes, 4096)) return;
      await new Promise<void>((resolve) => {
        this.pending.push({ buf: PROBE_RECORD, sync: true, resolve, reject: () => resolve() });
        this.kick();
      });
    } finally {
      this.probing = false;
    }
  }

  /** Deletes fully-done segments from the oldest on; moves a stuck head's few live entries to the tail. */
  private async collect(): Promise<void> {
    while (this.segments.length > 1 && this.segments[0]!.live <= 0 && this.segments[0] !== this.current) {
      const seg = this.segments[0]!;
      try {
        await fsp.rm(seg.file, { force: true });
      } catch {
        // (a read-only or failing disk) kept, and oldest first: a later segment holding DONE records of its
        // entries must not go before it. Tried again after the next write.
        break;
      }
      this.segments.shift();
    }
    // (a head with nothing live is one whose delete failed: nothing to move)
    if (!this.compacting && this.segments.length > COMPACT_AFTER_SEGMENTS && this.segments[0] !== this.current && this.segments[0]!.live > 0) {
      this.compacting = true;
      const head = this.segments[0]!;
      const moved = [...this.entries.values()].filter((e) => e.seg === head);
      // Re-append the same records (same ids) at the tail; the head is deleted once they are fsync'd.
      const bufs = moved.map((e) => entryRecord(e.id, e.enqueuedAt, e.severity, JSON.stringify(e.item)));
      head.live -= moved.length;
      for (const e of moved) e.written = false;
      void new Promise<void>((resolve, reject) => {
        this.pending.push({ buf: Buffer.concat(bufs), sync: true, resolve, reject, entries: moved as InternalEntry<unknown>[], from: head });
      }).catch(noop).finally(() => {
        this.compacting = false;
      });
    }
  }

  /** Whether the segment being written has no link left (deleted, or its folder removed, under the queue). */
  private async segmentGone(): Promise<boolean> {
    try {
      return (await this.fh!.stat()).nlink === 0;
    } catch {
      return false;
    }
  }

  /**
   * Writes every entry already written anew to a fresh segment (the folder made again if it is gone), fdatasync'd,
   * then forgets and deletes the older segments. Throws when that cannot be done; `rewriteNeeded` then stays set.
   */
  private async rewriteAll(): Promise<void> {
    this.mustRoll = true;
    await this.openSegment();
    this.mustRoll = false;
    const seg = this.current!;
    // a compaction waiting to be written: its entries' records are in a segment about to be deleted, so they are
    // written here too (and the compaction is done)
    const compactions = this.pending.filter((p) => p.from);
    this.pending = this.pending.filter((p) => !p.from);
    const moving = new Set(compactions.flatMap((p) => p.entries ?? []));
    const live = [...this.entries.values()].filter((e) => e.written || moving.has(e as InternalEntry<unknown>));
    const bufs = live.map((e) => entryRecord(e.id, e.enqueuedAt, e.severity, JSON.stringify(e.item)));
    const n = bufs.reduce((a, b) => a + b.length, 0);
    try {
      if (n) await writeAll(this.fh!, bufs);
      await this.fh!.datasync();
    } catch (err) {
      this.pending.unshift(...compactions);
      // no empty segment left behind per try: the next try opens a new one
      this.segments.pop();
      this.mustRoll = true;
      await fsp.rm(seg.file, { force: true }).catch(noop);
      throw err;
    }
    this.stats.rewrites++;
    this.stats.bytesWritten += n;
    seg.size += n;
    const old = this.segments.filter((s) => s !== seg);
    this.segments.splice(0, this.segments.length, seg);
    for (const e of live) {
      e.seg = seg;
      e.written = true;
      seg.live++;
    }
    this.rewriteNeeded = false;
    for (const p of compactions) p.resolve();
    for (const s of old) await fsp.rm(s.file, { force: true }).catch(noop);
  }

  private async openSegment(): Promise<void> {
    await this.fh?.close();
    // made again when it was deleted under the queue: the segments it held are gone, every live entry is
    // written anew (rewriteAll) before a write to the new segment is acknowledged
    const made = await fsp.mkdir(this.dir, { recursive: true });
    if (made !== undefined && this.segments.length) this.rewriteNeeded = true;
    const seq = Math.max(this.lastSeq, this.segments.at(-1)?.seq ?? 0) + 1;
    this.lastSeq = seq;
    const file = path.join(this.dir, `${String(seq).padStart(10, '0')}.seg`);
    this.fh = await fsp.open(file, 'a');
    const seg: Segment = { seq, file, live: 0, size: 0 };
    this.segments.push(seg);
    this.current = seg;
    // The new file's directory entry must survive a crash too.
    await fsyncDir(this.dir);
  }

  private async replay(readOnly = false): Promise<void> {
    const names = (await fsp.readdir(this.dir)).filter((n) => /^\d{10}\.seg$/.test(n)).sort();
    for (const name of names) {
      const file = path.join(this.dir, name);
      let data: Buffer;
      try {
        data = await fsp.readFile(file);
      } catch (err) {
        // deleted since the listing (a fully-done segment another opener's collect removed): nothing live in it
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const seg: Segment = { seq: Number(name.slice(0, 10)), file, live: 0, size: data.length };
      this.segments.push(seg);
      let off = 0;
      while (off + HEADER <= data.length) {
        if (!validRecordAt(data, off)) {
          // A torn or corrupt record: skip to the next whole record, if any (never drop what follows).
          this.stats.tornRecords++;
          const next = nextRecordAfter(data, off + 1);
          if (next < 0) {
            off = data.length;
            break;
          }
          off = next;
          continue;
        }
        const len = data.readUInt32LE(off);
        const end = off + HEADER + len;
        const type = data[off + 8];
        const payload = data.subarray(off + HEADER, end);
        if (type === TYPE_ENTRY) {
          try {
            const r = JSON.parse(payload.toString('utf8')) as { id: number; t: number; s: number; i: T };
            const old = this.entries.get(r.id);
            if (old) {
              old.seg.live--;
              this.liveBytes -= old.bytes;
            }
            this.entries.set(r.id, { id: r.id, item: r.i, bytes: end - off, severity: r.s, enqueuedAt: r.t, seg, written: true });
            seg.live++;
            this.liveBytes += end - off;
            if (r.id >= this.nextId) this.nextId = r.id + 1;
          } catch {
            this.stats.tornRecords++;
          }
        } else if (type === TYPE_DONE && len === 8) {
          const id = payload.readDoubleLE(0);
          const e = this.entries.get(id);
          if (e) {
            this.entries.delete(id);
            e.seg.live--;
            this.liveBytes -= e.bytes;
          }
          if (id >= this.nextId) this.nextId = id + 1;
        }
        off = end;
      }
      if (off < data.length) this.stats.tornRecords++;
    }
    // Oldest first, whatever segment compaction moved an entry to.
    const sorted = [...this.entries.values()].sort((a, b) => a.id - b.id);
    this.entries.clear();
    for (const e of sorted) this.entries.set(e.id, e);
    // Drop fully-done segments (oldest first; a live one keeps the later ones, whose DONE records may refer to it).
    while (!readOnly && this.segments.length && this.segments[0]!.live <= 0) {
      await fsp.rm(this.segments.shift()!.file, { force: true });
    }
  }
}

const ENTRY_START = Buffer.from('{"id":');

/** Whether a whole, intact record (length within the file, known type, CRC-32 matching) starts at `off`. */
function validRecordAt(data: Buffer, off: number): boolean {
  if (off + HEADER > data.length) return false;
  const len = data.readUInt32LE(off);
  const end = off + HEADER + len;
  if (end > data.length) return false;
  const type = data[off + 8];
  if (type === TYPE_DONE) {
    if (len !== 8) return false;
  } else if (type === TYPE_ENTRY) {
    if (len < ENTRY_START.length || data.compare(ENTRY_START, 0, ENTRY_START.length, off + HEADER, off + HEADER + ENTRY_START.length) !== 0) return false;
  } else return false;
  return zlib.crc32(data.subarray(off + 8, end)) === data.readUInt32LE(off + 4);
}

/** The offset of the next intact record at or after `from`, or -1. ENTRY candidates are found by their JSON opening. */
function nextRecordAfter(data: Buffer, from: number): number {
  for (let off = from; off + HEADER <= data.length; off++) {
    const type = data[off + 8];
    if (type !== TYPE_ENTRY && type !== TYPE_DONE) continue;
    if (validRecordAt(data, off)) return off;
  }
  return -1;
}

/** Bytes free for an unprivileged user on the filesystem of `dir`, or undefined when statfs is not available. */
export async function freeBytesOf(dir: string): Promise<number | undefined> {
  try {
    const st = await fsp.statfs(dir);
    return Number(st.bavail) * Number(st.bsize);
  } catch {
    return undefined;
  }
}

/** A whole ENTRY record `{"id","t","s","i"}` built around the item's own JSON (no second stringify), written straight into the frame (one buffer, no intermediate copy). */
function entryRecord(id: number, t: number, severity: number, itemJson: string): Buffer {
  const head = `{"id":${id},"t":${t},"s":${severity},"i":`;
  const len = head.length + Buffer.byteLength(itemJson) + 1;
  const b = Buffer.allocUnsafe(HEADER + len);
  b.writeUInt32LE(len, 0);
  b[8] = TYPE_ENTRY;
  let off = HEADER + b.write(head, HEADER, 'latin1');
  off += b.write(itemJson, off, 'utf8');
  b[off] = 0x7d; // '}'
  b.writeUInt32LE(zlib.crc32(b.subarray(8)), 4);
  return b;
}

/** A DONE record for no entry (ids start at 1): what a failing queue's probe writes. */
const PROBE_RECORD = doneRecord(0);

/** A DONE record for `id`. */
function doneRecord(id: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER + 8);
  b.writeUInt32LE(8, 0);
  b[8] = TYPE_DONE;
  b.writeDoubleLE(id, HEADER);
  b.writeUInt32LE(zlib.crc32(b.subarray(8)), 4);
  return b;
}

/** Writes all of `bufs` at the end of the segment, or throws: a write the kernel takes 0 bytes of cannot progress (EIO), it is not looped on. */
async function writeAll(fh: fsp.FileHandle, bufs: Buffer[]): Promise<void> {
  let buf = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
  while (buf.length) {
    const { bytesWritten } = await fh.write(buf);
    if (!(bytesWritten > 0)) throw Object.assign(new Error('short write: the file system took no more bytes'), { code: 'EIO' });
    buf = buf.subarray(bytesWritten);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the data itself was fsync'd.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function noop(): void {}
