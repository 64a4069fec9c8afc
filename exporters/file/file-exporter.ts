/**
 * Appends one JSON object per line: OTLP/JSON export requests for telemetry (as the Collector's file
 * exporter writes them) and `{"alert": {...}}` for each alert of a notification routed to this exporter.
 * The file is its own durable store (no delivery queue). Writes are off the event loop and grouped: the
 * batches that arrive while a write is in progress are written together in the next one (one writev() on
 * an O_APPEND file, then one fdatasync for the group: group commit). `fsync` sets when the lines are synced
 * (a documented policy, default `batch`):
 *   - `batch`: each group is fdatasync'd before its consume() calls resolve (nothing acknowledged is lost
 *     to a power cut);
 *   - `interval`: fdatasync every `fsync_interval` (default 1s) while there is unsynced data; a crash of
 *     the machine (not of vigil) can lose up to that much acknowledged data;
 *   - `none`: the kernel writes back when it likes (and at rotation and shutdown).
 * `true` / `false` are accepted for `batch` / `none`. A path that is not a regular file (`/dev/null`, a
 * FIFO, a terminal) is written the same way but never rotated, cut back or synced (fdatasync fails there
 * with EINVAL: it is not an error). A group that cannot be written whole (disk full) is cut back off the
 * file (ftruncate to its size before the group) and every batch of it is refused with a retryable error,
 * so the file is always whole JSON lines and nothing refused is half there. A line cut by a crash (kill -9
 * in the middle of a write) is removed when the exporter starts again, so the file always ends with a
 * whole line.
 */
import fs from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';
import type { Exporter, Host } from '../../src/component.ts';
import { freeBytesSync } from '../../src/atomic-file.ts';
import { parseDuration } from '../../src/duration.ts';
import { retryableError } from '../../src/errors.ts';
import type { Logger } from '../../src/logger.ts';
import { type Batch, countItems, pickSignal } from '../../src/model.ts';
import { otlpJsonBytes } from '../../src/otlp/json-text.ts';
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
 * The file exporter (see this file's comment): JSON lines appended to `path` and fsync'd, rotated past
 * `max_megabytes`; a batch that cannot be written whole is refused with a retryable error.
 */
export class FileExporter implements Exporter {
  private fd: number | undefined;
  private size = 0;
  private started = false;
  private stopped = false;
  /** Writes fail (disk full): /readyz names the exporter until one works again. */
  private failing = false;
  private repairBeforeOpen = false;
  private readonly maxBytes: number;
  /** The path is a regular file (not a device, FIFO or terminal): rotated, cut back, synced. */
  private regular = true;
  /** Batches waiting for the next group write, and the write in progress. */
  private pending: { buf: Buffer; resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushing: Promise<void> | undefined;
  /** Bytes written since the last fdatasync (policy `interval`). */
  private dirty = false;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly policy: 'batch' | 'interval' | 'none';

  constructor(
    private readonly id: string,
    private readonly config: FileConfig,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
  ) {
    this.maxBytes = config.max_megabytes * 1024 * 1024;
    this.policy = fsyncPolicy(config.fsync);
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
      this.syncTimer = setInterval(() => void this.syncNow(), Math.max(1, parseDuration(this.config.fsync_interval)));
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
    // One line per signal (OTLP/JSON written straight to bytes, "\n" included) and one per alert.
    const lines: Buffer[] = [];
    const counts = { traces: 0, metrics: 0, logs: 0, alerts: 0 };
    for (const signal of this.config.signals) {
      if (signal === 'alerts') {
        for (const n of notificationsFor(batch, this.id))
          for (const a of n.alerts) {
            lines.push(Buffer.from(JSON.stringify({ alert: { ...webhookAlert(a), receiver: this.id } }) + '\n'));
            counts.alerts++;
          }
      } else {
        const part = pickSignal(batch, signal);
        const c = countItems(part)[signal];
        if (c === 0) continue;
        lines.push(otlpJsonBytes(part, signal, true));
        counts[signal] += c;
      }
    }
    if (!lines.length) return;
    if (!this.started || this.stopped) throw retryableError(`exporter ${this.id} is not running`);
    const buf = lines.length === 1 ? lines[0]! : Buffer.concat(lines);
    try {
      await new Promise<void>((resolve, reject) => {
        this.pending.push({ buf, resolve, reject });
        this.flushing ??= this.flushLoop();
      });
    } catch (err) {
      for (const s of ['traces', 'metrics', 'logs', 'alerts'] as const) this.telemetry.count('failed', s, counts[s]);
      const e = err as NodeJS.ErrnoException & { undone?: boolean; groupBytes?: number };
      const free = freeBytesSync(path.dirname(path.resolve(this.config.path)));
      const message =
        `cannot write ${this.config.path}: ${e.code === 'ENOSPC' ? 'no space left on device' : e.message} (${e.code ?? 'EIO'}) writing ${e.groupBytes ?? buf.length} bytes` +
        (free !== undefined ? `, ${free} bytes free on its filesystem` : '') +
        (e.undone ? '; the file was cut back to its last whole line (retry later)' : '');
      if (!this.failing) this.logger.error({ err: e.message, code: e.code, path: this.config.path, bytes: buf.length, free_bytes: free }, message);
      this.failing = true;
      this.telemetry.setHealthy(false, message, 'file');
      throw retryableError(`file exporter ${this.id}: ${message}`, 1000, err);
    }
    if (this.failing) {
      this.failing = false;
      this.telemetry.setHealthy(true, undefined, 'file');
      this.logger.info({ path: this.config.path }, 'the file can be written again');
    }
    for (const s of ['traces', 'metrics', 'logs', 'alerts'] as const) this.telemetry.count('sent', s, counts[s]);
  }

  /** Writes the waiting batches a group at a time until none wait (one loop runs at a time). */
  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length) {
        const group = this.pending.splice(0);
        try {
          await this.writeGroup(group.map((g) => g.buf));
          for (const g of group) g.resolve();
        } catch (err) {
          for (const g of group) g.reject(err as Error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** One group: rotate if due, write whole, sync by the policy; on failure cut the file back. */
  private async writeGroup(bufs: Buffer[]): Promise<void> {
    let before = -1;
    let bytes = 0;
    for (const b of bufs) bytes += b.length;
    try {
      if (this.fd === undefined) this.open();
      if (this.regular && this.maxBytes > 0 && this.size > 0 && this.size + bytes > this.maxBytes) await this.rotate();
      before = this.size;
      // One writev (looped until whole) for the group on an O_APPEND file, without copying the batches into
      // one buffer; a crash can only cut the last line.
      let i = 0;
      let off = 0;
      while (i < bufs.length) {
        const parts = off ? [bufs[i]!.subarray(off), ...bufs.slice(i + 1, i + IOV_MAX)] : bufs.slice(i, i + IOV_MAX);
        const { bytesWritten } = await writev(this.fd!, parts);
        if (bytesWritten <= 0) throw Object.assign(new Error('short write: the file system took no more bytes'), { code: 'EIO' });
        let n = off + bytesWritten;
        while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length;
        off = n;
      }
      if (this.policy === 'batch') await this.sync();
      else this.dirty = true;
      if (this.regular) this.size += bytes;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { undone?: boolean; groupBytes?: number };
      e.undone = before >= 0 && this.regular ? this.undo(before) : before < 0;
      e.groupBytes = bytes;
      throw e;
    }
  }

  /** fdatasync of the open file; a file that cannot be synced (a device: EINVAL) is not an error. */
  private async sync(): Promise<void> {
    if (this.fd === undefined || !this.regular) return;
    try {
      await fdatasync(this.fd);
      this.dirty = false;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        this.regular = false; // a special file that reports itself as regular: write on, never sync
        return;
      }
      throw err;
    }
  }

  /** Policy `interval`: syncs what was written since the last sync; a failure is logged and retried. */
  private async syncNow(): Promise<void> {
    if (!this.dirty || this.flushing) return;
    try {
      await this.sync();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, path: this.config.path }, 'fdatasync failed; retried at the next interval');
    }
  }

  /**
   * Cuts the file back to `size` (its size before the failed group), so it stays whole JSON lines; when
   * even that fails, the file is closed and its torn tail is repaired before the next write.
   */
  private undo(size: number): boolean {
    try {
      fs.ftruncateSync(this.fd!, size);
      return true;
    } catch {
      try {
        fs.closeSync(this.fd!);
      } catch {
        // already unusable
      }
      this.fd = undefined;
      this.repairBeforeOpen = true;
      return false;
    }
  }

  /** path -> path.1 -> path.2 ... (the oldest beyond max_backups is deleted); the old file is synced first. */
  private async rotate(): Promise<void> {
    if (this.policy !== 'none' || this.dirty) await this.sync();
    fs.closeSync(this.fd!);
    this.fd = undefined;
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
    while (this.flushing) await this.flushing;
    if (this.fd !== undefined) {
      try {
        if (this.regular) fs.fsyncSync(this.fd);
      } finally {
        fs.closeSync(this.fd);
        this.fd = undefined;
      }
    }
  }
}

const writev = promisify(fs.writev) as (fd: number, bufs: Buffer[]) => Promise<{ bytesWritten: number; buffers: Buffer[] }>;
/** Buffers given to one writev (Linux's IOV_MAX). */
const IOV_MAX = 1024;
const fdatasync = promisify(fs.fdatasync);

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
