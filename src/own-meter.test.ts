import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Attributes, type Meter, type MetricOptions, type Observable, type ObservableResult, ValueType } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OwnMeter } from './own-meter.ts';
import { ServiceTelemetry } from './telemetry.ts';

/** The reference: the OTel metrics SDK read by exporter-prometheus as vigil configured it before (issue 21). */
function reference(): { meter: Meter; scrape: () => Promise<string>; shutdown: () => Promise<void> } {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true });
  const provider = new MeterProvider({ readers: [exporter] });
  return {
    meter: provider.getMeter('vigil'),
    scrape: () =>
      new Promise<string>((resolve) => {
        const res = { statusCode: 0, setHeader() {}, end: (body: string) => resolve(body) };
        exporter.getMetricsRequestHandler({} as never, res as never);
      }),
    shutdown: () => provider.shutdown(),
  };
}

const KINDS = ['counter', 'updown', 'histogram', 'gauge', 'ocounter', 'oupdown', 'ogauge'] as const;
type Kind = (typeof KINDS)[number];

interface InstrumentSpec {
  kind: Kind;
  name: string;
  options: MetricOptions;
}

const ATTRS: Attributes[] = [
  {},
  { exporter: 'slack/oncall' },
  { exporter: 'slack/oncall', signal: 'traces' },
  { signal: 'traces', exporter: 'slack/oncall' }, // the same series as the one before, keys in another order
  { store: 'q"uo\\te\nline' },
  { 'service.name': 'x-y', n: 3 },
  { flag: true, list: [1, 2] },
];
const VALUES = [0, 1, 2, 7, 0.1, 0.2, 0.30000000000000004, 1.5, 2.75, 1e-9, 12_345.678, 1e21, -1, -0.5, NaN, Infinity];

const specArb: fc.Arbitrary<InstrumentSpec> = fc.record({
  kind: fc.constantFrom(...KINDS),
  // a small pool, so that instruments share a name (same or different descriptor)
  name: fc.constantFrom('vigil_a', 'vigil_a', 'vigil.b-c', 'VIGIL_A', 'vigil_x_total', '9lives', 'vigil__d'),
  options: fc.record(
    {
      description: fc.constantFrom('', 'Items', 'Items sent\nby a\\component'),
      unit: fc.constantFrom('', 's', 'By'),
      valueType: fc.constantFrom(ValueType.INT, ValueType.DOUBLE),
      advice: fc.constantFrom({}, { explicitBucketBoundaries: [0.001, 0.01, 0.1, 1, 10] }, { explicitBucketBoundaries: [5, -Infinity, 1, Infinity, 2] }),
    },
    { requiredKeys: [] },
  ),
});

type Op =
  | { op: 'measure'; i: number; v: number; a: number }
  | { op: 'observe'; i: number; v: number; a: number }
  | { op: 'forget'; i: number; a: number }
  | { op: 'scrape' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('measure' as const), i: fc.nat(7), v: fc.constantFrom(...VALUES), a: fc.nat(ATTRS.length - 1) }),
  fc.record({ op: fc.constant('observe' as const), i: fc.nat(7), v: fc.constantFrom(...VALUES), a: fc.nat(ATTRS.length - 1) }),
  fc.record({ op: fc.constant('forget' as const), i: fc.nat(7), a: fc.nat(ATTRS.length - 1) }),
  fc.constant({ op: 'scrape' as const }),
);

/**
 * Creates the instruments on `meter` and returns a function that applies one operation; observable
 * instruments read `state` in their callbacks (a single callback each, plus one batch callback over all of
 * them, which also fails when `failBatch`).
 */
function build(meter: Meter, specs: InstrumentSpec[], state: Map<number, Map<number, number>>, failBatch: boolean) {
  const made = specs.map((s) => {
    switch (s.kind) {
      case 'counter':
        return meter.createCounter(s.name, s.options);
      case 'updown':
        return meter.createUpDownCounter(s.name, s.options);
      case 'histogram':
        return meter.createHistogram(s.name, s.options);
      case 'gauge':
        return meter.createGauge(s.name, s.options);
      case 'ocounter':
        return meter.createObservableCounter(s.name, s.options);
      case 'oupdown':
        return meter.createObservableUpDownCounter(s.name, s.options);
      case 'ogauge':
        return meter.createObservableGauge(s.name, s.options);
    }
  });
  const observables: Observable[] = [];
  made.forEach((m, i) => {
    if (!('addCallback' in m)) return;
    observables.push(m);
    m.addCallback((r: ObservableResult) => {
      for (const [a, v] of state.get(i) ?? []) r.observe(v, ATTRS[a]);
    });
  });
  if (observables.length) {
    meter.addBatchObservableCallback((r) => {
      observables.forEach((o, k) => r.observe(o, k * 3 + 0.25, { batch: 'yes' }));
      if (failBatch) throw new Error('callback failed');
    }, observables);
  }
  return (op: Op) => {
    if (op.op === 'scrape') return;
    const i = op.i % made.length;
    const m = made[i]!;
    if (op.op === 'measure') {
      if ('add' in m) m.add(op.v, ATTRS[op.a]);
      else if ('record' in m) m.record(op.v, ATTRS[op.a]);
    } else if (op.op === 'observe') {
      let s = state.get(i);
      if (!s) state.set(i, (s = new Map()));
      s.set(op.a, op.v);
    } else state.get(i)?.delete(op.a);
  };
}

describe('OwnMeter', () => {
  it('writes the same /metrics text as the OTel SDK read by exporter-prometheus, scrape after scrape, on random instruments and measurements', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 8 }), fc.array(opArb, { maxLength: 60 }), fc.boolean(), async (specs, ops, failBatch) => {
        const ref = reference();
        const own = new OwnMeter();
        const refState = new Map<number, Map<number, number>>();
        const ownState = new Map<number, Map<number, number>>();
        const applyRef = build(ref.meter, specs, refState, failBatch);
        const applyOwn = build(own, specs, ownState, failBatch);
        try {
          for (const op of [...ops, { op: 'scrape' } as Op]) {
            applyRef(op);
            applyOwn(op);
            if (op.op === 'scrape') expect(await own.exposition()).toBe(await ref.scrape());
          }
        } finally {
          await ref.shutdown();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('hands every instrument and measurement to its mirror: the SDK meter behind OTLP export sees what /metrics shows', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(specArb, { minLength: 1, maxLength: 8 }), fc.array(opArb, { maxLength: 60 }), async (specs, ops) => {
        const mirror = reference();
        const own = new OwnMeter(mirror.meter);
        const state = new Map<number, Map<number, number>>();
        const apply = build(own, specs, state, false);
        try {
          for (const op of [...ops, { op: 'scrape' } as Op]) {
            apply(op);
            if (op.op === 'scrape') expect(await own.exposition()).toBe(await mirror.scrape());
          }
        } finally {
          await mirror.shutdown();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('past 2,000 series in a stream, further series fold into otel.metric.overflow, as in the SDK', async () => {
    const ref = reference();
    const own = new OwnMeter();
    for (const m of [ref.meter, own]) {
      const c = m.createCounter('vigil_many');
      for (let i = 0; i < 2100; i++) c.add(1, { id: String(i) });
    }
    const text = await own.exposition();
    expect(text).toContain('vigil_many_total{otel_metric_overflow="true"} 101');
    expect(text).toBe(await ref.scrape());
    await ref.shutdown();
  });

  it('serves /metrics on the telemetry endpoint as text/plain, without loading the OTel metrics SDK', async () => {
    const tel = new ServiceTelemetry();
    tel.forComponent('exporter', 'slack/oncall').count('sent', 'alerts', 3);
    tel.pipelineDuration.record(0.02, { receiver: 'otlp' });
    const addr = (await tel.listen('127.0.0.1:0')) as AddressInfo;
    try {
      const res = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: addr.port, path: '/metrics' }, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, type: String(r.headers['content-type']), body }));
        }).on('error', reject);
      });
      expect(res.status).toBe(200);
      expect(res.type).toBe('text/plain');
      expect(res.body).toContain('# HELP vigil_exporter_sent_items_total Items an exporter delivered\n# TYPE vigil_exporter_sent_items_total counter\nvigil_exporter_sent_items_total{exporter="slack/oncall",signal="alerts"} 3\n');
      expect(res.body).toContain('vigil_pipeline_duration_seconds_bucket{receiver="otlp",le="0.025"} 1\n');
      expect(res.body).toMatch(/\nvigil_process_memory_rss \d+\n/);
    } finally {
      await tel.close();
    }
  });
});
