/**
 * A durable FIFO of JSON items on disk: length+checksum framed records appended to segment files, with
 * group commit (appends that arrive while a write is in flight share the next write and fsync).
 *
 * Records: `[u32 payload length][u32 crc32(type byte + payload)][u8 type][payload]`, little endian.
 * - type 1, ENTRY: payload is JSON `{"id", "t" (enqueued at, ms), "s" (severity rank), "i" (the item)}`;
 * - type 2, DONE: payload is the id as a float64 (the entry was delivered, dead-lettered or dropped).
 * A DONE record is always written to the same or a later segment than its ENTRY, and segments are deleted
 * oldest first once none of their entries is live, so a DONE record is never deleted while its ENTRY
 * still exists. On open every segment is replayed; a record whose length runs past the end of its file or whose
 * checksum does not match (a crash in the middle of an append) ends that segment's replay: it and what
 * follows in that file are ignored, and nothing before it or in other segments is affected. Writing always
 * continues in a fresh segment. An ENTRY is fsync'd before `append` resolves; DONE records are written
 * without fsync (a kill -9 keeps them, as they reach the page cache; a power cut may bring an entry back:
 * delivery is at least once).
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
}

/** Counters of what the queue wrote (for the write-amplification figure in bench/delivery.ts). */
export interface DiskQueueStats {
  bytesWritten: number;
  writes: number;
  fsyncs: number;
  /** Records skipped at open because they were torn or corrupt. */
  tornRecords: number;
}

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
  readonly stats: DiskQueueStats = { bytesWritten: 0, writes: 0, fsyncs: 0, tornRecords: 0 };

  private constructor(
    readonly dir: string,
    private readonly segmentBytes: number,
  ) {}

  /**
   * Opens (creating) the queue in `dir` and replays what an earlier run left there. `segmentBytes` is the
   * size past which a segment is closed for writing (tests make it small).
   */
  static async open<T>(dir: string, opts: { segmentBytes?: number } = {}): Promise<DiskQueue<T>> {
    const q = new DiskQueue<T>(dir, opts.segmentBytes ?? SEGMENT_BYTES);
    await fsp.mkdir(dir, { recursive: true });
    await q.replay();
    await q.openSegment();
    return q;
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
      const buf = frame(TYPE_ENTRY, entryPayload(id, now, severity, json ?? JSON.stringify(item)));
      const e: InternalEntry<T> = { id, item, bytes: buf.length, severity, enqueuedAt: now, seg: this.current!, written: false };
      this.entries.set(id, e);
      this.liveBytes += buf.length;
      bufs.push(buf);
      out.push(e);
    }
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ buf: Buffer.concat(bufs), sync: true, resolve, reject, entries: out as InternalEntry<unknown>[] });
      this.kick();
    }).then(() => out);
  }

  /** Marks an entry done (delivered, dead-lettered or dropped): it will not come back after a restart. */
  remove(id: number): void {
    const e = this.entries.get(id);
    if (!e) return;
    this.entries.delete(id);
    this.liveBytes -= e.bytes;
    const b = Buffer.alloc(8);
    b.writeDoubleLE(id);
    this.pending.push({ buf: frame(TYPE_DONE, b), sync: false, resolve: noop, reject: noop });
    if (e.written) e.seg.live--;
    this.kick();
  }

  /** Writes what is pending and closes the file. The queue stays on disk for the next open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing || this.pending.length) await (this.flushing ?? this.flush());
    await this.fh?.close();
    this.fh = undefined;
  }

  private kick(): void {
    if (!this.flushing && this.fh) this.flushing = this.flush();
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length && this.fh) {
        const batch = this.pending;
        this.pending = [];
        if (this.current!.size >= this.segmentBytes) await this.openSegment();
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
        try {
          await writeAll(this.fh, bufs);
          seg.size += n;
          this.stats.bytesWritten += n;
          this.stats.writes++;
          if (sync) {
            await this.fh.datasync();
            this.stats.fsyncs++;
          }
          for (const p of batch) p.resolve();
        } catch (err) {
          for (const p of batch) p.reject(err as Error);
        }
      }
      await this.collect();
    } finally {
      this.flushing = undefined;
      if (this.pending.length && this.fh) this.kick();
    }
  }

  /** Deletes fully-done segments from the oldest on; moves a stuck head's few live entries to the tail. */
  private async collect(): Promise<void> {
    while (this.segments.length > 1 && this.segments[0]!.live <= 0 && this.segments[0] !== this.current) {
      const seg = this.segments.shift()!;
      await fsp.rm(seg.file, { force: true });
    }
    if (!this.compacting && this.segments.length > COMPACT_AFTER_SEGMENTS && this.segments[0] !== this.current) {
      this.compacting = true;
      const head = this.segments[0]!;
      const moved = [...this.entries.values()].filter((e) => e.seg === head);
      // Re-append the same records (same ids) at the tail; the head is deleted once they are fsync'd.
      const bufs = moved.map((e) => frame(TYPE_ENTRY, entryPayload(e.id, e.enqueuedAt, e.severity, JSON.stringify(e.item))));
      head.live -= moved.length;
      for (const e of moved) e.written = false;
      void new Promise<void>((resolve, reject) => {
        this.pending.push({ buf: Buffer.concat(bufs), sync: true, resolve, reject, entries: moved as InternalEntry<unknown>[] });
      }).finally(() => {
        this.compacting = false;
      });
    }
  }

  private async openSegment(): Promise<void> {
    await this.fh?.close();
    const seq = (this.segments.at(-1)?.seq ?? 0) + 1;
    const file = path.join(this.dir, `${String(seq).padStart(10, '0')}.seg`);
    this.fh = await fsp.open(file, 'a');
    const seg: Segment = { seq, file, live: 0, size: 0 };
    this.segments.push(seg);
    this.current = seg;
    // The new file's directory entry must survive a crash too.
    await fsyncDir(this.dir);
  }

  private async replay(): Promise<void> {
    const names = (await fsp.readdir(this.dir)).filter((n) => /^\d{10}\.seg$/.test(n)).sort();
    for (const name of names) {
      const file = path.join(this.dir, name);
      const data = await fsp.readFile(file);
      const seg: Segment = { seq: Number(name.slice(0, 10)), file, live: 0, size: data.length };
      this.segments.push(seg);
      let off = 0;
      while (off + HEADER <= data.length) {
        const len = data.readUInt32LE(off);
        const crc = data.readUInt32LE(off + 4);
        const end = off + HEADER + len;
        if (end > data.length || zlib.crc32(data.subarray(off + 8, end)) !== crc) break;
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
    while (this.segments.length && this.segments[0]!.live <= 0) {
      await fsp.rm(this.segments.shift()!.file, { force: true });
    }
  }
}

/** The JSON of an ENTRY record, `{"id","t","s","i"}`, built around the item's own JSON (no second stringify). */
function entryPayload(id: number, t: number, severity: number, itemJson: string): Buffer {
  return Buffer.from(`{"id":${id},"t":${t},"s":${severity},"i":${itemJson}}`);
}

function frame(type: number, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(HEADER + payload.length);
  b.writeUInt32LE(payload.length, 0);
  b[8] = type;
  payload.copy(b, HEADER);
  b.writeUInt32LE(zlib.crc32(b.subarray(8)), 4);
  return b;
}

async function writeAll(fh: fsp.FileHandle, bufs: Buffer[]): Promise<void> {
  let buf = bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs);
  while (buf.length) {
    const { bytesWritten } = await fh.write(buf);
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
