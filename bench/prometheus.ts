/**
 * The prometheus exporter: a scrape of 10,000 series over HTTP (time and bytes, text format and
 * OpenMetrics, plain and gzip), right after every stream changed (each series rendered anew) and with
 * nothing changed (cached text), for 10,000 counter streams and for exponential histograms served as
 * classic buckets (~10,000 bucket series); and the exporter's cost per point taken (`consume`), for delta
 * sums and for exponential histogram points.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NOOP_CONSUMER } from '../src/component.ts';
import { validateComponentConfig } from '../src/config/ajv.ts';
import { silentLogger } from '../src/logger.ts';
import { AggregationTemporality, type Batch, type ExponentialHistogramDataPoint, type KeyValue, type Metric, type NumberDataPoint, emptyScope } from '../src/model.ts';
import { Sketch } from '../src/sketch.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { prometheusExporterFactory } from '../exporters/prometheus/index.ts';
import type { PrometheusConfig } from '../exporters/prometheus/config.ts';
import type { PrometheusExporter } from '../exporters/prometheus/prometheus-exporter.ts';
import { goalNumber } from './_goals.ts';
import { median } from './_stats.ts';

/**
 * Goals, from the README's benchmark table (bench/_goals.ts): a scrape well inside Prometheus's default
 * 10 s timeout at 15 s intervals; a point cheaper than decoding it.
 */
const ROW = 'prometheus exporter: scrape of 10,000 counter series';
const GOALS = {
  scrapeMs: goalNumber(ROW, /scrape < ([\d,]+) ms/),
  perPointUs: goalNumber(ROW, /consume < ([\d.]+) us a point/),
  perHistogramPointUs: goalNumber(ROW, /< ([\d,]+) us an exponential histogram point/),
};
const SERVICES = 20;
const ns = (ms: number) => BigInt(ms) * 1_000_000n;
const kv = (o: Record<string, string>): KeyValue[] => Object.entries(o).map(([key, value]) => ({ key, value }));

/** 10,000 span.calls streams: 20 services x 250 spans x 2 statuses, one delta point each per window. */
function counterBatch(window: number): Batch {
  const resourceMetrics = [];
  for (let s = 0; s < SERVICES; s++) {
    const points: NumberDataPoint[] = [];
    for (let sp = 0; sp < 250; sp++)
      for (const status of ['ok', 'error'])
        points.push({ attributes: kv({ 'service.name': `svc-${s}`, 'span.name': `GET /api/v1/resource/${sp}`, 'status.code': status }), startTimeUnixNano: ns(window * 10_000), timeUnixNano: ns((window + 1) * 10_000), value: BigInt(1 + ((sp * 7 + window) % 13)), exemplars: [], flags: 0 });
    const m: Metric = { name: 'span.calls', description: 'Spans', unit: '{call}', metadata: [], data: { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.Delta, dataPoints: points } };
    resourceMetrics.push({ resource: { attributes: kv({ 'service.name': `svc-${s}` }), droppedAttributesCount: 0 }, schemaUrl: '', scopeMetrics: [{ scope: emptyScope('vigil/percentiles'), schemaUrl: '', metrics: [m] }] });
  }
  return { resourceMetrics };
}

/** 200 span.duration streams (20 services x 10 spans), each a window of 200 latencies from ~5 ms to ~5 s. */
function histogramBatch(window: number): Batch {
  let seed = window + 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const resourceMetrics = [];
  for (let s = 0; s < SERVICES; s++) {
    const points: ExponentialHistogramDataPoint[] = [];
    for (let sp = 0; sp < 10; sp++) {
      const sk = new Sketch(6);
      for (let i = 0; i < 200; i++) sk.add(Math.exp(1.6 + 7 * rnd()));
      points.push(sk.toDataPoint(kv({ 'service.name': `svc-${s}`, 'span.name': `GET /api/v1/resource/${sp}`, 'status.code': 'ok' }), ns(window * 10_000), ns((window + 1) * 10_000)));
    }
    const m: Metric = { name: 'span.duration', description: 'Span durations', unit: 'ms', metadata: [], data: { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: points } };
    resourceMetrics.push({ resource: { attributes: kv({ 'service.name': `svc-${s}` }), droppedAttributesCount: 0 }, schemaUrl: '', scopeMetrics: [{ scope: emptyScope('vigil/percentiles'), schemaUrl: '', metrics: [m] }] });
  }
  return { resourceMetrics };
}

async function exporter(): Promise<PrometheusExporter> {
  const config = { endpoint: '127.0.0.1:0', max_series: 100_000 } as Record<string, unknown>;
  validateComponentConfig(prometheusExporterFactory as never, config);
  const telemetry = new ServiceTelemetry();
  const e = prometheusExporterFactory.create(
    { id: 'prometheus', kind: 'exporter', logger: silentLogger(), telemetry: telemetry.forComponent('exporter', 'prometheus'), stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-prom-')), emit: NOOP_CONSUMER, service: { componentIds: { receiver: [], processor: [], exporter: [] }, pipelines: {} } },
    config as unknown as PrometheusConfig,
  ) as PrometheusExporter;
  await e.start();
  return e;
}

async function scrape(e: PrometheusExporter, accept: string, gzip: boolean): Promise<{ ms: number; bytes: number; series: number }> {
  const t0 = performance.now();
  const res = await fetch(`http://${e.address}/metrics`, { headers: { accept, 'accept-encoding': gzip ? 'gzip' : 'identity' } });
  const buf = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - t0;
  const wire = Number(res.headers.get('content-length') ?? buf.length);
  const text = buf.toString('utf8');
  let series = 0;
  for (const line of text.split('\n')) if (line && !line.startsWith('#')) series++;
  return { ms, bytes: wire, series };
}

/** CPU time (user + system) of `f`, in ms: less moved by other processes on a loaded machine than wall time. */
async function cpuMs(f: () => unknown): Promise<number> {
  const c0 = process.cpuUsage();
  await f();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

const TEXT = 'text/plain;version=0.0.4';
const OM = 'application/openmetrics-text;version=1.0.0';

export async function run(): Promise<void> {
  const rows: string[][] = [];
  for (const [kind, make, points] of [
    ['10,000 counters', counterBatch, 10_000],
    ['200 exp. histograms', histogramBatch, 200],
  ] as const) {
    const e = await exporter();
    // cost per point: consume() of whole batches, after 3 warm-up windows
    for (let w = 0; w < 3; w++) await e.consume(make(w));
    const batches = Array.from({ length: 10 }, (_, i) => make(3 + i));
    const t0 = performance.now();
    const consumeCpu = await cpuMs(async () => {
      for (const b of batches) await e.consume(b);
    });
    const perPointUs = ((performance.now() - t0) * 1000) / (batches.length * points);
    const perPointCpuUs = (consumeCpu * 1000) / (batches.length * points);
    for (const [fmt, accept] of [['text', TEXT], ['OpenMetrics', OM]] as const) {
      for (const gzip of [false, true]) {
        const changed: number[] = [];
        const cached: number[] = [];
        const renderChanged: number[] = [];
        const renderCached: number[] = [];
        let last = { ms: 0, bytes: 0, series: 0 };
        for (let i = 0; i < 7; i++) {
          await e.consume(make(100 + i + (fmt === 'text' ? 0 : 50) + (gzip ? 20 : 0)));
          last = await scrape(e, accept, gzip);
          changed.push(last.ms);
          cached.push((await scrape(e, accept, gzip)).ms);
          if (!gzip) {
            await e.consume(make(300 + i + (fmt === 'text' ? 0 : 50)));
            renderChanged.push(await cpuMs(() => e.scrape(accept)));
            renderCached.push(await cpuMs(() => e.scrape(accept)));
          }
        }
        const render = gzip ? '' : `${median(renderChanged).toFixed(1)} / ${median(renderCached).toFixed(1)} ms`;
        rows.push([kind, `${fmt}${gzip ? ' gzip' : ''}`, String(last.series), `${(last.bytes / 1024).toFixed(0)} KiB`, `${median(changed).toFixed(1)} / ${median(cached).toFixed(1)} ms`, render, `< ${GOALS.scrapeMs} ms`, `${perPointUs.toFixed(2)} / ${perPointCpuUs.toFixed(2)} µs`, `< ${kind.includes('hist') ? GOALS.perHistogramPointUs : GOALS.perPointUs} µs`]);
      }
    }
    await e.shutdown();
  }
  const head = ['streams', 'format', 'series', 'bytes on the wire', 'HTTP scrape wall: all changed / cached', 'render CPU: changed / cached', 'goal', 'consume per point wall / CPU', 'goal'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
  console.log(`load average: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()} (${os.cpus().length} cores)`);
}
