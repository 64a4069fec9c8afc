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

/** Prints what it receives to the log: a line per batch, per item, or every field. */
export class DebugExporter implements Exporter {
  constructor(
    private readonly config: DebugConfig,
    private readonly logger: Logger,
    private readonly telemetry: ComponentTelemetry,
  ) {}

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
      this.logger.info(counts, 'batch');
    } else if (v === 'detailed') {
      if (batch.resourceSpans?.length) this.logger.info(toOtlpJson(batch, 'traces'), 'traces');
      if (batch.resourceMetrics?.length) this.logger.info(toOtlpJson(batch, 'metrics'), 'metrics');
      if (batch.resourceLogs?.length) this.logger.info(toOtlpJson(batch, 'logs'), 'logs');
      if (batch.alerts?.length) this.logger.info({ alerts: batch.alerts }, 'alerts');
    } else {
      for (const rs of batch.resourceSpans ?? []) {
        const service = attrToString(getAttr(rs.resource.attributes, 'service.name'));
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans)
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
            this.logger.info(
              { signal: 'metric', service, name: m.name, unit: m.unit, type: m.data?.type, points: m.data?.dataPoints.length ?? 0 },
              'metric',
            );
      }
      for (const rl of batch.resourceLogs ?? []) {
        const service = attrToString(getAttr(rl.resource.attributes, 'service.name'));
        for (const sl of rl.scopeLogs)
          for (const r of sl.logRecords)
            this.logger.info({ signal: 'log', service, severity: r.severityText || r.severityNumber, body: attrToString(r.body) }, 'log');
      }
      for (const n of batch.alerts ?? [])
        for (const a of n.alerts)
          this.logger.info({ signal: 'alert', status: a.status, labels: a.labels, annotations: a.annotations, value: a.value, exporters: n.exporters }, 'alert');
    }
    for (const signal of ['traces', 'metrics', 'logs', 'alerts'] as const) this.telemetry.count('sent', signal, counts[signal]);
  }
}
