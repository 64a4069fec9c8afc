import v8 from 'node:v8';
import { type Consumer, type Processor, READS_NO_SPAN_FIELDS, type SpanReads } from '../../src/component.ts';
import { fullGc } from '../../src/heap.ts';
import { parseDuration } from '../../src/duration.ts';
import { retryableError } from '../../src/errors.ts';
import type { Logger } from '../../src/logger.ts';
import { LIMITER_BUDGET_FRACTION, type MemoryBudget, memoryBudget } from '../../src/memory-budget.ts';
import { type Batch, countItems, SIGNALS } from '../../src/model.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import type { MemoryLimiterConfig } from './config.ts';
import { timerDelay } from '../../src/timer-delay.ts';

export { fullGc };

/** Reads the memory in use (V8 heap + buffers outside it), in bytes. Replaceable for tests. */
export type MemoryReader = () => number;
/** The default {@link MemoryReader}: `heapUsed + external` of `process.memoryUsage()`, bytes. */
export const readMemory: MemoryReader = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

/**
 * Refuses data with a retryable error (receivers answer 503 + Retry-After / UNAVAILABLE) while memory in
 * use is above the soft limit (`limit_mib - spike_limit_mib`), measured every `check_interval`.
 *
 * Measured above the soft limit, it first runs a full collection (at most once per 2 s) and measures
 * again, as the Collector's limiter runs the Go GC: a heap full of garbage is not a reason to refuse, and
 * once the input stops nothing else would make V8 collect, so the process would refuse for minutes what it
 * has room for. The limits are also kept under V8's own heap limit (`--max-old-space-size`): with
 * `limit_mib` above it the process would die of "heap out of memory" before refusing anything, so the
 * hard limit becomes 90% of V8's limit and the soft limit keeps its distance below it.
 *
 * It also sets the process-wide memory budget (src/memory-budget.ts) to half of its soft limit: the stores
 * that grow with their input fold or shed new series past it instead of filling the heap with data that
 * stays for a whole window or retention (which would keep the heap over the soft limit, and every client
 * refused, for minutes after a burst). And it reads the budget between its measurements: the heap it
 * measured plus the bytes accounted since then is what it compares with the soft limit for each batch, so
 * a burst is refused at once rather than a `check_interval` later.
 */
/** V8's heap limit of this process (`--max-old-space-size` or its default), in bytes. */
const v8HeapLimit = v8.getHeapStatistics().heap_size_limit;

// The memory_limiter processor (see the comment above `v8HeapLimit`): refuses data with a retryable error while
// memory in use is above the soft limit.
export class MemoryLimiter implements Processor {
  private timer: NodeJS.Timeout | undefined;
  private refusing = false;
  private lastGc = 0;
  private readonly soft: number;
  private readonly hard: number;
  private readonly intervalMs: number;
  /** Bytes accounted in the budget when memory was last measured, and that measurement. */
  private accountedAtRead = 0;
  private lastRead = 0;

  constructor(
    config: MemoryLimiterConfig,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
    private readonly read: MemoryReader = readMemory,
    /** A full collection (default: V8's, see {@link fullGc}); replaceable for tests. */
    private readonly collectGarbage: (() => void) | undefined = fullGc(),
    /** The process-wide memory budget that this limiter bounds and reads (default: the process's). */
    private readonly budget: MemoryBudget = memoryBudget,
  ) {
    const spike = (config.spike_limit_mib ?? Math.floor(config.limit_mib * 0.2)) * 1024 * 1024;
    const limit = Math.min(config.limit_mib * 1024 * 1024, Math.floor(v8HeapLimit * 0.9));
    this.hard = limit;
    this.soft = Math.max(Math.floor(limit / 2), limit - spike);
    this.intervalMs = parseDuration(config.check_interval);
  }

  /** The bytes the accounted stores may hold together under this limiter (half its soft limit). */
  get budgetBytes(): number {
    return Math.floor(this.soft * LIMITER_BUDGET_FRACTION);
  }

  async start(): Promise<void> {
    this.budget.setLimit(this, this.budgetBytes);
    this.check();
    this.timer = setInterval(() => this.check(), timerDelay(this.intervalMs));
    this.timer.unref();
  }

  /** Measures now and updates whether data is refused. */
  check(): void {
    let used = this.read();
    const now = Date.now();
    if (used > this.soft && now - this.lastGc >= 2000) {
      if (this.collectGarbage) {
        this.lastGc = now;
        this.collectGarbage();
        used = this.read();
      }
    }
    this.lastRead = used;
    this.accountedAtRead = this.budget.total;
    const refusing = used > this.soft;
    if (refusing !== this.refusing) {
      this.refusing = refusing;
      if (refusing) this.logger.warn({ usedMiB: Math.round(used / 1048576), softLimitMiB: Math.round(this.soft / 1048576) }, 'memory above the soft limit: refusing data');
      else this.logger.info({ usedMiB: Math.round(used / 1048576) }, 'memory back below the soft limit: accepting data');
    }
  }

  /** Reads only item counts: encoded requests pass through as they are. */
  readonly acceptsEncoded = true;
  /** Reads nothing of a span. */
  readonly spanReads: SpanReads = READS_NO_SPAN_FIELDS;

  async process(batch: Batch, next: Consumer): Promise<void> {
    // between measurements, what the stores accounted since the last one is added to it
    if (this.refusing || this.lastRead + (this.budget.total - this.accountedAtRead) > this.soft) {
      const c = countItems(batch);
      for (const s of SIGNALS) this.telemetry.count('refused', s, c[s]);
      throw retryableError('memory limiter: memory in use is above the soft limit; retry later', this.intervalMs);
    }
    return next.consume(batch);
  }

  async shutdown(): Promise<void> {
    this.budget.clearLimit(this);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
