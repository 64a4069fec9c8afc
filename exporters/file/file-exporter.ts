/**
 * Appends one JSON object per line: OTLP/JSON export requests for telemetry (as the Collector's file
 * exporter writes them) and `{"alert": {...}}` for each alert of a notification routed to this exporter.
 * The file is its own durable store (no delivery queue). Writes are off the event loop and grouped: the
 * batches that arrive while a write is in progress are written together in the next one (one writev() on
 * an O_APPEND file: group commit), and the fdatasync of one group runs while the next group is written
 * (pipelined commits). Every policy acknowledges a batch only once its write() completed, so nothing
 * acknowledged is lost if vigil crashes. `fsync` sets when the lines are synced (a documented policy,
 * default `batch`):
 *   - `batch`: a batch is acknowledged once an fdatasync that started after its write completed has
 *     returned (nothing acknowledged is lost to a power cut);
 *   - `interval`: fdatasync every `fsync_interval` (default 1s) while there is unsynced data, beside the
 *     writes; a crash of the machine (not of vigil) can lose up to that much acknowledged data;
 *   - `none`: the kernel writes back when it likes (and at rotation and shutdown).
 * `true` / `false` are accepted for `batch` / `none`. A path that is not a regular file (`/dev/null`, a
 * FIFO, a terminal) is written the same way but never rotated, cut back or synced (fdatasync fails there
 * with EINVAL: it is not an error). A group that cannot be written whole (disk full) is cut back off the
 * file (ftruncate to its size before the group) and every batch of it is refused with a retryable error,
 * so the file is always whole JSON lines and nothing refused is half there. A line cut by a crash (kill -9
 * in the middle of a write) is removed when the exporter starts again, so the file always ends with a
 * whole line. A file deleted while open (its folder too) is noticed after the next write (no link left): that
 * write is done again to a new file at `path` (the folder made again) before its batches are acknowledged.
 */
import fs from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import { type Exporter, type Host, READS_NO_SPAN_FIELDS, type SpanReads } from '../../src/component.ts';
import { freeBytesSync } from '../../src/atomic-file.ts';
import { parseDuration } from '../../src/duration.ts';
import { retryableError } from '../../src/errors.ts';
import type { Logger } from '../../src/logger.ts';
import { type Alert, type Batch, countItems, pickSignal } from '../../src/model.ts';
import { otlpJsonBytes, otlpJsonBytesInto } from '../../src/otlp/json-text.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import { notificationsFor } from '../../src/delivery/notification-exporter.ts';
import { webhookAlert } from '../../src/delivery/webhook-payload.ts';
import type { FileConfig } from './config.ts';

/** Cuts a trailing partial line (no final "\n") left by a crash; returns the bytes removed. */
export function repairTornTail(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return 0;
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, size - 1);
    if (one[0] === 0x0a) return 0;
    // Search backwards for the last newline.
    const chunk = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      const n = fs.readSync(fd, chunk, 0, end - start, start);
      const i = chunk.subarray(0, n).lastIndexOf(0x0a);
      if (i >= 0) {
        fs.ftruncateSync(fd, start + i + 1);
        return size - (start + i + 1);
      }
      end = start;
    }
    fs.ftruncateSync(fd, 0);
    return size;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The file system calls of the commit path: `node:fs` by default. A test puts a failing disk in between
 * (an fdatasync that fails with EIO cannot be had from a real disk on demand); nothing else replaces them.
 */
export interface FileIo {
  /** writev(2): writes `bufs` in order at the end of the O_APPEND file `fd`; resolves the bytes written (may be short). */
  writev(fd: number, bufs: Buffer[]): Promise<number>;
  /** fdatasync(2) of `fd`: resolves once every byte written before the call is on stable storage. */
  fdatasync(fd: number): Promise<void>;
}

const writevAsync = promisify(fs.writev) as (fd: number, bufs: Buffer[]) => Promise<{ bytesWritten: number }>;
const fdatasyncAsync = promisify(fs.fdatasync);
/** The real calls (libuv's thread pool: off the event loop). */
export const nodeFileIo: FileIo = {
  writev: async (fd, bufs) => (await writevAsync(fd, bufs)).bytesWritten,
  fdatasync: (fd) => fdatasyncAsync(fd),
};

/** One consume() call's lines on their way to the file: queued, written at `start`, then acknowledged or refused. */
interface Commit {
  buf: Buffer;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Offset of its first byte in the file, once written (-1 before). */
  start: number;
}

/** An error of the commit path, with what the refusal message says about the file. */
type CommitError = NodeJS.ErrnoException & { undone?: boolean; groupBytes?: number };

/**
 * The file exporter (see this file's comment): JSON lines appended to `path` and fsync'd, rotated past
 * `max_megabytes`; a batch that cannot be written whole is refused with a retryable error.
 *
 * Commits are pipelined: one write (writev of every batch waiting) and one fdatasync can be in flight at
 * once, on two threads of libuv's pool, so the batches that arrive while group N is being synced are
 * written meanwhile and the next fdatasync covers them all. With `fsync: batch` a batch is acknowledged
 * only by an fdatasync that started after its write completed (one that covers it); with `interval` and
 * `none` once its write completed. A failed fdatasync refuses exactly the batches it covers: the file is
 * cut back to the first of them, and the batches written after it (not acknowledged yet) are written
 * again.
 */
export class FileExporter implements Exporter {
  private fd: number | undefined;
  /** Bytes in the file (the offset the next write lands at); 0 for a device. */
  private size = 0;
  private started = false;
  private stopped = false;
  /** Writes fail (disk full): /readyz names the exporter until one works again. */
  private failing = false;
  /** The file is closed and its torn tail repaired before the next write (a cut-back that failed). */
  private reopen = false;
  private repairBeforeOpen = false;
  private readonly maxBytes: number;
  /** The path is a regular file (not a device, FIFO or terminal): rotated, cut back, synced. */
  private regular = true;
  private readonly policy: 'batch' | 'interval' | 'none';
  /** Encoded batches waiting for the next write, in arrival order. */
  private queue: Commit[] = [];
  /** Written, waiting for the fdatasync that covers them (`fsync: batch` on a regular file), in file order. */
  private written: Commit[] = [];
  /** The write loop runs (one at a time); `writer` settles when it stops. */
  private writing = false;
  private writer: Promise<void> = Promise.resolve();
  /** The write in flight, bookkeeping included (a failed fdatasync waits for it before it cuts the file). */
  private writeStep: Promise<void> | undefined;
  /** The sync loop runs (one at a time); `syncer` settles when it stops. */
  private syncing = false;
  private syncer: Promise<void> = Promise.resolve();
  /** A failed fdatasync is being undone: no write starts until the file is cut back. */
  private paused = false;
  /** Bytes written since the last fdatasync started (policies `interval` and `none`). */
  private dirty = false;
  /** Policy `interval`: the timer asked for an fdatasync of what is dirty. */
  private syncDue = false;
  private syncTimer: NodeJS.Timeout | undefined;
  /**
   * Buffers that lines are encoded into, reused once their commit settled (encoding into them saves the
   * copy out of the encoder's scratch buffer, about 9% of its CPU), with their total size.
   */
  private readonly spares: Buffer<ArrayBuffer>[] = [];
  private spareBytes = 0;
  /** Size of the last line encoded into a pooled buffer (a new one is made a quarter larger). */
  private lastLineBytes = 0;
  /** consume() calls queued, written or waiting for their fdatasync. */
  private inFlight = 0;
  /** An encoding ran in this turn of the event loop; the consume() calls in `encodeWaiters` wait for theirs. */
  private encodeTurnTaken = false;
  private readonly encodeWaiters: (() => void)[] = [];

  constructor(
    private readonly id: string,
    private readonly config: FileConfig,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
    private readonly io: FileIo = nodeFileIo,
  ) {
    this.maxBytes = config.max_megabytes * 1024 * 1024;
    this.policy = fsyncPolicy(config.fsync);
  }

  /** All of every span it writes; nothing when it writes no spans. */
  get spanReads(): SpanReads | undefined {
    return this.config.signals.includes('traces') ? undefined : READS_NO_SPAN_FIELDS;
  }

  /** Repairs a torn last line now; the file (and its folder) is opened at the first line to write. */
  async start(_host?: Host): Promise<void> {
    if (this.started) return;
    this.started = true;
    if (isRegularOrAbsent(this.config.path)) {
      const cut = repairTornTail(this.config.path);
      if (cut) this.logger.warn({ path: this.config.path, bytes: cut }, 'removed a partial last line left by an earlier crash');
    }
    if (this.policy === 'interval') {
      this.syncTimer = setInterval(() => {
        if (!this.dirty) return;
        this.syncDue = true;
        this.kickSyncer();
      }, Math.max(1, parseDuration(this.config.fsync_interval)));
      this.syncTimer.unref();
    }
  }

  private open(): void {
    if (this.repairBeforeOpen) {
      const cut = repairTornTail(this.config.path);
      if (cut) this.logger.warn({ path: this.config.path, bytes: cut }, 'removed a partial last line left by a failed write');
      this.repairBeforeOpen = false;
    }
    fs.mkdirSync(path.dirname(path.resolve(this.config.path)), { recursive: true });
    this.fd = fs.openSync(this.config.path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644);
    const st = fs.fstatSync(this.fd);
    this.regular = st.isFile();
    this.size = this.regular ? st.size : 0;
  }

  async consume(batch: Batch): Promise<void> {
    // What this exporter writes of the batch: one line per signal and one per alert of its notifications.
    const counts = { traces: 0, metrics: 0, logs: 0, alerts: 0 };
    const parts: { signal: 'traces' | 'metrics' | 'logs'; part: Batch }[] = [];
    const alerts: Alert[] = [];
    for (const signal of this.config.signals) {
      if (signal === 'alerts') {
        for (const n of notificationsFor(batch, this.id)) for (const a of n.alerts) alerts.push(a);
        counts.alerts = alerts.length;
      } else {
        const part = pickSignal(batch, signal);
        const c = countItems(part)[signal];
        if (c === 0) continue;
        parts.push({ signal, part });
        counts[signal] = c;
      }
    }
    if (!parts.length && !alerts.length) return;
    if (!this.started || this.stopped) throw retryableError(`exporter ${this.id} is not running`);
    const turn = this.encodeTurn();
    if (turn) await turn;
    if (this.stopped) throw retryableError(`exporter ${this.id} is not running`);
    // OTLP/JSON written straight to bytes, "\n" included; the lines keep the order of `signals`. One
    // signal (the usual batch) is written into a buffer of the pool, without a copy.
    const lines: Buffer[] = [];
    let pooled: Buffer<ArrayBuffer> | undefined;
    if (parts.length === 1 && !alerts.length) {
      const into = this.takeSpare();
      const line = otlpJsonBytesInto(parts[0]!.part, parts[0]!.signal, true, into);
      pooled = line.buffer === into.buffer ? into : Buffer.from(line.buffer); // it grew: keep the larger one
      this.lastLineBytes = line.length;
      lines.push(line);
    } else {
      for (const signal of this.config.signals) {
        if (signal === 'alerts') {
          for (const a of alerts) lines.push(Buffer.from(JSON.stringify({ alert: { ...webhookAlert(a), receiver: this.id } }) + '\n'));
        } else {
          const p = parts.find((x) => x.signal === signal);
          if (p) lines.push(otlpJsonBytes(p.part, signal, true));
        }
      }
    }
    const buf = lines.length === 1 ? lines[0]! : Buffer.concat(lines);
    this.inFlight++;
    try {
      await new Promise<void>((resolve, reject) => {
        this.queue.push({ buf, resolve, reject, start: -1 });
        this.kickWriter();
      });
    } catch (err) {
      for (const s of ['traces', 'metrics', 'logs', 'alerts'] as const) this.telemetry.count('failed', s, counts[s]);
      const e = err as CommitError;
      const free = freeBytesSync(path.dirname(path.resolve(this.config.path)));
      const message =
        `cannot write ${this.config.path}: ${e.code === 'ENOSPC' ? 'no space left on device' : e.message} (${e.code ?? 'EIO'}) writing ${e.groupBytes ?? buf.length} bytes` +
        (free !== undefined ? `, ${free} bytes free on its filesystem` : '') +
        (e.undone ? '; the file was cut back to its last whole line (retry later)' : '');
      if (!this.failing) this.logger.error({ err: e.message, code: e.code, path: this.config.path, bytes: buf.length, free_bytes: free }, message);
      this.failing = true;
      this.telemetry.setHealthy(false, message, 'file');
      throw retryableError(`file exporter ${this.id}: ${message}`, 1000, err);
    } finally {
      // Settled: nothing of the commit path holds `buf` any more.
      this.inFlight--;
      if (pooled) this.recycle(pooled);
      if (this.inFlight === 0) this.trimSpares();
    }
    if (this.failing) {
      this.failing = false;
      this.telemetry.setHealthy(true, undefined, 'file');
      this.logger.info({ path: this.config.path }, 'the file can be written again');
    }
    for (const s of ['traces', 'metrics', 'logs', 'alerts'] as const) this.telemetry.count('sent', s, counts[s]);
  }

  /** A buffer of the pool to encode into, or a new one about the size of the last line (and a quarter). */
  private takeSpare(): Buffer<ArrayBuffer> {
    const b = this.spares.pop();
    if (b) {
      this.spareBytes -= b.length;
      return b;
    }
    return Buffer.allocUnsafeSlow(Math.max(MIN_POOLED_BYTES, this.lastLineBytes + (this.lastLineBytes >> 2)));
  }

  /** Back to the pool once its commit settled, within {@link MAX_SPARE_BYTES}; a bigger one is let go. */
  private recycle(b: Buffer<ArrayBuffer>): void {
    if (b.length > MAX_POOLED_BYTES || this.spareBytes + b.length > MAX_SPARE_BYTES) return;
    this.spares.push(b);
    this.spareBytes += b.length;
  }

  /** Nothing in flight: keep {@link IDLE_SPARES} buffers, so an idle exporter holds little memory. */
  private trimSpares(): void {
    while (this.spares.length > IDLE_SPARES) this.spareBytes -= this.spares.pop()!.length;
  }

  /**
   * One encoding per turn of the event loop: the consume() calls that arrive together (a group
   * acknowledged at once) encode one a turn, in arrival order, so the completion of a write or an
   * fdatasync waits for at most one encoding before the next write or fdatasync starts, not for all of
   * them (measured: the event loop busy 95-100% of the time instead of 66%, groups of ~1 batch instead of
   * 8). Resolves at once (undefined) when no encoding ran in this turn.
   */
  private encodeTurn(): Promise<void> | undefined {
    if (this.encodeTurnTaken) return new Promise<void>((resolve) => this.encodeWaiters.push(resolve));
    this.encodeTurnTaken = true;
    setImmediate(this.nextEncodeTurn);
    return undefined;
  }

  /** Hands the turn to the next waiting consume() (the next turn again after it), or frees it. */
  private readonly nextEncodeTurn = (): void => {
    const next = this.encodeWaiters.shift();
    if (!next) {
      this.encodeTurnTaken = false;
      return;
    }
    next();
    setImmediate(this.nextEncodeTurn);
  };

  private kickWriter(): void {
    if (this.writing || this.paused || !this.queue.length) return;
    this.writing = true;
    this.writer = this.writeLoop().finally(() => {
      this.writing = false;
      this.kickWriter();
    });
  }

  private kickSyncer(): void {
    if (this.syncing || this.fd === undefined || (!this.written.length && !this.syncDue)) return;
    this.syncing = true;
    this.syncer = this.syncLoop().finally(() => {
      this.syncing = false;
      this.kickSyncer();
    });
  }

  /**
   * Writes what waits, a group at a time: each group is every batch queued when the previous write ended
   * (as much of it as fits in the file before rotation). It does not wait for the fdatasync of the group
   * before: the sync loop runs beside it.
   */
  private async writeLoop(): Promise<void> {
    while (this.queue.length && !this.paused) {
      try {
        // Close, rotate or open between writes, never with an fdatasync in flight on the file closed.
        if (this.reopen) {
          await this.syncIdle();
          if (this.paused) continue;
          this.close();
        }
        if (this.fd === undefined) this.open();
        if (this.rotationDue()) {
          await this.syncIdle();
          if (this.paused) continue;
          await this.rotate();
        }
      } catch (err) {
        // Nothing of the queue was written: all of it is refused (the file is as it was).
        for (const c of this.queue.splice(0)) c.reject(Object.assign(err as CommitError, { undone: true }));
        continue;
      }
      const group = this.takeGroup();
      const step = this.writeGroup(group);
      this.writeStep = step;
      await step;
      this.writeStep = undefined;
    }
  }

  /** The file holds lines and the next batch would take it past max_megabytes. */
  private rotationDue(): boolean {
    return this.regular && this.maxBytes > 0 && this.size > 0 && this.size + this.queue[0]!.buf.length > this.maxBytes;
  }

  /** The next group: the queued batches that fit before rotation is due (always the first one). */
  private takeGroup(): Commit[] {
    if (!this.regular || this.maxBytes <= 0) return this.queue.splice(0);
    let bytes = this.size + this.queue[0]!.buf.length;
    let n = 1;
    while (n < this.queue.length && bytes + this.queue[n]!.buf.length <= this.maxBytes) bytes += this.queue[n++]!.buf.length;
    return this.queue.splice(0, n);
  }

  /** One group, written whole (writev looped until whole) or cut back off the file and refused. */
  private async writeGroup(group: Commit[]): Promise<void> {
    const before = this.size;
    let bytes = 0;
    for (const c of group) {
      c.start = before + bytes;
      bytes += c.buf.length;
    }
    try {
      // One writev (looped until whole) on an O_APPEND file, without copying the batches into one buffer; a
      // crash can only cut the last line.
      let i = 0;
      let off = 0;
      while (i < group.length) {
        const parts: Buffer[] = [];
        if (off) parts.push(group[i]!.buf.subarray(off));
        for (let j = off ? i + 1 : i; j < group.length && parts.length < IOV_MAX; j++) parts.push(group[j]!.buf);
        const n0 = await this.io.writev(this.fd!, parts);
        if (!(n0 > 0)) throw Object.assign(new Error('short write: the file system took no more bytes'), { code: 'EIO' });
        let n = off + n0;
        while (i < group.length && n >= group[i]!.buf.length) n -= group[i++]!.buf.length;
        off = n;
      }
    } catch (err) {
      const e = err as CommitError;
      e.undone = this.regular ? this.undo(before) : false;
      e.groupBytes = bytes;
      for (const c of group) c.reject(e);
      return;
    }
    if (this.regular && this.unlinked()) {
      // The file (or its folder) was deleted under the exporter: this group went to a file no one can open
      // again. It is written again, first, to a new file at `path` (its folder made again) and acknowledged then.
      this.logger.warn({ path: this.config.path, bytes }, 'the output file was deleted while open: writing to a new one at the same path');
      this.reopen = true;
      for (const c of group) c.start = -1;
      this.queue.unshift(...group);
      return;
    }
    if (this.regular) this.size += bytes;
    if (this.policy === 'batch' && this.regular) {
      for (const c of group) this.written.push(c);
      this.kickSyncer();
    } else {
      if (this.regular) this.dirty = true;
      for (const c of group) c.resolve();
    }
  }

  /**
   * fdatasync's what was written, one call at a time, beside the writes. `batch`: each call covers the
   * batches whose write had completed when it started, and acknowledges them when it returns. `interval`:
   * one call when the timer asks; a failure is logged and the next interval tries again.
   */
  private async syncLoop(): Promise<void> {
    while (this.written.length || this.syncDue) {
      // Nothing open to sync (a file that could not be opened again): nothing written waits then either.
      if (this.fd === undefined) {
        this.syncDue = false;
        break;
      }
      const covered = this.written.splice(0);
      const fd = this.fd;
      this.syncDue = false;
      const wasDirty = this.dirty;
      this.dirty = false;
      try {
        if (this.regular) await this.io.fdatasync(fd);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EINVAL' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          this.regular = false; // a special file that reports itself as regular: write on, never sync
        } else if (covered.length) {
          await this.failSync(covered, err as CommitError);
          continue;
        } else {
          this.dirty ||= wasDirty;
          this.logger.warn({ err: (err as Error).message, path: this.config.path }, 'fdatasync failed; retried at the next interval');
          continue;
        }
      }
      for (const c of covered) c.resolve();
    }
  }

  /**
   * An fdatasync that covered `covered` failed: their bytes may not be on disk. Waits for the write in
   * flight, cuts the file back to the first of them and refuses them; the batches written after them are
   * queued again in front (their order kept), or refused too when the file cannot be cut back.
   */
  private async failSync(covered: Commit[], err: CommitError): Promise<void> {
    this.paused = true;
    try {
      while (this.writeStep) await this.writeStep;
      const cut = covered[0]!.start;
      const after = this.written.splice(0);
      let bytes = 0;
      for (const c of covered) bytes += c.buf.length;
      err.groupBytes = bytes;
      err.undone = this.undo(cut);
      for (const c of covered) c.reject(err);
      if (err.undone) this.queue.unshift(...after);
      else for (const c of after) c.reject(err);
    } finally {
      this.paused = false;
      this.kickWriter();
    }
  }

  /** Resolves once no fdatasync is in flight and nothing written waits for one. */
  private async syncIdle(): Promise<void> {
    while (this.syncing || (this.written.length && this.fd !== undefined)) {
      this.kickSyncer();
      await this.syncer;
    }
  }

  /**
   * Cuts the file back to `size` (its size before the failed group), so it stays whole JSON lines; when
   * even that fails, the file is closed (once no fdatasync is in flight) and its torn tail is repaired
   * before the next write.
   */
  private undo(size: number): boolean {
    try {
      fs.ftruncateSync(this.fd!, size);
      this.size = size;
      return true;
    } catch {
      this.reopen = true;
      this.repairBeforeOpen = true;
      return false;
    }
  }

  /** Whether the open file has no link left (deleted, or its folder removed, while open). */
  private unlinked(): boolean {
    try {
      return fs.fstatSync(this.fd!).nlink === 0;
    } catch {
      return false;
    }
  }

  private close(): void {
    try {
      fs.closeSync(this.fd!);
    } catch {
      // already unusable
    }
    this.fd = undefined;
    this.reopen = false;
  }

  /** path -> path.1 -> path.2 ... (the oldest beyond max_backups is deleted); the old file is synced first. */
  private async rotate(): Promise<void> {
    // `batch`: every line of it is synced already (syncIdle); otherwise sync what the kernel still holds.
    if (this.dirty) await this.io.fdatasync(this.fd!);
    this.dirty = false;
    this.close();
    const p = this.config.path;
    const keep = this.config.max_backups;
    if (keep === 0) {
      fs.rmSync(p, { force: true });
    } else {
      fs.rmSync(`${p}.${keep}`, { force: true });
      for (let i = keep - 1; i >= 1; i--) {
        if (fs.existsSync(`${p}.${i}`)) fs.renameSync(`${p}.${i}`, `${p}.${i + 1}`);
      }
      fs.renameSync(p, `${p}.1`);
    }
    this.open();
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.syncTimer) clearInterval(this.syncTimer);
    while (this.writing || this.syncing) await Promise.all([this.writer, this.syncer]);
    if (this.fd !== undefined) {
      try {
        if (this.regular) fs.fsyncSync(this.fd);
      } finally {
        this.close();
      }
    }
  }
}

/** Buffers given to one writev (Linux's IOV_MAX). */
const IOV_MAX = 1024;
/** Smallest pooled buffer, and largest one kept (a huge batch's buffer is let go after it). */
const MIN_POOLED_BYTES = 64 * 1024;
const MAX_POOLED_BYTES = 4 * 1024 * 1024;
/** Bytes the pool keeps at most while busy (16 batches of 512 GenAI spans in flight take ~12 MiB). */
const MAX_SPARE_BYTES = 24 * 1024 * 1024;
/** Buffers kept when nothing is in flight. */
const IDLE_SPARES = 2;

/** `fsync` as configured -> the policy (`true` = `batch`, `false` = `none`). */
function fsyncPolicy(v: FileConfig['fsync']): 'batch' | 'interval' | 'none' {
  return v === true ? 'batch' : v === false ? 'none' : v;
}

/** True when `file` is a regular file or does not exist yet (a device or FIFO gets no tail repair). */
function isRegularOrAbsent(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return true;
  }
}
