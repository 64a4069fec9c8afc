import { type Exporter, READS_NO_SPAN_FIELDS, type SpanReads } from '../../src/component.ts';
import type { Logger } from '../../src/logger.ts';
import { toOtlpJson } from '../../src/otlp/json.ts';
import { type Batch, attrToString, countItems, getAttr, type KeyValue } from '../../src/model.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import type { DebugConfig } from './config.ts';

function attrs(kvs: readonly KeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of kvs) out[kv.key] = attrToString(kv.value);
  return out;
}

/**
 * Which lines of a kind (their message: `batch`, `span`, `traces` ...) are printed, as the Collector's debug exporter
 * samples them (zap's sampler, zapcore.NewSamplerWithOptions): a second opens at the first line of a kind after the
 * last one closed; in it, the first `initial` lines of that kind are printed, then every `thereafter`th (1: every
 * one; 0: none until the second closes). `now`: milliseconds, monotonic.
 */
export class LineSampler {
  private readonly windows = new Map<string, { closesAt: number; lines: number }>();

  constructor(
    private readonly initial: number,
    private readonly thereafter: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether the next line of kind `message` is printed. */
  take(message: string): boolean {
    if (this.thereafter === 1) return true;
    const now = this.now();
    let w = this.windows.get(message);
    if (w === undefined) this.windows.set(message, (w = { closesAt: now + 1000, lines: 0 }));
    else if (now >= w.closesAt) {
      w.closesAt = now + 1000;
      w.lines = 0;
    }
    const n = ++w.lines;
    if (n <= this.initial) return true;
    return this.thereafter > 0 && (n - this.initial) % this.thereafter === 0;
  }
}

/** Prints what it receives to the log: a line per batch, per item, or every field; sampled (see {@link LineSampler}). */
export class DebugExporter implements Exporter {
  private readonly sampler: LineSampler;

  /** `now`: milliseconds, monotonic, for the sampler's seconds (replaceable for tests). */
  constructor(
    private readonly config: DebugConfig,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
    now?: () => number,
  ) {
    this.sampler = new LineSampler(config.sampling_initial, config.sampling_thereafter, now);
  }

  async start(): Promise<void> {}
  async shutdown(): Promise<void> {}

  /** `basic` only counts items; `normal` and `detailed` print every attribute and the ids. */
  get spanReads(): SpanReads | undefined {
    return this.config.verbosity === 'basic' ? READS_NO_SPAN_FIELDS : undefined;
  }

  async consume(batch: Batch): Promise<void> {
    const counts = countItems(batch);
    const v = this.config.verbosity;
    if (v === 'basic') {
      if (this.sampler.take('batch')) this.logger.info(counts, 'batch');
    } else if (v === 'detailed') {
      if (batch.resourceSpans?.length && this.sampler.take('traces')) this.logger.info(toOtlpJson(batch, 'traces'), 'traces');
      if (batch.resourceMetrics?.length && this.sampler.take('metrics')) this.logger.info(toOtlpJson(batch, 'metrics'), 'metrics');
      if (batch.resourceLogs?.length && this.sampler.take('logs')) this.logger.info(toOtlpJson(batch, 'logs'), 'logs');
      if (batch.alerts?.length && this.sampler.take('alerts')) this.logger.info({ alerts: batch.alerts }, 'alerts');
    } else {
      for (const rs of batch.resourceSpans ?? []) {
        const service = attrToString(getAttr(rs.resource.attributes, 'service.name'));
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans)
            if (this.sampler.take('span'))
              this.logger.info(
                {
                  signal: 'span',
                  service,
                  name: s.name,
                  traceId: s.traceId,
                  spanId: s.spanId,
                  durationMs: Number(s.endTimeUnixNano - s.startTimeUnixNano) / 1e6,
                  status: s.status.code,
                  attributes: attrs(s.attributes),
                },
                'span',
              );
      }
      for (const rm of batch.resourceMetrics ?? []) {
        const service = attrToString(getAttr(rm.resource.attributes, 'service.name'));
        for (const sm of rm.scopeMetrics)
          for (const m of sm.metrics)
            if (this.sampler.take('metric'))
              this.logger.info(
                { signal: 'metric', service, name: m.name, unit: m.unit, type: m.data?.type, points: m.data?.dataPoints.length ?? 0 },
                'metric',
              );
      }
      for (const rl of batch.resourceLogs ?? []) {
        const service = attrToString(getAttr(rl.resource.attributes, 'service.name'));
        for (const sl of rl.scopeLogs)
          for (const r of sl.logRecords)
            if (this.sampler.take('log'))
              this.logger.info({ signal: 'log', service, severity: r.severityText || r.severityNumber, body: attrToString(r.body) }, 'log');
      }
      for (const n of batch.alerts ?? [])
        for (const a of n.alerts)
          if (this.sampler.take('alert'))
            this.logger.info({ signal: 'alert', status: a.status, labels: a.labels, annotations: a.annotations, value: a.value, exporters: n.exporters }, 'alert');
    }
    for (const signal of ['traces', 'metrics', 'logs', 'alerts'] as const) this.telemetry.count('sent', signal, counts[signal]);
  }
}
