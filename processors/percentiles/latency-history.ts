/**
 * What the percentiles processor reports to the status page: per service and per model, span latency
 * (p50/p95/p99) and error counts for each of the last windows, and over the recent span (`summaryMs`, the
 * windows' sketches merged). Fed once per closed window, off the data path; bounded: at most `maxKeys`
 * services and `maxKeys` models (later ones are not shown), `points` windows each, sketches kept only for
 * the windows the summary covers.
 */
import { Sketch } from '../../src/sketch.ts';
import type { KeyValue } from '../../src/model.ts';
import type { LatencySeries, LatencyStatus } from '../../src/status.ts';
import { type Dist, distCount, distMergeInto } from './dist.ts';

interface Point {
  t: number;
  sketch: Sketch | undefined;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  calls: number;
  errors: number;
}

interface Key {
  by: 'service' | 'model';
  name: string;
  points: Point[];
}

const MODEL_KEYS = ['gen_ai.request.model', 'gen_ai.response.model'];

/** One closed window's span series, as the processor holds them. */
export interface WindowSeries {
  attrs: readonly KeyValue[];
  service: string;
  /** Span durations, at the history's scale (a packed distribution or a Sketch). */
  duration: Dist;
}

/**
 * The latency history the status page shows (see this file's comment); windows of `windowMs` ms, sketches at `scale`.
 */
export class LatencyHistory {
  private readonly keys = new Map<string, Key>();

  constructor(
    private readonly windowMs: number,
    private readonly scale: number,
    /** Points kept per key. */
    private readonly points = 60,
    /** The span the summary covers (a whole number of windows, at least one). */
    readonly summaryMs = Math.max(windowMs, 5 * 60_000),
    private readonly maxKeys = 100,
  ) {}

  /** Records one closed window (its index: start = index * windowMs). */
  record(index: number, series: readonly WindowSeries[]): void {
    const t = (index + 1) * this.windowMs;
    const acc = new Map<string, { by: 'service' | 'model'; name: string; sketch: Sketch; errors: number }>();
    const add = (by: 'service' | 'model', name: string, s: WindowSeries, error: boolean) => {
      const k = `${by}\u0000${name}`;
      let a = acc.get(k);
      if (!a) acc.set(k, (a = { by, name, sketch: new Sketch(this.scale), errors: 0 }));
      distMergeInto(a.sketch, s.duration, this.scale);
      if (error) a.errors += distCount(s.duration);
    };
    for (const s of series) {
      if (distCount(s.duration) === 0) continue;
      let model: string | undefined;
      let error = false;
      for (const a of s.attrs) {
        if (a.key === 'status.code') error = a.value === 'error';
        else if (model === undefined && MODEL_KEYS.includes(a.key) && a.value !== '') model = String(a.value);
      }
      add('service', s.service, s, error);
      if (model !== undefined) add('model', model, s, error);
    }
    const keep = Math.max(1, Math.ceil(this.summaryMs / this.windowMs));
    for (const [k, a] of acc) {
      let key = this.keys.get(k);
      if (!key) {
        let n = 0;
        for (const x of this.keys.values()) if (x.by === a.by) n++;
        if (n >= this.maxKeys) continue;
        this.keys.set(k, (key = { by: a.by, name: a.name, points: [] }));
      }
      const q = (p: number) => (a.sketch.count ? a.sketch.quantile(p) : null);
      key.points.push({ t, sketch: a.sketch, p50: q(0.5), p95: q(0.95), p99: q(0.99), calls: a.sketch.count, errors: a.errors });
      if (key.points.length > this.points) key.points.shift();
      // sketches only for the windows the summary can cover
      for (let i = 0; i < key.points.length - keep; i++) key.points[i]!.sketch = undefined;
    }
  }

  /** The series at `nowMs`; keys with no point in the kept span are left out (and forgotten). */
  status(nowMs: number): LatencyStatus {
    const series: LatencySeries[] = [];
    const oldest = nowMs - this.points * this.windowMs - 2 * this.windowMs;
    for (const [k, key] of this.keys) {
      while (key.points.length && key.points[0]!.t < oldest) key.points.shift();
      if (!key.points.length) {
        this.keys.delete(k);
        continue;
      }
      const merged = new Sketch(this.scale);
      let calls = 0;
      let errors = 0;
      for (const p of key.points) {
        if (p.t <= nowMs - this.summaryMs - this.windowMs || !p.sketch) continue;
        merged.merge(p.sketch);
        calls += p.calls;
        errors += p.errors;
      }
      const q = (x: number) => (merged.count ? merged.quantile(x) : null);
      series.push({
        by: key.by,
        name: key.name,
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        calls,
        errors,
        errorRate: calls ? errors / calls : 0,
        points: key.points.map(({ t, p50, p95, p99, calls: c, errors: e }) => ({ t, p50, p95, p99, calls: c, errors: e })),
      });
    }
    series.sort((a, b) => (a.by === b.by ? a.name.localeCompare(b.name) : a.by === 'service' ? -1 : 1));
    return { windowMs: this.windowMs, summaryWindowMs: this.summaryMs, series };
  }
}
