/** JSON log lines on stdout: `{"level":"info","time":"...","component":"receiver/otlp","message":"..."}`. */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

/** The daemon's logger: a pino logger writing one JSON object per line. */
export type Logger = PinoLogger;
/** The log levels a user may set (`service.telemetry.logs.level`), lowest to highest. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** At most this many writes a second while lines come faster (a line after a quiet spell is written at once). */
export const COALESCE_MS = 100;
/** Buffered lines are written at once when they reach this many bytes. */
const COALESCE_BYTES = 64 * 1024;
/** Lines at this pino level (warn) and above are written at once, after whatever was buffered before them. */
const URGENT_LEVEL = 40;

/** What {@link CoalescingDestination} writes to: one `write` per flush (pino's SonicBoom, or a test's sink). */
export interface LineSink {
  write(data: string): unknown;
}

/** pino's destination metadata flag (pino/lib/symbols.js `needsMetadataGsym`). */
const PINO_METADATA: unique symbol = Symbol.for('pino.metadata') as never;

const live = new Set<CoalescingDestination>();
let exitHooked = false;

/**
 * A pino destination that coalesces log lines that come faster than one per {@link COALESCE_MS}: the first line
 * after a quiet spell, and every `warn`, `error` or `fatal` line, is written at once (after the lines buffered
 * before it, so order is kept); lines that follow within the interval are buffered and written together when it
 * ends, or at once past 64 KiB. A line per batch (the `debug` exporter at 100 batches a second) thus costs one
 * write syscall per 100 ms instead of one per line: measured at 10,000 spans/s in 100-span requests, the
 * per-line writeSync to a pipe was 15-20% of the daemon's busy main thread. Whatever is buffered is written
 * synchronously when the process exits (`process.on('exit')`), so `process.exit` loses nothing; a process killed
 * by SIGKILL or a V8 fatal error loses at most the last 100 ms of info and debug lines.
 */
export class CoalescingDestination implements DestinationStream {
  /** Asks pino to set `lastLevel` (and the other `last*` fields) before each write (pino's destination metadata). */
  readonly [PINO_METADATA] = true;
  /** The numeric pino level of the line being written (set by pino, see above). */
  lastLevel = 0;
  /** Set by pino with lastLevel; cleared at each write so that a logged object is not held until the next line. */
  lastObj: unknown;
  lastLogger: unknown;
  private pending: string[] = [];
  private pendingBytes = 0;
  private lastWrite = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  /** `now`: a monotonic clock in ms (tests inject one). */
  constructor(
    private readonly sink: LineSink,
    private readonly now: () => number = () => performance.now(),
  ) {
    live.add(this);
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const d of live) d.flush();
      });
    }
  }

  write(line: string): void {
    const urgent = this.lastLevel >= URGENT_LEVEL;
    this.lastObj = undefined;
    this.lastLogger = undefined;
    const t = this.now();
    if (this.pending.length === 0 && t - this.lastWrite >= COALESCE_MS) {
      this.lastWrite = t;
      this.sink.write(line);
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= COALESCE_BYTES || urgent) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), Math.max(0, COALESCE_MS - (t - this.lastWrite))).unref();
  }

  /** Writes whatever is buffered, synchronously when the sink is (SonicBoom with `sync: true`). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.lastWrite = this.now();
    this.sink.write(data);
  }

  /** Flushes and stops flushing at exit (a logger that is no longer used). */
  close(): void {
    this.flush();
    live.delete(this);
  }
}

/**
 * A pino logger that writes JSON lines `{"level","time" (ISO 8601),"message",...}` at `level` and above, to
 * `destination`, or to stdout (fd 1) with synchronous writes coalesced by {@link CoalescingDestination}.
 */
export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? new CoalescingDestination(pino.destination({ dest: 1, sync: true })),
  );
}

/** A logger that writes nothing (tests, and `vigil test`). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
