import { describe, expect, it } from 'vitest';
import type { KeyValue } from '../../src/model.ts';
import { Sketch, scaleForAccuracy } from '../../src/sketch.ts';
import { LatencyHistory, type WindowSeries } from './latency-history.ts';

const scale = scaleForAccuracy(0.01);
function series(service: string, model: string, status: string, values: number[]): WindowSeries {
  const duration = new Sketch(scale);
  for (const v of values) duration.add(v);
  const attrs: KeyValue[] = [
    { key: 'service.name', value: service },
    { key: 'gen_ai.request.model', value: model },
    { key: 'status.code', value: status },
  ];
  return { attrs, service, duration };
}
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('LatencyHistory (the status page latency per service and model)', () => {
  it('gives per-window points and a summary over the windows merged, with error rates, per service and per model', () => {
    const h = new LatencyHistory(10_000, scale, 60, 60_000);
    h.record(0, [series('checkout', 'gpt-4o', 'ok', range(1, 90)), series('checkout', 'gpt-4o', 'error', range(91, 10))]);
    h.record(1, [series('checkout', 'gpt-4o-mini', 'ok', range(101, 100))]);
    const st = h.status(20_000);
    expect(st.series.map((s) => [s.by, s.name, s.calls, s.errors])).toEqual([
      ['service', 'checkout', 200, 10],
      ['model', 'gpt-4o', 100, 10],
      ['model', 'gpt-4o-mini', 100, 0],
    ]);
    const svc = st.series[0]!;
    // p95 of 1..200 over both windows, within the sketch's 1%
    expect(Math.abs(svc.p95! - 190) / 190).toBeLessThan(0.02);
    expect(svc.errorRate).toBeCloseTo(0.05, 10);
    expect(svc.points.map((p) => [p.t, p.calls, p.errors])).toEqual([
      [10_000, 100, 10],
      [20_000, 100, 0],
    ]);
    expect(Math.abs(svc.points[0]!.p95! - 95) / 95).toBeLessThan(0.02);
  });

  it('summarises only the recent span, forgets series with no recent point, and bounds the keys', () => {
    const h = new LatencyHistory(10_000, scale, 3, 20_000, 2);
    h.record(0, [series('a', '', 'ok', [1000])]);
    for (let i = 1; i <= 5; i++) h.record(i, [series('a', '', 'ok', [10]), series('b', '', 'ok', [10]), series('c', '', 'ok', [10])]);
    const st = h.status(60_000);
    expect(st.series.map((s) => s.name)).toEqual(['a', 'b']); // c: over the cap of 2 services; no model dimension
    expect(st.series[0]!.points.length).toBe(3);
    expect(st.series[0]!.p99).toBeLessThan(11); // the 1000 ms window is past the summary span
    expect(h.status(60_000 + 10 * 10_000).series).toEqual([]);
  });
});
