/**
 * Appends one JSON object per line: OTLP/JSON export requests for telemetry (as the Collector's file
 * exporter writes them) and `{"alert": {...}}` for each alert of a notification routed to this exporter.
 * The file is its own durable store (no delivery queue): a batch is one write() on an O_APPEND file, fsync'd
 * before consume() resolves. A batch that cannot be written whole (disk full) is cut back off the file
 * (ftruncate to its size before the batch) and refused with a retryable error, so the file is always whole
 * JSON lines and nothing refused is half there. A line cut by a crash (kill -9 in the middle of a write)
 * is removed when the exporter starts again, so the file always ends with a whole line.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Exporter, Host } from '../../src/component.ts';
import { freeBytesSync } from '../../src/atomic-file.ts';
import { retryableError } from '../../src/errors.ts';
import type { Logger } from '../../src/logger.ts';
import { type Batch, countItems, pickSignal } from '../../src/model.ts';
import { stringifyOtlpJson } from '../../src/otlp/json.ts';
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

export class FileExporter implements Exporter {
  private fd: number | undefined;
  private size = 0;
  private started = false;
  private stopped = false;
  /** Writes fail (disk full): /readyz names the exporter until one works again. */
  private failing = false;
  private repairBeforeOpen = false;
  private readonly maxBytes: number;

  constructor(
    private readonly id: string,
    private readonly config: FileConfig,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
  ) {
    this.maxBytes = config.max_megabytes * 1024 * 1024;
  }

  /** Repairs a torn last line now; the file (and its folder) is opened at the first line to write. */
  async start(_host?: Host): Promise<void> {
    if (this.started) return;
    this.started = true;
    const cut = repairTornTail(this.config.path);
    if (cut) this.logger.warn({ path: this.config.path, bytes: cut }, 'removed a partial last line left by an earlier crash');
  }

  private open(): void {
    if (this.repairBeforeOpen) {
      const cut = repairTornTail(this.config.path);
      if (cut) this.logger.warn({ path: this.config.path, bytes: cut }, 'removed a partial last line left by a failed write');
      this.repairBeforeOpen = false;
    }
    fs.mkdirSync(path.dirname(path.resolve(this.config.path)), { recursive: true });
    this.fd = fs.openSync(this.config.path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644);
    this.size = fs.fstatSync(this.fd).size;
  }

  async consume(batch: Batch): Promise<void> {
    const lines: string[] = [];
    const counts = { traces: 0, metrics: 0, logs: 0, alerts: 0 };
    for (const signal of this.config.signals) {
      if (signal === 'alerts') {
        for (const n of notificationsFor(batch, this.id))
          for (const a of n.alerts) {
            lines.push(JSON.stringify({ alert: { ...webhookAlert(a), receiver: this.id } }));
            counts.alerts++;
          }
      } else {
        const part = pickSignal(batch, signal);
        const c = countItems(part)[signal];
        if (c === 0) continue;
        lines.push(stringifyOtlpJson(part, signal));
        counts[signal] += c;
      }
    }
    if (!lines.length) return;
    if (!this.started || this.stopped) throw retryableError(`exporter ${this.id} is not running`);
    const buf = Buffer.from(lines.join('\n') + '\n');
    let before = -1;
    try {
      if (this.fd === undefined) this.open();
      if (this.maxBytes > 0 && this.size > 0 && this.size + buf.length > this.maxBytes) this.rotate();
      before = this.size;
      // One write (looped until whole) for the batch on an O_APPEND file; a crash can only cut the last line.
      let off = 0;
      while (off < buf.length) {
        const n = fs.writeSync(this.fd!, buf, off, buf.length - off);
        if (n <= 0) throw Object.assign(new Error('short write: the file system took no more bytes'), { code: 'EIO' });
        off += n;
      }
      if (this.config.fsync) fs.fdatasyncSync(this.fd!);
      this.size += buf.length;
    } catch (err) {
      const undone = before >= 0 ? this.undo(before) : true;
      for (const s of ['traces', 'metrics', 'logs', 'alerts'] as const) this.telemetry.count('failed', s, counts[s]);
      const e = err as NodeJS.ErrnoException;
      const free = freeBytesSync(path.dirname(path.resolve(this.config.path)));
      const message =
        `cannot write ${this.config.path}: ${e.code === 'ENOSPC' ? 'no space left on device' : e.message} (${e.code ?? 'EIO'}) writing ${buf.length} bytes` +
        (free !== undefined ? `, ${free} bytes free on its filesystem` : '') +
        (undone ? '; the file was cut back to its last whole line (retry later)' : '');
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

  /**
   * Cuts the file back to `size` (its size before the failed batch), so it stays whole JSON lines; when
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

  /** path -> path.1 -> path.2 ... (the oldest beyond max_backups is deleted). */
  private rotate(): void {
    if (this.config.fsync) fs.fdatasyncSync(this.fd!);
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
    if (this.fd !== undefined) {
      try {
        fs.fsyncSync(this.fd);
      } finally {
        fs.closeSync(this.fd);
        this.fd = undefined;
      }
    }
  }
}
