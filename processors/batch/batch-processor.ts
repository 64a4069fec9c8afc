import { type Consumer, type Processor, READS_NO_SPAN_FIELDS, type SpanReads } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import type { Logger } from '../../src/logger.ts';
import { type BudgetAccount, memoryBudget } from '../../src/memory-budget.ts';
import { type Batch, countItems, type EncodedRequest, isEmpty, SIGNALS } from '../../src/model.ts';
import { decodeEncoded } from '../../src/otlp/proto.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import type { BatchConfig } from './config.ts';
import { timerDelay } from '../../src/timer-delay.ts';

type EncodedSignal = EncodedRequest['signal'];

interface Pending {
  batch: Required<Omit<Batch, 'encoded'>>;
  /** Encoded requests held per signal (copies: the bytes given to `process` are only lent). */
  encoded: Map<EncodedSignal, { parts: Buffer[]; items: number }>;
  items: number;
  /** Bytes charged to the memory budget for what is held (encoded: their length; decoded: an estimate per item). */
  bytes: number;
  timer: NodeJS.Timeout | undefined;
}

/** Estimated bytes of one decoded item held (a span or point with a few attributes, as decoded objects). */
const DECODED_ITEM_BYTES = 1024;

/**
 * Groups batches into larger ones: sends when `send_batch_size` items are held or `timeout` passed since
 * the first one arrived. As in the Collector, `process` resolves once the data is held: a send that
 * fails later is logged and counted as dropped. One buffer per downstream (one per pipeline).
 *
 * What it holds is accounted in the process's memory budget (src/memory-budget.ts, store
 * `processor/batch buffers`); when the budget is full a buffer is sent at once instead of held (nothing is
 * dropped: the batches just go out smaller), counted as shed.
 */
export class BatchProcessor implements Processor {
  private readonly pending = new Map<Consumer, Pending>();
  private readonly timeoutMs: number;
  private stopped = false;
  /** The buffers' share of the process's memory budget. */
  readonly budget: BudgetAccount = memoryBudget.account('processor/batch buffers');

  constructor(
    private readonly config: BatchConfig,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
  ) {
    this.timeoutMs = parseDuration(config.timeout);
  }

  /**
   * Encoded requests (see the otlp receiver's pass-through) are held as bytes and sent on as one request
   * per signal: serialized Export*ServiceRequests joined end to end are one request with all their
   * resources, by protobuf's rule for repeated fields.
   */
  readonly acceptsEncoded = true;
  /** Moves spans whole, reads nothing of them. */
  readonly spanReads: SpanReads = READS_NO_SPAN_FIELDS;

  async start(): Promise<void> {}

  async process(batch: Batch, next: Consumer): Promise<void> {
    if (batch.encoded && next.acceptsEncoded !== true) batch = decodeEncoded(batch);
    if (this.stopped) return next.consume(batch);
    let p = this.pending.get(next);
    if (!p) {
      p = { batch: { resourceSpans: [], resourceMetrics: [], resourceLogs: [], alerts: [] }, encoded: new Map(), items: 0, bytes: 0, timer: undefined };
      this.pending.set(next, p);
    }
    const e = batch.encoded;
    if (e) {
      let held = p.encoded.get(e.signal);
      if (!held) p.encoded.set(e.signal, (held = { parts: [], items: 0 }));
      held.parts.push(Buffer.from(e.bytes));
      held.items += e.items;
    }
    if (batch.resourceSpans) p.batch.resourceSpans.push(...batch.resourceSpans);
    if (batch.resourceMetrics) p.batch.resourceMetrics.push(...batch.resourceMetrics);
    if (batch.resourceLogs) p.batch.resourceLogs.push(...batch.resourceLogs);
    if (batch.alerts) p.batch.alerts.push(...batch.alerts);
    const c = countItems(batch);
    const items = c.traces + c.metrics + c.logs + c.alerts;
    p.items += items;
    const bytes = (e ? e.bytes.length : 0) + (items - (e ? e.items : 0)) * DECODED_ITEM_BYTES;
    const fits = this.budget.admit(bytes);
    p.bytes += bytes;
    this.budget.add(bytes);
    if (p.items >= this.config.send_batch_size) return this.flush(next);
    if (!fits) {
      this.budget.shed(items);
      return this.flush(next);
    }
    if (!p.timer) {
      p.timer = setTimeout(() => void this.flush(next).catch(() => undefined), timerDelay(this.timeoutMs));
      p.timer.unref();
    }
  }

  private async flush(next: Consumer): Promise<void> {
    const p = this.pending.get(next);
    if (!p) return;
    this.pending.delete(next);
    this.budget.add(-p.bytes);
    if (p.timer) clearTimeout(p.timer);
    const sends: Batch[] = [];
    for (const [signal, held] of p.encoded) {
      const bytes = held.parts.length === 1 ? held.parts[0]! : Buffer.concat(held.parts);
      const request: Batch = { encoded: { signal, bytes, items: held.items } };
      // Encoded and decoded data of one signal go out together, decoded.
      const decodedToo =
        (signal === 'traces' && p.batch.resourceSpans.length) ||
        (signal === 'metrics' && p.batch.resourceMetrics.length) ||
        (signal === 'logs' && p.batch.resourceLogs.length);
      if (!decodedToo) {
        sends.push(request);
        continue;
      }
      const d = decodeEncoded(request);
      if (d.resourceSpans) p.batch.resourceSpans.push(...d.resourceSpans);
      if (d.resourceMetrics) p.batch.resourceMetrics.push(...d.resourceMetrics);
      if (d.resourceLogs) p.batch.resourceLogs.push(...d.resourceLogs);
    }
    const out: Batch = {};
    if (p.batch.resourceSpans.length) out.resourceSpans = p.batch.resourceSpans;
    if (p.batch.resourceMetrics.length) out.resourceMetrics = p.batch.resourceMetrics;
    if (p.batch.resourceLogs.length) out.resourceLogs = p.batch.resourceLogs;
    if (p.batch.alerts.length) out.alerts = p.batch.alerts;
    if (!isEmpty(out)) sends.push(out);
    const results = await Promise.allSettled(sends.map((b) => next.consume(b)));
    let firstError: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      firstError ??= r.reason;
      const c = countItems(sends[i]!);
      for (const s of SIGNALS) this.telemetry.count('dropped', s, c[s]);
      this.logger.error({ err: (r.reason as Error).message, items: SIGNALS.reduce((n, s) => n + c[s], 0) }, 'batch refused downstream; dropped');
    });
    if (firstError !== undefined) throw firstError;
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.pending.keys()].map((next) => this.flush(next)));
    this.budget.close();
  }
}
