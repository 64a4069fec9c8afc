import type { Consumer, Processor } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import { retryableError } from '../../src/errors.ts';
import type { Logger } from '../../src/logger.ts';
import { type Batch, countItems, SIGNALS } from '../../src/model.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import type { MemoryLimiterConfig } from './config.ts';

/** Reads the memory in use (V8 heap + buffers outside it), in bytes. Replaceable for tests. */
export type MemoryReader = () => number;
export const readMemory: MemoryReader = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

/**
 * Refuses data with a retryable error (receivers answer 503 + Retry-After / UNAVAILABLE) while memory in
 * use is above the soft limit (`limit_mib - spike_limit_mib`), measured every `check_interval`; above the
 * hard limit it also asks V8 for a collection when the process runs with --expose-gc.
 */
export class MemoryLimiter implements Processor {
  private timer: NodeJS.Timeout | undefined;
  private refusing = false;
  private readonly soft: number;
  private readonly hard: number;
  private readonly intervalMs: number;

  constructor(
    config: MemoryLimiterConfig,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
    private readonly read: MemoryReader = readMemory,
  ) {
    const limit = config.limit_mib * 1024 * 1024;
    const spike = (config.spike_limit_mib ?? Math.floor(config.limit_mib * 0.2)) * 1024 * 1024;
    this.hard = limit;
    this.soft = Math.max(0, limit - spike);
    this.intervalMs = parseDuration(config.check_interval);
  }

  async start(): Promise<void> {
    this.check();
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  /** Measures now and updates whether data is refused. */
  check(): void {
    const used = this.read();
    if (used > this.hard) (globalThis as { gc?: () => void }).gc?.();
    const refusing = used > this.soft;
    if (refusing !== this.refusing) {
      this.refusing = refusing;
      if (refusing) this.logger.warn({ usedMiB: Math.round(used / 1048576), softLimitMiB: Math.round(this.soft / 1048576) }, 'memory above the soft limit: refusing data');
      else this.logger.info({ usedMiB: Math.round(used / 1048576) }, 'memory back below the soft limit: accepting data');
    }
  }

  /** Reads only item counts: encoded requests pass through as they are. */
  readonly acceptsEncoded = true;

  async process(batch: Batch, next: Consumer): Promise<void> {
    if (this.refusing) {
      const c = countItems(batch);
      for (const s of SIGNALS) this.telemetry.count('refused', s, c[s]);
      throw retryableError('memory limiter: memory in use is above the soft limit; retry later', this.intervalMs);
    }
    return next.consume(batch);
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
