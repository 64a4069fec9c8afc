import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ServiceTelemetry } from '../../src/telemetry.ts';
import { counterValue } from '../../test/percentiles-helpers.ts';
import { AggregationTemporality, type ExponentialHistogramDataPoint, type KeyValue, type Metric, type MetricData, type ResourceMetrics } from '../../src/model.ts';
import { Sketch } from '../../src/sketch.ts';
import { configFor, recordingLogger, testSettings } from '../../test/helpers/index.ts';
import { makeAlert, makeNotification } from '../../test/doubles/alerts.ts';
import { boundOf } from './exp-buckets.ts';
import { negotiate, render } from './exposition.ts';
import { prometheusExporterFactory } from './index.ts';
import { MetricStore, type StoreOptions } from './metric-store.ts';
import { prometheusNames, sanitizeLabelName } from './naming.ts';
import type { PrometheusExporter } from './prometheus-exporter.ts';
import type { AlertsStatus } from '../../src/status.ts';

const kv = (o: Record<string, string>): KeyValue[] => Object.entries(o).map(([key, value]) => ({ key, value }));
const s = (sec: number) => BigInt(sec) * 1_000_000_000n;

function rm(metrics: Metric[], resource: Record<string, string> = { 'service.name': 'checkout' }): ResourceMetrics[] {
  return [{ resource: { attributes: kv(resource), droppedAttributesCount: 0 }, schemaUrl: '', scopeMetrics: [{ scope: { name: 'vigil/test', version: '', attributes: [], droppedAttributesCount: 0 }, schemaUrl: '', metrics }] }];
}
const metric = (name: string, unit: string, data: MetricData): Metric => ({ name, unit, description: '', metadata: [], data });
const sum = (value: number, start: number, end: number, temporality = AggregationTemporality.Delta, attrs: Record<string, string> = {}) =>
  metric('llm.cost', 'USD', { type: 'sum', isMonotonic: true, aggregationTemporality: temporality, dataPoints: [{ attributes: kv(attrs), startTimeUnixNano: s(start), timeUnixNano: s(end), value, exemplars: [], flags: 0 }] });

function store(over: Partial<StoreOptions> = {}) {
  let now = 1_000_000;
  const drops: string[] = [];
  const st = new MetricStore({ promote: ['service.name'], addSuffixes: true, summaryQuantiles: [0.5, 0.95], histogramScale: 3, histogramMaxBuckets: 160, maxSeries: 100, expireMs: 60_000, now: () => now, ...over });
  st.onDrop = (r, n) => drops.push(`${r}:${n}`);
  return { st, drops, advance: (ms: number) => (now += ms), text: () => render(st, 'text') };
}
const sample = (text: string, name: string) => {
  const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
};

describe('names (OTel -> Prometheus compatibility spec)', () => {
  it.each([
    ['llm.cost', 'USD', 'counter', 'llm_cost_USD_total'],
    ['span.duration', 'ms', 'histogram', 'span_duration_milliseconds'],
    ['http.server.request.duration', 's', 'histogram', 'http_server_request_duration_seconds'],
    ['system.network.io', 'By', 'counter', 'system_network_io_bytes_total'],
    ['system.cpu.utilization', '1', 'gauge', 'system_cpu_utilization_ratio'],
    ['span.calls', '{call}', 'counter', 'span_calls_total'],
    ['requests_total', '{request}', 'counter', 'requests_total'],
    ['speed', 'm/s', 'gauge', 'speed_meters_per_second'],
    ['throughput', 'By/s', 'gauge', 'throughput_bytes_per_second'],
    ['disk.used', 'MiBy', 'gauge', 'disk_used_mebibytes'],
    ['cpu_seconds', 's', 'counter', 'cpu_seconds_total'],
    ['temperature', 'Cel', 'gauge', 'temperature_celsius'],
    ['ratio.of.things', '1', 'counter', 'ratio_of_things_total'],
    ['2xx.count', '', 'counter', '_2xx_count_total'],
    ['foo..bar--baz', '%', 'gauge', 'foo_bar_baz_percent'],
  ])('%s (%s, %s) -> %s', (name, unit, type, expected) => {
    expect(prometheusNames(name, unit, type as 'counter', true).sample).toBe(expected);
  });

  it('OpenMetrics family of a counter has no _total; no suffixes when turned off', () => {
    expect(prometheusNames('llm.cost', 'USD', 'counter')).toEqual({ family: 'llm_cost_USD', sample: 'llm_cost_USD_total', unit: 'USD' });
    expect(prometheusNames('llm.cost', 'USD', 'counter', false).sample).toBe('llm_cost');
  });

  it('label names', () => {
    expect(sanitizeLabelName('service.name')).toBe('service_name');
    expect(sanitizeLabelName('gen_ai.request.model')).toBe('gen_ai_request_model');
    expect(sanitizeLabelName('0foo')).toBe('key_0foo');
    expect(sanitizeLabelName('__reserved')).toBe('key__reserved');
    expect(sanitizeLabelName('_private')).toBe('_private');
  });

  it('attributes that collide once sanitised are joined with ";" in key order; target_info and job/instance from the resource', () => {
    const { st, text } = store();
    st.addResourceMetrics(rm([sum(1, 0, 10, AggregationTemporality.Delta, { 'a.b': 'dot', a_b: 'underscore' })], { 'service.name': 'checkout', 'service.namespace': 'shop', 'service.instance.id': 'pod-1', 'host.name': 'h1' }));
    const t = text();
    expect(t).toContain('llm_cost_USD_total{a_b="dot;underscore",instance="pod-1",job="shop/checkout",otel_scope_name="vigil/test",service_name="checkout"} 1');
    expect(t).toContain('target_info{host_name="h1",instance="pod-1",job="shop/checkout"} 1');
  });
});

describe('delta to cumulative', () => {
  it('adds delta points in order; a late or overlapping point is dropped and counted, never added twice', () => {
    const { st, drops, text } = store();
    const key = 'llm_cost_USD_total{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}';
    st.addResourceMetrics(rm([sum(1.5, 0, 10)]));
    st.addResourceMetrics(rm([sum(2, 10, 20)]));
    expect(sample(text(), key)).toBe(3.5);
    st.addResourceMetrics(rm([sum(2, 10, 20)])); // the same window again
    st.addResourceMetrics(rm([sum(7, 5, 25)])); // overlaps what was taken
    st.addResourceMetrics(rm([sum(9, 0, 5)])); // earlier than what was taken
    expect(sample(text(), key)).toBe(3.5);
    expect(drops).toEqual(['late:1', 'late:1', 'late:1']);
    st.addResourceMetrics(rm([sum(0.5, 30, 40)])); // after a gap: fine
    expect(sample(text(), key)).toBe(4);
  });

  it('cumulative points replace; a drop or a new start time is a reset (_created moves)', () => {
    const { st, text } = store();
    const key = 'llm_cost_USD_total{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}';
    const created = 'llm_cost_USD_created{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}';
    st.addResourceMetrics(rm([sum(5, 100, 110, AggregationTemporality.Cumulative)]));
    st.addResourceMetrics(rm([sum(8, 100, 120, AggregationTemporality.Cumulative)]));
    expect(sample(text(), key)).toBe(8);
    expect(sample(render(st, 'openmetrics'), created)).toBe(100);
    st.addResourceMetrics(rm([sum(2, 100, 130, AggregationTemporality.Cumulative)])); // lower value: reset
    expect(sample(text(), key)).toBe(2);
    expect(sample(render(st, 'openmetrics'), created)).toBe(100);
    st.addResourceMetrics(rm([sum(3, 125, 140, AggregationTemporality.Cumulative)])); // new start: producer restarted
    expect(sample(text(), key)).toBe(3);
    expect(sample(render(st, 'openmetrics'), created)).toBe(125);
    st.addResourceMetrics(rm([sum(99, 125, 135, AggregationTemporality.Cumulative)])); // older than the last point
    expect(sample(text(), key)).toBe(3);
  });

  it('a negative value of a monotonic sum (delta or cumulative) is dropped as invalid, as the processors skip it: the counter never goes down', () => {
    const { st, drops, text } = store();
    const key = 'llm_cost_USD_total{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}';
    st.addResourceMetrics(rm([sum(5, 0, 10)]));
    st.addResourceMetrics(rm([sum(-2, 10, 20)]));
    st.addResourceMetrics(rm([sum(1, 20, 30)]));
    expect(sample(text(), key)).toBe(6);
    const c = (v: number, end: number) => sum(v, 100, end, AggregationTemporality.Cumulative, { stream: 'c' });
    const ckey = key.replace('}', ',stream="c"}');
    st.addResourceMetrics(rm([c(10, 110)]));
    st.addResourceMetrics(rm([c(-1, 120)]));
    expect(sample(text(), ckey)).toBe(10);
    expect(sample(render(st, 'openmetrics'), ckey.replace('_total', '_created'))).toBe(100);
    expect(drops).toEqual(['invalid:1', 'invalid:1']);
  });

  it('a NaN or infinite delta is dropped as invalid, not added to the running total for ever; a no-recorded-value point leaves the stream as it was', () => {
    const { st, drops, text } = store();
    const lbl = '{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}';
    const h = (sumv: number, start: number, end: number, flags = 0) =>
      metric('rt', 'ms', { type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ attributes: [], startTimeUnixNano: s(start), timeUnixNano: s(end), count: 2, sum: sumv, bucketCounts: [1, 1], explicitBounds: [5], exemplars: [], flags }] });
    const e = (sumv: number, start: number, end: number) =>
      metric('lat', 'ms', { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ attributes: [], startTimeUnixNano: s(start), timeUnixNano: s(end), count: 1, sum: sumv, scale: 0, zeroCount: 0, zeroThreshold: 0, positive: { offset: 1, bucketCounts: [1] }, negative: { offset: 0, bucketCounts: [] }, exemplars: [], flags: 0 }] });
    const noValue = (m: Metric): Metric => ({ ...m, data: { ...m.data!, dataPoints: m.data!.dataPoints.map((p) => ({ ...p, flags: 1 })) } as MetricData });
    st.addResourceMetrics(rm([sum(1.5, 0, 10), h(7, 0, 10), e(3, 0, 10)]));
    st.addResourceMetrics(rm([sum(NaN, 10, 20), h(NaN, 10, 20), e(Infinity, 10, 20)]));
    st.addResourceMetrics(rm([sum(2, 20, 30), h(3, 20, 30), e(3.5, 20, 30)]));
    expect(drops).toEqual(['invalid:1', 'invalid:1', 'invalid:1']);
    const t = text();
    expect(sample(t, `llm_cost_USD_total${lbl}`)).toBe(3.5);
    expect([sample(t, `rt_milliseconds_sum${lbl}`), sample(t, `rt_milliseconds_count${lbl}`)]).toEqual([10, 4]);
    expect([sample(t, `lat_milliseconds_sum${lbl}`), sample(t, `lat_milliseconds_count${lbl}`)]).toEqual([6.5, 2]);
    // a staleness marker (FLAG_NO_RECORDED_VALUE, value 0) of a cumulative counter is not a reset to 0
    const c = (v: number, end: number) => sum(v, 100, end, AggregationTemporality.Cumulative, { stream: 'c' });
    const key = `llm_cost_USD_total{job="checkout",otel_scope_name="vigil/test",service_name="checkout",stream="c"}`;
    st.addResourceMetrics(rm([c(10, 110)]));
    st.addResourceMetrics(rm([noValue(c(0, 120)), noValue(h(0, 30, 40))]));
    expect(sample(text(), key)).toBe(10);
    expect(sample(render(st, 'openmetrics'), key.replace('_total', '_created'))).toBe(100);
    st.addResourceMetrics(rm([c(15, 130)]));
    expect(sample(render(st, 'openmetrics'), key.replace('_total', '_created'))).toBe(100);
    expect(sample(text(), key)).toBe(15);
    expect(sample(text(), `rt_milliseconds_count${lbl}`)).toBe(4);
  });

  it('drops what the stream reader calls malformed in counters and summaries (NaN counter, NaN or out-of-range quantile, a quantile twice, fractional count): never served', () => {
    const { st, drops, text } = store();
    const lbl = '{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}';
    const c = (v: number, end: number) => sum(v, 1, end, AggregationTemporality.Cumulative);
    st.addResourceMetrics(rm([c(100, 10)]));
    st.addResourceMetrics(rm([c(NaN, 20)]));
    expect(sample(text(), `llm_cost_USD_total${lbl}`)).toBe(100);
    expect(drops).toEqual(['invalid:1']);
    const sm = (count: number, sumv: number, quantiles: [number, number][], end: number) =>
      metric('lat', 'ms', { type: 'summary', dataPoints: [{ attributes: [], startTimeUnixNano: s(1), timeUnixNano: s(end), count, sum: sumv, quantileValues: quantiles.map(([quantile, value]) => ({ quantile, value })), flags: 0 }] });
    st.addResourceMetrics(rm([sm(3, 30, [[0.5, 9]], 10)]));
    drops.length = 0;
    st.addResourceMetrics(rm([sm(4, 40, [[0.5, NaN]], 20)]));
    st.addResourceMetrics(rm([sm(5, 50, [[0.5, Infinity]], 30)]));
    st.addResourceMetrics(rm([sm(6, 60, [[2, 9]], 40)]));
    st.addResourceMetrics(rm([sm(6.5, 60, [[0.5, 9]], 50)]));
    st.addResourceMetrics(rm([sm(-1, 60, [[0.5, 9]], 60)]));
    // a quantile twice: two series with the same labels, of which Prometheus keeps one and drops the other
    st.addResourceMetrics(rm([sm(7, 70, [[0.5, 9], [0.5, 11]], 70)]));
    expect(drops).toEqual(['invalid:1', 'invalid:1', 'invalid:1', 'invalid:1', 'invalid:1', 'invalid:1']);
    const t = text();
    expect(sample(t, `lat_milliseconds{job="checkout",otel_scope_name="vigil/test",service_name="checkout",quantile="0.5"}`)).toBe(9);
    expect([sample(t, `lat_milliseconds_sum${lbl}`), sample(t, `lat_milliseconds_count${lbl}`)]).toEqual([30, 3]);
    expect(t).not.toMatch(/NaN|Inf[^"]|quantile="2"/);
  });

  it('two OTLP streams whose labels render the same (replicas told apart by a resource attribute that is not a label, "200" and 200) do not share a series: the first keeps it, the other is dropped as stream_conflict', () => {
    const { st, drops, text, advance } = store();
    const pod = (name: string) => ({ 'service.name': 'checkout', 'k8s.pod.name': name });
    const lbl = '{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}';
    const c = (v: number, start: number, end: number) => sum(v, start, end, AggregationTemporality.Cumulative);
    st.addResourceMetrics(rm([c(100, 1, 10)], pod('a')));
    st.addResourceMetrics(rm([c(7, 2, 11)], pod('b')));
    st.addResourceMetrics(rm([c(101, 1, 20)], pod('a')));
    st.addResourceMetrics(rm([c(8, 2, 21)], pod('b')));
    // the series is replica a's, never jumping to b's total (which rate() would read as a reset each time)
    expect(sample(text(), `llm_cost_USD_total${lbl}`)).toBe(101);
    expect(sample(render(st, 'openmetrics'), `llm_cost_USD_created${lbl}`)).toBe(1);
    expect(drops).toEqual(['stream_conflict:1', 'stream_conflict:1']);
    // delta points of b are not added to a's total, nor called late
    drops.length = 0;
    const d = (v: number, start: number, end: number, attrs: Record<string, string> = {}) => metric('llm.tokens', '', { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ attributes: kv(attrs), startTimeUnixNano: s(start), timeUnixNano: s(end), value: v, exemplars: [], flags: 0 }] });
    st.addResourceMetrics(rm([d(5, 0, 10)], pod('a')));
    st.addResourceMetrics(rm([d(3, 0, 10)], pod('b')));
    st.addResourceMetrics(rm([d(5, 10, 20)], pod('a')));
    expect(sample(text(), `llm_tokens_total${lbl}`)).toBe(10);
    expect(drops).toEqual(['stream_conflict:1']);
    // an attribute value of another type is another OTLP stream too
    drops.length = 0;
    const typed = (value: string | bigint, v: number, end: number) => metric('llm.tokens', '', { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.Cumulative, dataPoints: [{ attributes: [{ key: 'code', value }], startTimeUnixNano: s(1), timeUnixNano: s(end), value: v, exemplars: [], flags: 0 }] });
    st.addResourceMetrics(rm([{ ...typed('200', 50, 10), name: 'calls' }], pod('a')));
    st.addResourceMetrics(rm([{ ...typed(200n, 3, 11), name: 'calls' }], pod('a')));
    expect(sample(text(), `calls_total{code="200",job="checkout",otel_scope_name="vigil/test",service_name="checkout"}`)).toBe(50);
    expect(drops).toEqual(['stream_conflict:1']);
    // two metrics whose names render the same (a.b and a_b), or with units the names do not show
    drops.length = 0;
    const named = (name: string, unit: string, v: number, end: number) => metric(name, unit, { type: 'sum', isMonotonic: false, aggregationTemporality: AggregationTemporality.Cumulative, dataPoints: [{ attributes: [], startTimeUnixNano: s(1), timeUnixNano: s(end), value: v, exemplars: [], flags: 0 }] });
    st.addResourceMetrics(rm([named('queue.depth', '', 40, 10), named('queue_depth', '', 2, 11)], pod('a')));
    expect(sample(text(), `queue_depth${lbl}`)).toBe(40);
    expect(drops).toEqual(['stream_conflict:1']);
    const bare = store({ addSuffixes: false });
    bare.st.addResourceMetrics(rm([named('latency', 'ms', 250, 10), named('latency', 's', 0.25, 11)]));
    expect(sample(bare.text(), `latency${lbl}`)).toBe(250);
    expect(bare.drops).toEqual(['stream_conflict:1']);
    // once a's series has expired, b's stream may take the labels
    advance(61_000);
    st.expire();
    st.addResourceMetrics(rm([c(9, 2, 31)], pod('b')));
    expect(sample(text(), `llm_cost_USD_total${lbl}`)).toBe(9);
  });

  it('a cumulative summary with an unknown start time (0) keeps its _created: 0 is not a new start at every point; a sum that went down is a reset', () => {
    const { st } = store();
    const om = () => render(st, 'openmetrics');
    const sm = (count: number, sumv: number, end: number) =>
      metric('lat', 'ms', { type: 'summary', dataPoints: [{ attributes: [], startTimeUnixNano: 0n, timeUnixNano: s(end), count, sum: sumv, quantileValues: [{ quantile: 0.5, value: 3 }], flags: 0 }] });
    const created = () => sample(om(), 'lat_milliseconds_created{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}');
    st.addResourceMetrics(rm([sm(10, 30, 100)]));
    st.addResourceMetrics(rm([sm(12, 36, 110)]));
    st.addResourceMetrics(rm([sm(15, 45, 120)]));
    expect(created()).toBe(100);
    // the count grew but the sum went down: the sender restarted
    st.addResourceMetrics(rm([sm(16, 5, 130)]));
    expect(created()).toBe(130);
    // the same for a cumulative exponential histogram
    const e = (count: number, sumv: number, end: number) =>
      metric('rt', 'ms', { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Cumulative, dataPoints: [{ attributes: [], startTimeUnixNano: 0n, timeUnixNano: s(end), count, sum: sumv, scale: 0, zeroCount: 0, zeroThreshold: 0, positive: { offset: 3, bucketCounts: [count] }, negative: { offset: 0, bucketCounts: [] }, exemplars: [], flags: 0 }] });
    const rtCreated = () => sample(om(), 'rt_milliseconds_created{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}');
    st.addResourceMetrics(rm([e(3, 30, 100)]));
    st.addResourceMetrics(rm([e(4, 40, 110)]));
    expect(rtCreated()).toBe(100);
    st.addResourceMetrics(rm([e(5, 12, 120)]));
    expect(rtCreated()).toBe(120);
  });

  it('explicit histograms accumulate; new bounds start over', () => {
    const { st, text } = store();
    const h = (counts: number[], bounds: number[], start: number, end: number) =>
      metric('rt', 'ms', { type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ attributes: [], startTimeUnixNano: s(start), timeUnixNano: s(end), count: counts.reduce((a, b) => a + b, 0), sum: 10, bucketCounts: counts, explicitBounds: bounds, exemplars: [], flags: 0 }] });
    st.addResourceMetrics(rm([h([1, 2, 3], [10, 100], 0, 10)]));
    st.addResourceMetrics(rm([h([1, 0, 1], [10, 100], 10, 20)]));
    const t = text();
    expect(sample(t, 'rt_milliseconds_bucket{job="checkout",otel_scope_name="vigil/test",service_name="checkout",le="10"}')).toBe(2);
    expect(sample(t, 'rt_milliseconds_bucket{job="checkout",otel_scope_name="vigil/test",service_name="checkout",le="100"}')).toBe(4);
    expect(sample(t, 'rt_milliseconds_count{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}')).toBe(8);
    expect(sample(t, 'rt_milliseconds_sum{job="checkout",otel_scope_name="vigil/test",service_name="checkout"}')).toBe(20);
    st.addResourceMetrics(rm([h([4, 0], [50], 20, 30)]));
    const t2 = text();
    expect(t2).not.toContain('le="100"');
    expect(sample(t2, 'rt_milliseconds_bucket{job="checkout",otel_scope_name="vigil/test",service_name="checkout",le="50"}')).toBe(4);
  });

  it('a point without bucket counts (count and sum only, bounds or not) serves _count, _sum and le="+Inf" only: no le bucket goes down, none claims its observations', () => {
    const { st, drops, text } = store();
    const L = 'job="checkout",otel_scope_name="vigil/test",service_name="checkout"';
    const h = (counts: number[], count: number, bounds: number[], end: number, temporality = AggregationTemporality.Cumulative, start = 0) =>
      metric('rt', 'ms', { type: 'histogram', aggregationTemporality: temporality, dataPoints: [{ attributes: [], startTimeUnixNano: s(start), timeUnixNano: s(end), count, sum: count * 2, bucketCounts: counts, explicitBounds: bounds, exemplars: [], flags: 0 }] });
    const buckets = (t: string) => new Map([...t.matchAll(new RegExp(`^rt_milliseconds_bucket\\{${L},le="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => [m[1]!, Number(m[2])]));
    // every scrape: each le series never below its value at an earlier scrape (rate() would read a reset)
    const served = new Map<string, number>();
    const scrape = () => {
      const b = buckets(text());
      for (const [le, v] of b) {
        expect(v, `le=${le} went down`).toBeGreaterThanOrEqual(served.get(le) ?? 0);
        served.set(le, v);
      }
      return b;
    };
    st.addResourceMetrics(rm([h([10, 5, 3, 2], 20, [1, 2, 3], 10)]));
    expect(scrape()).toEqual(new Map([['1', 10], ['2', 15], ['3', 18], ['+Inf', 20]]));
    st.addResourceMetrics(rm([h([], 25, [1, 2, 3], 20)])); // same stream, bucketless: bounds locate nothing
    expect(scrape()).toEqual(new Map([['+Inf', 25]]));
    expect(sample(text(), `rt_milliseconds_count{${L}}`)).toBe(25);
    expect(sample(text(), `rt_milliseconds_sum{${L}}`)).toBe(50);
    st.addResourceMetrics(rm([h([14, 7, 5, 4], 30, [1, 2, 3], 30)])); // buckets again: their cumulative values go on
    expect(scrape()).toEqual(new Map([['1', 14], ['2', 21], ['3', 26], ['+Inf', 30]]));
    // a stream whose first point is bucketless does not serve bounds with 0 below a count of 7
    st.addResourceMetrics(rm([{ ...h([], 7, [1, 2, 3], 10), name: 'rt2' }]));
    expect(text()).not.toMatch(/^rt2_milliseconds_bucket\{[^}]*le="1"/m);
    expect(text()).toMatch(/^rt2_milliseconds_bucket\{[^}]*le="\+Inf"\} 7$/m);
    // delta: a bucketless point changes the bucket layout, so the running total starts over (as new bounds do)
    st.addResourceMetrics(rm([{ ...h([10, 5, 3, 2], 20, [1, 2, 3], 10, AggregationTemporality.Delta, 0), name: 'rt3' }]));
    st.addResourceMetrics(rm([{ ...h([], 5, [1, 2, 3], 20, AggregationTemporality.Delta, 10), name: 'rt3' }]));
    expect(text()).not.toMatch(/^rt3_milliseconds_bucket\{[^}]*le="1"/m);
    expect(text()).toMatch(/^rt3_milliseconds_bucket\{[^}]*le="\+Inf"\} 5$/m);
    expect(drops).toEqual([]);
  });

  it('a malformed histogram point (the stream reader\'s rule: src/streams/cumulative.ts histogramProblem) is dropped as invalid, never served as non-monotonic buckets', () => {
    const { st, drops, text } = store();
    const L = 'job="checkout",otel_scope_name="vigil/test",service_name="checkout"';
    const h = (counts: number[], count: number, bounds: number[], end: number, temporality = AggregationTemporality.Cumulative, sumv = 1) =>
      metric('rt', 'ms', { type: 'histogram', aggregationTemporality: temporality, dataPoints: [{ attributes: [], startTimeUnixNano: s(temporality === AggregationTemporality.Delta ? end - 10 : 0), timeUnixNano: s(end), count, sum: sumv, bucketCounts: counts, explicitBounds: bounds, exemplars: [], flags: 0 }] });
    const le = (t: string) => [...t.matchAll(new RegExp(`^rt_milliseconds_bucket\\{${L},le="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => Number(m[2]));
    st.addResourceMetrics(rm([h([1, 1, 1], 3, [1, 2], 10)]));
    const bad = [
      h([5, 5, 5], 3, [1, 2], 20), // buckets add up to 15, count 3: le="2" 10 > le="+Inf" 3
      h([1, 1], 3, [1, 2], 30), // 2 bucket counts for 2 bounds
      h([1, 1, 1, 1], 4, [1, 2], 40), // 4 bucket counts for 2 bounds
      h([1, 1, 1], 3, [2, 1], 50), // bounds not increasing
      h([1, 1, 1.5], 3.5, [1, 2], 60), // a fractional count
      h([1, 1, 1], 3, [1, 2], 70, AggregationTemporality.Cumulative, NaN), // a non-finite sum
      h([2, 2, 2], 6, [1, NaN], 80), // a bound that is not a number
    ];
    for (const b of bad) st.addResourceMetrics(rm([b]));
    expect(drops).toEqual(bad.map(() => 'invalid:1'));
    expect(le(text())).toEqual([1, 2, 3]);
    expect(sample(text(), `rt_milliseconds_sum{${L}}`)).toBe(1);
    // delta points too, and the running total goes on from the last sound point
    st.addResourceMetrics(rm([{ ...h([1, 0, 0], 1, [1, 2], 10, AggregationTemporality.Delta), name: 'rtd' }]));
    st.addResourceMetrics(rm([{ ...h([0, 0, 9], 1, [1, 2], 20, AggregationTemporality.Delta), name: 'rtd' }]));
    st.addResourceMetrics(rm([{ ...h([0, 1, 0], 1, [1, 2], 30, AggregationTemporality.Delta), name: 'rtd' }]));
    expect(drops.length).toBe(bad.length + 1);
    expect([...text().matchAll(/^rtd_milliseconds_bucket\{[^}]*\} (\S+)$/gm)].map((m) => Number(m[1]))).toEqual([1, 2, 2]);
    // exponential histograms: the reader's exponentialProblem
    const e = (name: string, over: Partial<ExponentialHistogramDataPoint>) =>
      metric(name, 'ms', { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Cumulative, dataPoints: [{ attributes: [], startTimeUnixNano: s(0), timeUnixNano: s(10), count: 3, sum: 3, scale: 0, zeroCount: 0, zeroThreshold: 0, positive: { offset: 0, bucketCounts: [1, 1, 1] }, negative: { offset: 0, bucketCounts: [] }, exemplars: [], flags: 0, ...over }] });
    const badExp = [
      e('e1', { count: 1 }), // buckets add up to 3: le="8" 3 > le="+Inf" 1
      e('e2', { positive: { offset: 0, bucketCounts: [-5, 4, 4] } }), // a negative bucket count
      e('e3', { positive: { offset: 1e9, bucketCounts: [1, 1, 1] } }), // beyond a double's range: le="+Inf" served four times
      e('e4', { scale: 40 }),
      e('e5', { sum: NaN }),
    ];
    drops.length = 0;
    st.addResourceMetrics(rm(badExp));
    expect(drops).toEqual(badExp.map(() => 'invalid:1'));
    expect(text()).not.toMatch(/^e\d_/m);
    st.addResourceMetrics(rm([e('e6', {})]));
    expect(text()).toMatch(/^e6_milliseconds_bucket\{[^}]*le="\+Inf"\} 3$/m);
  });

  it('an exponential histogram whose top bucket reaches past a double (scale -10, or a high index) serves one le="+Inf" series, finite bounds and quantiles', () => {
    const { st, drops, text } = store();
    const e = (name: string, scale: number, offset: number, counts: number[]) =>
      metric(name, 'ms', { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ attributes: [], startTimeUnixNano: s(1), timeUnixNano: s(10), count: counts.reduce((a, b) => a + b, 0), sum: 30, scale, zeroCount: 0, zeroThreshold: 0, positive: { offset, bucketCounts: counts }, negative: { offset: 0, bucketCounts: [] }, exemplars: [], flags: 0 }] });
    // scale -10: bucket 0 is (1, 2^1024]; scale 0: buckets 1022..1025 end at 2^1023 .. 2^1026
    st.addResourceMetrics(rm([e('coarse', -10, 0, [3]), e('huge', 0, 1022, [1, 1, 1, 1])]));
    expect(drops).toEqual([]);
    const t = text();
    for (const name of ['coarse', 'huge']) {
      const les = [...t.matchAll(new RegExp(`^${name}_milliseconds_bucket\\{[^}]*le="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => m[1]!);
      expect(les.filter((le) => le === '+Inf'), name).toHaveLength(1);
      expect(new Set(les).size, name).toBe(les.length);
      expect(les.slice(0, -1).every((le) => Number.isFinite(Number(le))), name).toBe(true);
    }
    // (2^1022, 2^1023] is the last bucket with a finite bound; the others count in +Inf only
    expect(t).toMatch(/^huge_milliseconds_bucket\{[^}]*le="8.98846567431158e\+307"\} 1$/m);
    expect(t).toMatch(/^huge_milliseconds_bucket\{[^}]*le="\+Inf"\} 4$/m);
    expect(t).not.toMatch(/NaN/);
  });

  it('a bucketless exponential histogram point (count and sum only) is served with le="+Inf" only, as an explicit one: no bucket is invented at its mean', () => {
    const { st, drops, text } = store();
    const lbl = 'job="checkout",otel_scope_name="vigil/test",service_name="checkout"';
    const e = (name: string, temporality: AggregationTemporality, start: number, end: number, count: number, sumv: number, counts: number[]) =>
      metric(name, 'ms', { type: 'exponentialHistogram', aggregationTemporality: temporality, dataPoints: [{ attributes: [], startTimeUnixNano: s(start), timeUnixNano: s(end), count, sum: sumv, scale: 0, zeroCount: 0, zeroThreshold: 0, positive: { offset: 3, bucketCounts: counts }, negative: { offset: 0, bucketCounts: [] }, exemplars: [], flags: 0 }] });
    const les = (name: string) => [...text().matchAll(new RegExp(`^${name}_milliseconds_bucket\\{[^}]*le="([^"]+)"\\} (\\S+)$`, 'gm'))].map((m) => `${m[1]}:${m[2]}`);
    // cumulative: bucketless, then with buckets, then bucketless again
    st.addResourceMetrics(rm([e('cum', AggregationTemporality.Cumulative, 1, 10, 3, 30, [])]));
    expect(les('cum')).toEqual(['+Inf:3']);
    expect(text()).toContain(`cum_summary_milliseconds{${lbl},quantile="0.5"} 10`); // where a distribution needs a value: the mean
    st.addResourceMetrics(rm([e('cum', AggregationTemporality.Cumulative, 1, 20, 5, 70, [1, 4])]));
    expect(les('cum')).toEqual(['16:1', '32:5', '+Inf:5']);
    st.addResourceMetrics(rm([e('cum', AggregationTemporality.Cumulative, 1, 30, 6, 80, [])]));
    expect(les('cum')).toEqual(['+Inf:6']);
    // delta: with buckets, then bucketless: the stream starts over rather than serve buckets holding 2 of 5
    st.addResourceMetrics(rm([e('del', AggregationTemporality.Delta, 0, 10, 2, 40, [1, 1])]));
    st.addResourceMetrics(rm([e('del', AggregationTemporality.Delta, 10, 20, 3, 30, [])]));
    expect(les('del')).toEqual(['+Inf:3']);
    expect(text()).toContain(`del_milliseconds_count{${lbl}} 3`);
    expect(drops).toEqual([]);
  });

  it('exponential histograms: exact cumulative counts at fixed power-of-2^(1/8) bounds, and a summary of the last window', () => {
    const { st, text } = store();
    const exp = (values: number[], start: number, end: number) => {
      const sk = new Sketch(6);
      for (const v of values) sk.add(v);
      return metric('span.duration', 'ms', { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [sk.toDataPoint([], s(start), s(end))] });
    };
    const first = Array.from({ length: 100 }, (_, i) => 10 + i); // 10..109
    const second = Array.from({ length: 100 }, (_, i) => 1000 + i * 10); // 1000..1990
    st.addResourceMetrics(rm([exp(first, 0, 10)]));
    st.addResourceMetrics(rm([exp(second, 10, 20)]));
    const t = text();
    const L = 'job="checkout",otel_scope_name="vigil/test",service_name="checkout"';
    const all = [...first, ...second];
    const buckets = [...t.matchAll(new RegExp(`^span_duration_milliseconds_bucket\\{${L},le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => [m[1]!, Number(m[2])] as const);
    expect(buckets.length).toBeGreaterThan(50);
    for (const [le, count] of buckets) {
      if (le === '+Inf') expect(count).toBe(200);
      else expect(count, `le=${le}`).toBe(all.filter((v) => v <= Number(le)).length);
    }
    // every bound is a power of 2^(1/8)
    for (const [le] of buckets.filter(([le]) => le !== '+Inf')) expect(Math.abs(Math.log2(Number(le)) * 8 - Math.round(Math.log2(Number(le)) * 8))).toBeLessThan(1e-9);
    expect(boundOf(7, 3)).toBe(2);
    // summary: quantiles of the last window only (1000..1990), count and sum of everything
    const p95 = sample(t, `span_duration_summary_milliseconds{${L},quantile="0.95"}`)!;
    expect(Math.abs(p95 - 1940) / 1940).toBeLessThan(0.02);
    expect(sample(t, `span_duration_summary_milliseconds_count{${L}}`)).toBe(200);
  });

  it('drops and counts as invalid the histogram points the OTLP data model calls unusable, as the processors do; the good ones are served', () => {
    const { st, drops, text } = store();
    const L = 'job="checkout",otel_scope_name="vigil/test",service_name="checkout"';
    const exp = (name: string, scale: number, offset: number, counts: number[]) =>
      metric(name, 'ms', {
        type: 'exponentialHistogram',
        aggregationTemporality: AggregationTemporality.Delta,
        dataPoints: [{ attributes: [], startTimeUnixNano: s(0), timeUnixNano: s(10), count: counts.reduce((a, b) => a + b, 0), sum: 1, scale, zeroCount: 0, zeroThreshold: 0, positive: { offset, bucketCounts: counts }, negative: { offset: 0, bucketCounts: [] }, exemplars: [], flags: 0 }],
      });
    const classic = (name: string, counts: number[], bounds: number[], count = counts.reduce((a, b) => a + b, 0)) =>
      metric(name, 'ms', { type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ attributes: [], startTimeUnixNano: s(0), timeUnixNano: s(10), count, sum: 10, bucketCounts: counts, explicitBounds: bounds, exemplars: [], flags: 0 }] });
    st.addResourceMetrics(
      rm([
        // buckets across 2^31 (an OTLP sint32 offset of 2^31 - 1): held the event loop and grew the heap for ever
        exp('bad.offset', 20, 2 ** 31 - 1, [8, 1]),
        exp('bad.scale', 1000, 0, [1]),
        classic('bad.bounds', [1, 1, 1], [5, 1]),
        classic('bad.nan', [1, 1], [Number.NaN]),
        classic('bad.count', [1, 1, 1], [1, 2], 7),
        classic('bad.shape', [1, 1, 1], [1]),
        exp('good.exp', 3, 8, [2, 1]),
        classic('good.classic', [1, 2], [10]),
      ]),
    );
    expect(drops).toEqual(['invalid:1', 'invalid:1', 'invalid:1', 'invalid:1', 'invalid:1', 'invalid:1']);
    const t = text();
    expect(t).not.toMatch(/^bad_/m);
    expect(sample(t, `good_exp_milliseconds_count{${L}}`)).toBe(3);
    expect(sample(t, `good_classic_milliseconds_bucket{${L},le="10"}`)).toBe(1);
    expect(sample(t, `good_classic_milliseconds_count{${L}}`)).toBe(3);
  });

  it('a received <name>.summary wins over the derived one, also when it came in an earlier batch', () => {
    const { st, text } = store();
    const sk = new Sketch(6);
    sk.add(5);
    const hist = (start: number, end: number) => metric('span.duration', 'ms', { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [sk.toDataPoint([], s(start), s(end))] });
    const summary = metric('span.duration.summary', 'ms', { type: 'summary', dataPoints: [{ attributes: [], startTimeUnixNano: s(0), timeUnixNano: s(10), count: 1, sum: 5, quantileValues: [{ quantile: 0.95, value: 5 }, { quantile: 1, value: 5 }], flags: 0 }] });
    st.addResourceMetrics(rm([summary]));
    st.addResourceMetrics(rm([hist(0, 10)]));
    st.addResourceMetrics(rm([hist(10, 20)]));
    // only the received quantiles (0.95 and 1), none of the derived 0.5
    expect(text()).not.toContain('quantile="0.5"');
    expect(text()).toContain('quantile="1"');
  });

  it('a <m>.distribution histogram takes the received <m>.summary as its summary (the percentiles processor\'s pair), not a second derived family', () => {
    const { st, text } = store();
    const sk = new Sketch(6);
    sk.add(0.0045);
    const hist = metric('gen_ai.usage.cost.distribution', '', { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [sk.toDataPoint([], s(0), s(10))] });
    const summary = metric('gen_ai.usage.cost.summary', '', { type: 'summary', dataPoints: [{ attributes: [], startTimeUnixNano: s(0), timeUnixNano: s(10), count: 1, sum: 0.0045, quantileValues: [{ quantile: 0.95, value: 0.0045 }], flags: 0 }] });
    st.addResourceMetrics(rm([hist, summary]));
    const t = text();
    expect(t).toMatch(/^gen_ai_usage_cost_summary\{[^}]*quantile="0.95"\} 0.0045$/m);
    expect(t).toContain('gen_ai_usage_cost_distribution_bucket{');
    expect(t).not.toContain('gen_ai_usage_cost_distribution_summary');
    // without the received twin, the derived summary is still served
    const other = store();
    other.st.addResourceMetrics(rm([hist]));
    expect(other.text()).toMatch(/^gen_ai_usage_cost_distribution_summary\{[^}]*quantile="0.95"\} /m);
  });

  it('a received <name>.summary wins over the derived one; its windows add up', () => {
    const { st, text } = store();
    const sk = new Sketch(6);
    sk.add(5);
    const summary = (q95: number, count: number, start: number, end: number) =>
      metric('span.duration.summary', 'ms', { type: 'summary', dataPoints: [{ attributes: [], startTimeUnixNano: s(start), timeUnixNano: s(end), count, sum: count * 2, quantileValues: [{ quantile: 0.95, value: q95 }], flags: 0 }] });
    st.addResourceMetrics(rm([metric('span.duration', 'ms', { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [sk.toDataPoint([], s(0), s(10))] }), summary(7, 3, 0, 10)]));
    st.addResourceMetrics(rm([summary(9, 4, 10, 20)]));
    const t = text();
    expect(t.match(/span_duration_summary_milliseconds\{[^}]*quantile="0.95"\} (\S+)/g)).toHaveLength(1);
    expect(t).toMatch(/span_duration_summary_milliseconds\{[^}]*quantile="0.95"\} 9$/m);
    expect(t).toMatch(/span_duration_summary_milliseconds_count\{[^}]*\} 7$/m);
  });
});

describe('bounds, expiry, ALERTS, formats', () => {
  it('max_series: points of new streams beyond it are dropped and counted; stale streams expire', () => {
    const { st, drops, advance, text } = store({ maxSeries: 2, expireMs: 60_000 });
    st.addResourceMetrics(rm([sum(1, 0, 10, AggregationTemporality.Delta, { m: 'a' }), sum(1, 0, 10, AggregationTemporality.Delta, { m: 'b' }), sum(1, 0, 10, AggregationTemporality.Delta, { m: 'c' })]));
    expect(st.size).toBe(2);
    expect(drops).toEqual(['max_series:1']);
    advance(30_000);
    st.addResourceMetrics(rm([sum(1, 10, 20, AggregationTemporality.Delta, { m: 'a' })]));
    advance(40_000);
    expect(st.expire()).toBe(1);
    expect(text()).toContain('m="a"');
    expect(text()).not.toContain('m="b"');
    st.addResourceMetrics(rm([sum(1, 0, 10, AggregationTemporality.Delta, { m: 'c' })]));
    expect(text()).toContain('m="c"');
  });

  it('target_info is bounded by max_series too (a resource attribute unique per process), counted, its bytes given back on expiry', () => {
    const { st, drops, advance, text } = store({ maxSeries: 5 });
    for (let i = 0; i < 50; i++) st.addResourceMetrics(rm([], { 'service.name': 'checkout', 'process.pid': String(i) }));
    expect(st.targets.size).toBe(5);
    expect((text().match(/^target_info\{/gm) ?? []).length).toBe(5);
    expect(drops).toEqual(Array(45).fill('max_series:1'));
    const held = st.budget.bytes;
    expect(held).toBeGreaterThan(0);
    advance(61_000);
    st.expire();
    expect(st.targets.size).toBe(0);
    expect(st.budget.bytes).toBe(0);
  });

  it('ALERTS and ALERTS_FOR_STATE for firing alerts of any notification; a resolve removes them', () => {
    const { st, text } = store();
    const a = makeAlert({ alertname: 'HighP95Latency', severity: 'critical', 'service.name': 'checkout' });
    st.addAlerts([makeNotification(['slack/oncall'], { alerts: [a] })]);
    const t = text();
    expect(t).toContain('ALERTS{alertname="HighP95Latency",alertstate="firing",service_name="checkout",severity="critical"} 1');
    expect(t).toContain(`ALERTS_FOR_STATE{alertname="HighP95Latency",service_name="checkout",severity="critical"} ${Date.parse(a.startsAt) / 1000}`);
    st.addAlerts([makeNotification(['file/alerts'], { alerts: [{ ...a, status: 'resolved' }] })]);
    expect(text()).not.toContain('ALERTS');
  });

  it('content negotiation: OpenMetrics when asked for (as Prometheus asks), the text format otherwise', () => {
    expect(negotiate('application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1')).toBe('openmetrics');
    expect(negotiate('text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5')).toBe('text');
    expect(negotiate(undefined)).toBe('text');
    expect(negotiate('*/*')).toBe('text');
    const { st } = store();
    st.addResourceMetrics(rm([sum(1, 0, 10)]));
    const om = render(st, 'openmetrics');
    expect(om).toContain('# TYPE llm_cost_USD counter\n# UNIT llm_cost_USD USD\n');
    expect(om).toMatch(/^llm_cost_USD_created\{/m);
    expect(om.endsWith('# EOF\n')).toBe(true);
    expect(om).toContain('# TYPE target info');
    const text = render(st, 'text');
    expect(text).toContain('# TYPE llm_cost_USD_total counter');
    expect(text).not.toContain('# EOF');
  });
});

describe('series names of different families never meet (a second # TYPE line fails the whole scrape)', () => {
  const gauge = (name: string, value = 1) => metric(name, '', { type: 'gauge', dataPoints: [{ attributes: [], startTimeUnixNano: s(0), timeUnixNano: s(10), value, exemplars: [], flags: 0 }] });
  const counter = (name: string, unit = '') => metric(name, unit, { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ attributes: [], startTimeUnixNano: s(0), timeUnixNano: s(10), value: 1, exemplars: [], flags: 0 }] });
  const histogram = (name: string) =>
    metric(name, 'ms', { type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ attributes: [], startTimeUnixNano: s(0), timeUnixNano: s(10), count: 1, sum: 5, bucketCounts: [1, 0], explicitBounds: [10], exemplars: [], flags: 0 }] });

  it.each([
    ['target.info (the resource family)', [gauge('target.info')]],
    ['ALERTS', [gauge('ALERTS')]],
    ['a gauge named as a counter\'s series', [counter('jobs'), gauge('jobs_total')]],
    ['a gauge named as a histogram\'s _count', [histogram('lat'), gauge('lat_milliseconds_count')]],
    ['a counter whose family is a histogram\'s _sum', [histogram('lat'), counter('lat_milliseconds_sum')]],
    ['a gauge named as an OpenMetrics _created', [counter('jobs'), gauge('jobs_created')]],
  ])('%s: the later one is dropped as name_conflict; promtool parses the exposition', (_what, metrics) => {
    const { st, drops, text } = store();
    st.addResourceMetrics(rm(metrics as Metric[]));
    expect(drops).toEqual(['name_conflict:1']);
    for (const format of ['text', 'openmetrics'] as const) {
      const types = render(st, format).match(/^# TYPE \S+/gm) ?? [];
      expect(new Set(types).size, format).toBe(types.length);
    }
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text(), encoding: 'utf8' });
    expect(lint.error, 'promtool must be installed (.ci/steps/45-prometheus.sh)').toBeUndefined();
    expect(`${lint.stdout}${lint.stderr}`).not.toMatch(/error/i);
  });

  it('a name freed by expiry can be taken again', () => {
    const { st, drops, advance, text } = store({ expireMs: 60_000 });
    st.addResourceMetrics(rm([counter('jobs')]));
    advance(61_000);
    st.expire();
    st.addResourceMetrics(rm([gauge('jobs_total', 7)]));
    expect(drops).toEqual([]);
    expect(text()).toMatch(/^jobs_total\{[^}]*\} 7$/m);
  });

  it('OpenMetrics gives _created to counters, histograms and summaries, never to gauges', () => {
    const { st } = store();
    st.addResourceMetrics(rm([gauge('queue.depth'), counter('jobs'), histogram('lat')]));
    const om = render(st, 'openmetrics');
    expect(om).toMatch(/^jobs_created\{/m);
    expect(om).toMatch(/^lat_milliseconds_created\{/m);
    expect(om).not.toContain('queue_depth_created');
  });
});

/** The label names of every sample line of an exposition, per line (label values may hold escaped quotes). */
function sampleLabelNames(exposition: string): string[][] {
  const out: string[][] = [];
  for (const line of exposition.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const open = line.indexOf('{');
    if (open < 0) continue;
    out.push([...line.slice(open).matchAll(/[{,]([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map((m) => m[1]!));
  }
  return out;
}

describe('labels the formats reserve (a sample with a label name twice fails the whole scrape in Prometheus)', () => {
  const attrs = (o: Record<string, string>) => kv(o);
  const histogram = (a: KeyValue[]) =>
    metric('lat', 'ms', { type: 'histogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ attributes: a, startTimeUnixNano: s(0), timeUnixNano: s(10), count: 1, sum: 5, bucketCounts: [1, 0], explicitBounds: [10], exemplars: [], flags: 0 }] });
  const summary = (a: KeyValue[]) =>
    metric('rpc', 'ms', { type: 'summary', dataPoints: [{ attributes: a, startTimeUnixNano: s(0), timeUnixNano: s(10), count: 2, sum: 3, quantileValues: [{ quantile: 0.5, value: 1 }], flags: 0 }] });
  const expo = (a: KeyValue[]) => {
    const sk = new Sketch(3);
    sk.add(5);
    return metric('span.duration', 'ms', { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [sk.toDataPoint(a, s(0), s(10))] });
  };

  it.each([
    ['a histogram point attribute "le"', () => histogram(attrs({ le: '5' })), 'exported_le="5"'],
    ['a promoted resource attribute "le"', () => histogram([]), 'exported_le="x"'],
    ['a summary point attribute "quantile"', () => summary(attrs({ quantile: 'p50' })), 'exported_quantile="p50"'],
    ['an exponential histogram attribute "quantile" (its derived summary) and "le"', () => expo(attrs({ quantile: 'q', le: 'l' })), 'exported_quantile="q"'],
  ])('%s is served as exported_<name>, never beside the bucket\'s or quantile\'s own', (_what, make, expected) => {
    const { st, drops } = store({ promote: ['service.name', 'le'] });
    st.addResourceMetrics(rm([make()], { 'service.name': 'checkout', le: 'x' }));
    expect(drops).toEqual([]);
    for (const format of ['text', 'openmetrics'] as const) {
      const text = render(st, format);
      expect(text).toContain(expected);
      for (const names of sampleLabelNames(text)) expect(new Set(names).size, `${format}: ${names.join(',')}`).toBe(names.length);
    }
  });

  it('ALERTS_FOR_STATE carries the alert\'s labels without alertstate, as Prometheus serves it', () => {
    const { st } = store();
    st.addAlerts([makeNotification([], { alerts: [makeAlert({ alertname: 'HighLatency', alertstate: 'odd', severity: 'page' })] })]);
    const text = render(st, 'text');
    expect(text).toMatch(/^ALERTS\{alertname="HighLatency",alertstate="firing",severity="page"\} 1$/m);
    expect(text).toMatch(/^ALERTS_FOR_STATE\{alertname="HighLatency",severity="page"\} \d/m);
  });
});

describe('prometheus exporter component', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  it('serves /metrics over HTTP (gzip when asked), 404 elsewhere; keeps ALERTS across a restart', async () => {
    const settings = testSettings('exporter', 'prometheus');
    const make = async () => {
      const e = prometheusExporterFactory.create(settings, configFor(prometheusExporterFactory, { endpoint: '127.0.0.1:0' })) as PrometheusExporter;
      await e.start({ reportFatal: () => undefined });
      stops.push(() => e.shutdown());
      return e;
    };
    const e = await make();
    await e.consume({ resourceMetrics: rm([sum(2.5, 0, 10)]), alerts: [makeNotification(['x'])] });
    const res = await fetch(`http://${e.address}/metrics`, { headers: { accept: 'application/openmetrics-text; version=1.0.0' } });
    expect(res.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    const body = await res.text();
    expect(body).toMatch(/^llm_cost_USD_total\{[^}]*\} 2.5$/m);
    expect((await fetch(`http://${e.address}/other`)).status).toBe(404);
    await e.shutdown();
    const again = await make();
    expect(again.scrape().body).toContain('ALERTS{alertname="HighP95Latency"');
  });

  it('leaves out saved alerts that are not whole alerts (no junk ALERTS series), keeps the good ones, and says how many', async () => {
    const { logger, lines } = recordingLogger();
    const settings = testSettings('exporter', 'prometheus', { logger });
    const dir = path.join(settings.stateDir, 'exporters', 'prometheus');
    fs.mkdirSync(dir, { recursive: true });
    const good = { labels: { alertname: 'Good', severity: 'warning' }, activeAt: 1_700_000_000, state: 'firing' };
    fs.writeFileSync(
      path.join(dir, 'alerts.json'),
      JSON.stringify({
        good,
        nullLabels: { labels: null, activeAt: 1 },
        numberLabel: { labels: { alertname: 'N', host: 5 }, activeAt: 1 },
        arrayLabels: { labels: ['1'], activeAt: 1 },
        noAlertname: { labels: { severity: 'x' }, activeAt: 1 },
        textTime: { labels: { alertname: 'T' }, activeAt: '1' },
        badState: { labels: { alertname: 'S' }, activeAt: 1, state: 'resolved' },
        notAnObject: 7,
      }),
    );
    const e = prometheusExporterFactory.create(settings, configFor(prometheusExporterFactory, { endpoint: '127.0.0.1:0' })) as PrometheusExporter;
    await e.start({ reportFatal: () => undefined });
    stops.push(() => e.shutdown());
    const alerts = e
      .scrape()
      .body.split('\n')
      .filter((l) => l.startsWith('ALERTS{'));
    expect(alerts).toEqual(['ALERTS{alertname="Good",alertstate="firing",severity="warning"} 1']);
    const warn = lines.map((l) => JSON.parse(l) as { message: string; skipped?: number; kept?: number }).find((l) => l.message.startsWith('skipped saved alerts'));
    expect(warn).toMatchObject({ skipped: 7, kept: 1 });
  });

  it('gzip only when Accept-Encoding accepts it (gzip;q=0 refuses it); HEAD has the headers of GET and no body', async () => {
    const e = prometheusExporterFactory.create(testSettings('exporter', 'prometheus'), configFor(prometheusExporterFactory, { endpoint: '127.0.0.1:0' })) as PrometheusExporter;
    await e.start({ reportFatal: () => undefined });
    stops.push(() => e.shutdown());
    await e.consume({ resourceMetrics: rm([sum(2.5, 0, 10)]) });
    const get = (headers: Record<string, string>, method = 'GET') =>
      new Promise<{ encoding: string | undefined; length: string | undefined; body: Buffer }>((resolve, reject) => {
        const [host, port] = e.address.split(':');
        http
          .request({ host, port: Number(port), path: '/metrics', method, headers }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ encoding: res.headers['content-encoding'], length: res.headers['content-length'], body: Buffer.concat(chunks) }));
          })
          .on('error', reject)
          .end();
      });
    const zipped = await get({ 'accept-encoding': 'gzip' });
    expect(zipped.encoding).toBe('gzip');
    expect(zlib.gunzipSync(zipped.body).toString()).toMatch(/^llm_cost_USD_total\{[^}]*\} 2.5$/m);
    for (const refuse of ['gzip;q=0', 'identity', 'br', 'gzip;q=0, *;q=1', 'x-gzip;q=0']) {
      const plain = await get({ 'accept-encoding': refuse });
      expect(plain.encoding, refuse).toBeUndefined();
      expect(plain.body.toString(), refuse).toMatch(/^llm_cost_USD_total\{[^}]*\} 2.5$/m);
    }
    expect((await get({ 'accept-encoding': '*' })).encoding).toBe('gzip');
    const head = await get({}, 'HEAD');
    const plain = await get({});
    expect(head.body.length).toBe(0);
    expect(head.length).toBe(plain.length);
  });

  it('ALERTS from the running alerts processors when the service reports them: pending ones too, routed or not', async () => {
    const settings = testSettings('exporter', 'prometheus');
    const e = prometheusExporterFactory.create(settings, configFor(prometheusExporterFactory, { endpoint: '127.0.0.1:0' })) as PrometheusExporter;
    const alert = (name: string, state: 'pending' | 'firing', startsAt: string) => ({ labels: { alertname: name, severity: 'warning', 'service.name': 'checkout' }, state, startsAt });
    const statuses = [{ alerts: [alert('SlowButPending', 'pending', '2026-11-29T10:00:00Z'), alert('Slow', 'firing', '2026-11-29T09:00:00Z')] }] as unknown as AlertsStatus[];
    await e.start({ reportFatal: () => undefined, alertsStatuses: () => statuses });
    stops.push(() => e.shutdown());
    // a notification for an alert the processors no longer report is not shown: the live state wins
    await e.consume({ alerts: [makeNotification(['x'])] });
    const body = e.scrape().body;
    expect(body).toContain('ALERTS{alertname="SlowButPending",alertstate="pending",service_name="checkout",severity="warning"} 1');
    expect(body).toContain('ALERTS{alertname="Slow",alertstate="firing",service_name="checkout",severity="warning"} 1');
    expect(body).toContain(`ALERTS_FOR_STATE{alertname="SlowButPending",service_name="checkout",severity="warning"} ${Date.parse('2026-11-29T10:00:00Z') / 1000}`);
    expect(body).not.toContain('HighP95Latency');
  });

  it('warns once per reason a point is dropped; later drops are only counted', async () => {
    const { logger, lines } = recordingLogger();
    const settings = testSettings('exporter', 'prometheus', { logger });
    const e = prometheusExporterFactory.create(settings, configFor(prometheusExporterFactory, { endpoint: '127.0.0.1:0' })) as PrometheusExporter;
    stops.push(() => e.shutdown());
    await e.consume({ resourceMetrics: rm([sum(NaN, 0, 10)]) });
    await e.consume({ resourceMetrics: rm([sum(Infinity, 10, 20), sum(1, 20, 30), sum(1, 20, 30)]) });
    const warnings = lines.map((l) => JSON.parse(l) as { level: number | string; reason?: string; message: string }).filter((l) => l.reason !== undefined);
    expect(warnings.map((w) => w.reason)).toEqual(['invalid', 'late']);
    expect(warnings[0]!.message).toMatch(/dropped_points_total\{reason="invalid"\}/);
  });

  it('counts the streams it stops serving when idle for metric_expiration on /metrics, beside the ones it serves', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.UTC(2026, 10, 30, 12, 0, 0));
      const telemetry = new ServiceTelemetry();
      const settings = testSettings('exporter', 'prometheus', { telemetry: telemetry.forComponent('exporter', 'prometheus') });
      const e = prometheusExporterFactory.create(settings, configFor(prometheusExporterFactory, { endpoint: '127.0.0.1:0', metric_expiration: '5m' })) as PrometheusExporter;
      stops.push(() => e.shutdown());
      await e.consume({ resourceMetrics: rm([sum(1, 0, 10, AggregationTemporality.Delta, { a: '1' }), sum(1, 0, 10, AggregationTemporality.Delta, { a: '2' })]) });
      vi.advanceTimersByTime(4 * 60_000);
      await e.consume({ resourceMetrics: rm([sum(1, 10, 20, AggregationTemporality.Delta, { a: '1' })]) });
      vi.advanceTimersByTime(2 * 60_000);
      expect(e.scrape().body).not.toContain('a="2"');
      expect(await counterValue(telemetry, 'vigil_exporter_prometheus_series_removed', { reason: 'idle' })).toBe(1);
      expect(await counterValue(telemetry, 'vigil_exporter_prometheus_series')).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects bad config with the key named', () => {
    expect(() => configFor(prometheusExporterFactory, { summary_quantiles: [1.5] })).toThrow(/summary_quantiles/);
    expect(() => configFor(prometheusExporterFactory, { metric_expiration: '0s' })).toThrow(/metric_expiration: must be more than 0/);
    expect(() => configFor(prometheusExporterFactory, { endpoint: 'nope' })).toThrow(/endpoint/);
  });
});
