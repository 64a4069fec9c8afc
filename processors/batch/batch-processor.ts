import type { Consumer, Processor } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import type { Logger } from '../../src/logger.ts';
import { type Batch, countItems, SIGNALS } from '../../src/model.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import type { BatchConfig } from './config.ts';

interface Pending {
  batch: Required<Batch>;
  items: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Groups batches into larger ones: sends when `send_batch_size` items are held or `timeout` passed since
 * the first one arrived. As in the Collector, `process` resolves once the data is held: a send that
 * fails later is logged and counted as dropped. One buffer per downstream (one per pipeline).
 */
export class BatchProcessor implements Processor {
  private readonly pending = new Map<Consumer, Pending>();
  private readonly timeoutMs: number;
  private stopped = false;

  constructor(
    private readonly config: BatchConfig,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
  ) {
    this.timeoutMs = parseDuration(config.timeout);
  }

  async start(): Promise<void> {}

  async process(batch: Batch, next: Consumer): Promise<void> {
    if (this.stopped) return next.consume(batch);
    let p = this.pending.get(next);
    if (!p) {
      p = { batch: { resourceSpans: [], resourceMetrics: [], resourceLogs: [], alerts: [] }, items: 0, timer: undefined };
      this.pending.set(next, p);
    }
    if (batch.resourceSpans) p.batch.resourceSpans.push(...batch.resourceSpans);
    if (batch.resourceMetrics) p.batch.resourceMetrics.push(...batch.resourceMetrics);
    if (batch.resourceLogs) p.batch.resourceLogs.push(...batch.resourceLogs);
    if (batch.alerts) p.batch.alerts.push(...batch.alerts);
    const c = countItems(batch);
    p.items += c.traces + c.metrics + c.logs + c.alerts;
    if (p.items >= this.config.send_batch_size) return this.flush(next);
    if (!p.timer) {
      p.timer = setTimeout(() => void this.flush(next).catch(() => undefined), this.timeoutMs);
      p.timer.unref();
    }
  }

  private async flush(next: Consumer): Promise<void> {
    const p = this.pending.get(next);
    if (!p) return;
    this.pending.delete(next);
    if (p.timer) clearTimeout(p.timer);
    const out: Batch = {};
    if (p.batch.resourceSpans.length) out.resourceSpans = p.batch.resourceSpans;
    if (p.batch.resourceMetrics.length) out.resourceMetrics = p.batch.resourceMetrics;
    if (p.batch.resourceLogs.length) out.resourceLogs = p.batch.resourceLogs;
    if (p.batch.alerts.length) out.alerts = p.batch.alerts;
    try {
      await next.consume(out);
    } catch (err) {
      const c = countItems(out);
      for (const s of SIGNALS) this.telemetry.count('dropped', s, c[s]);
      this.logger.error({ err: (err as Error).message, items: p.items }, 'batch refused downstream; dropped');
      throw err;
    }
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.pending.keys()].map((next) => this.flush(next)));
  }
}
