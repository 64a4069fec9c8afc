/**
 * The process-wide memory budget (src/memory-budget.ts): accounts kept up to date on add and remove, the
 * stores that fold or shed new series once it is full (and keep updating what they hold), the bytes given
 * back when entries go, the memory_limiter that sets it and reads it between its measurements, its figures
 * on /metrics, and estimates that are not below what V8 really holds.
 */
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SeriesStore, seriesBytes } from '../processors/alerts/series-store.ts';
import { Series } from '../processors/alerts/series.ts';
import { memoryLimiterProcessorFactory } from '../processors/memory_limiter/index.ts';
import { MemoryLimiter, fullGc } from '../processors/memory_limiter/memory-limiter.ts';
import { percentilesProcessorFactory } from '../processors/percentiles/index.ts';
import type { PercentilesProcessor } from '../processors/percentiles/percentiles-processor.ts';
import { ConsumerError } from '../src/errors.ts';
import { silentLogger } from '../src/logger.ts';
import { MemoryBudget, memoryBudget } from '../src/memory-budget.ts';
import { AggregationTemporality, type Batch, type Metric } from '../src/model.ts';
import { MetricStreamReader, type MetricPointVisitor } from '../src/streams/metric-stream-reader.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { type Daemon, freePort, startDaemon, writeConfig } from './helpers/daemon.ts';
import { SinkConsumer, configFor, tempDir, testSettings, waitFor } from './helpers/index.ts';
import { counterValue, resourceSpans, span } from './percentiles-helpers.ts';

const MiB = 1048576;
const owner = {};
afterEach(() => {
  memoryBudget.clearLimit(owner);
  vi.useRealTimers();
});

function gaugeBatch(name: string, users: number[], value: number, timeMs: number): Batch {
  const metric: Metric = {
    name,
    description: '',
    unit: '',
    metadata: [],
    data: { type: 'gauge', dataPoints: users.map((u) => ({ attributes: [{ key: 'user.id', value: `user-${u}` }], startTimeUnixNano: 0n, timeUnixNano: BigInt(timeMs) * 1_000_000n, value, exemplars: [], flags: 0 })) },
  };
  return { resourceMetrics: [{ resource: { attributes: [] }, scopeMetrics: [{ scope: { name: '', version: '', attributes: [] }, metrics: [metric] }] }] } as unknown as Batch;
}

describe('MemoryBudget', () => {
  it('keeps the total of its accounts on add, set and close, and admits only what fits', () => {
    const b = new MemoryBudget(1000);
    const a = b.account('store a');
    const c = b.account('store b');
    a.add(400);
    c.add(300);
    expect(b.total).toBe(700);
    expect(a.admit(300)).toBe(true);
    expect(c.admit(301)).toBe(false); // the sum of every store counts, not the asker's own bytes
    a.set(100);
    expect(b.total).toBe(400);
    a.shed(3);
    a.close();
    a.add(50); // closed: no effect
    expect(b.total).toBe(300);
    expect(b.exhausted).toBe(false);
    c.add(700);
    expect(b.exhausted).toBe(true);
    b.compact();
    expect(Object.fromEntries(b.byStore())).toEqual({ 'store a': { bytes: 0, shed: 3 }, 'store b': { bytes: 1000, shed: 0 } });
  });

  it('takes the lowest limit set by its owners, and its default again once they clear them', () => {
    const b = new MemoryBudget(10 * MiB);
    const x = {};
    const y = {};
    b.setLimit(x, 4 * MiB);
    b.setLimit(y, 6 * MiB);
    expect(b.limitBytes).toBe(4 * MiB);
    b.clearLimit(x);
    expect(b.limitBytes).toBe(6 * MiB);
    b.clearLimit(y);
    expect(b.limitBytes).toBe(10 * MiB);
  });
});

describe('stores under the budget', () => {
  it('alerts series store: past the budget new series are dropped and counted, held ones keep their points, prune gives the bytes back', () => {
    const budget = new MemoryBudget(100_000);
    const account = budget.account('processor/alerts series');
    const t0 = Date.UTC(2026, 10, 23, 10);
    const store = new SeriesStore({ maxSeries: 1_000_000, maxPointsPerSeries: 64, retention: new Map([['queue_depth', 60_000]]), budget: account });
    store.ingest(gaugeBatch('queue_depth', Array.from({ length: 1000 }, (_, i) => i), 1, t0), t0);
    const held = store.size;
    expect(held).toBeGreaterThan(10);
    expect(held).toBeLessThan(1000);
    expect(account.shedItems).toBe(1000 - held);
    expect(store.droppedPoints).toBe(1000 - held);
    expect(budget.total).toBeLessThanOrEqual(100_000);
    // a series already held still takes points
    expect(store.ingest(gaugeBatch('queue_depth', [0], 2, t0 + 1000), t0 + 1000)).toBe(1);
    store.prune(t0 + 1000);
    expect(account.bytes).toBeGreaterThan(0);
    // past the retention every series goes, and its bytes with it: new series fit again
    store.prune(t0 + 10 * 60_000);
    expect(store.size).toBe(0);
    expect(account.bytes).toBe(0);
    expect(store.ingest(gaugeBatch('queue_depth', [5000], 1, t0 + 10 * 60_000), t0 + 10 * 60_000)).toBe(1);
    store.close();
    expect(budget.total).toBe(0);
  });

  it('percentiles: past the budget new series fold into the overflow series (counted), and the window gives its bytes back when emitted', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 23, 10, 0, 0) });
    const tel = new ServiceTelemetry();
    const emitted = new SinkConsumer();
    const settings = testSettings('processor', 'percentiles', { emit: emitted, telemetry: tel.forComponent('processor', 'percentiles') });
    const proc = percentilesProcessorFactory.create(settings, configFor(percentilesProcessorFactory, { window: '10s', dimensions: ['service.name', 'span.name'], max_series: 100_000 })) as PercentilesProcessor;
    await proc.start();
    // room for a few dozen series beside whatever the process holds now
    memoryBudget.setLimit(owner, memoryBudget.total + 60_000);
    const now = Date.now();
    const spans = Array.from({ length: 500 }, (_, i) => span(now, 10, { name: `op-${i}` }));
    await proc.process({ resourceSpans: [resourceSpans('checkout', spans)] }, new SinkConsumer());
    const held = proc.seriesHeld();
    expect(held).toBeGreaterThan(5);
    expect(held).toBeLessThan(500);
    expect(proc.budget.bytes).toBeGreaterThan(0);
    expect(proc.budget.shedItems).toBe(500 - held);
    expect(await counterValue(tel, 'vigil_processor_series_overflow_items', { processor: 'percentiles' })).toBe(500 - held);
    await vi.advanceTimersByTimeAsync(20_000);
    const overflow = emitted.metrics.flatMap((m) => (m.data?.dataPoints ?? []) as { attributes: { key: string; value: unknown }[] }[]).filter((dp) => dp.attributes.some((a) => a.key === 'otel.metric.overflow'));
    expect(overflow.length).toBeGreaterThan(0);
    expect(proc.budget.bytes).toBe(0);
    await proc.shutdown();
    // /metrics: bytes per store, the limit, what was shed
    const text = await new Promise<string>((resolve) => {
      const res = { statusCode: 0, setHeader() {}, end: (body: string) => resolve(body) };
      tel.meter.serve(res as never);
    });
    expect(text).toMatch(/vigil_memory_budget_limit_bytes \d+/);
    expect(text).toMatch(new RegExp(`vigil_memory_budget_shed_items_total\\{store="processor/percentiles series"\\} ${500 - held}`));
    expect(text).toMatch(/vigil_memory_budget_used_bytes\{store="processor\/alerts series"\}|vigil_memory_budget_used_bytes\{store="processor\/percentiles series"\}/);
    await tel.close();
  });

  it('metric stream reader: while the budget is full a new cumulative stream takes the place of the oldest, so the streams held stop growing', () => {
    const budget = new MemoryBudget(50_000);
    const account = budget.account('processor/test metric streams');
    const t0 = Date.UTC(2026, 10, 23, 10);
    const reader = new MetricStreamReader({ component: 'test', logger: silentLogger(), maxStreams: 100_000, sinceMs: t0 - 60_000, budget: account });
    const seen: number[] = [];
    const visitor = { number: (_c: unknown, delta: number | undefined) => void seen.push(delta ?? -1) } as unknown as MetricPointVisitor;
    const cumulative = (users: number[], value: number, timeMs: number): Batch => {
      const b = gaugeBatch('requests', users, value, timeMs);
      const m = b.resourceMetrics![0]!.scopeMetrics[0]!.metrics[0]!;
      const points = (m.data as { dataPoints: { startTimeUnixNano: bigint }[] }).dataPoints;
      for (const p of points) p.startTimeUnixNano = BigInt(t0 - 30_000) * 1_000_000n;
      m.data = { type: 'sum', isMonotonic: true, aggregationTemporality: AggregationTemporality.Cumulative, dataPoints: points } as never;
      return b;
    };
    reader.read(cumulative(Array.from({ length: 1000 }, (_, i) => i), 1, t0), () => true, visitor, t0);
    const held = reader.size;
    expect(held).toBeGreaterThan(10);
    expect(held).toBeLessThan(1000);
    expect(account.shedItems).toBe(1000 - held);
    expect(budget.total).toBeLessThanOrEqual(50_000 + 1000);
    reader.read(cumulative(Array.from({ length: 1000 }, (_, i) => 5000 + i), 1, t0 + 1000), () => true, visitor, t0 + 1000);
    expect(reader.size).toBe(held);
    reader.close();
    expect(budget.total).toBe(0);
  });

  it('estimates a stored alert series at no less than V8 holds for it', () => {
    const gc = fullGc();
    if (!gc) return expect.fail('no way to run a full collection in this runtime');
    const n = 5000;
    gc();
    const before = process.memoryUsage().heapUsed;
    const keep: Series[] = [];
    let estimated = 0;
    for (let i = 0; i < n; i++) {
      const s = new Series('queue_depth', `service.name\u0001checkout\u0000user.id\u0001user-${i}\u0000`, { 'service.name': 'checkout', 'user.id': `user-${i}` }, 'gauge');
      for (let j = 0; j < 8; j++) s.insert(1_000 + j, j, undefined, undefined, 0);
      keep.push(s);
      estimated += seriesBytes(s);
    }
    gc();
    const real = process.memoryUsage().heapUsed - before;
    expect(keep).toHaveLength(n);
    expect(estimated).toBeGreaterThanOrEqual(real);
    expect(estimated).toBeLessThan(real * 3); // coarse, not absurd
  });
});

describe('memory_limiter and the budget', () => {
  it('sets the budget to half its soft limit while it runs, and refuses between measurements once accounted growth passes the soft limit', async () => {
    const budget = new MemoryBudget(1024 * MiB);
    const account = budget.account('test store');
    const used = 100 * MiB;
    const settings = testSettings('processor', 'memory_limiter');
    const ml = new MemoryLimiter(configFor(memoryLimiterProcessorFactory, { limit_mib: 200, spike_limit_mib: 50 }), silentLogger(), settings.telemetry, () => used, undefined, budget);
    await ml.start();
    expect(budget.limitBytes).toBe(75 * MiB); // half of 200 - 50
    const sink = new SinkConsumer();
    await ml.process({ resourceSpans: [] }, sink);
    // 40 MiB accounted since the measurement: 140 < 150, accepted; 60 MiB: 160 > 150, refused before the next check
    account.add(40 * MiB);
    await ml.process({ resourceSpans: [] }, sink);
    expect(sink.batches).toHaveLength(2);
    account.add(20 * MiB);
    const err = await ml.process({ resourceSpans: [] }, sink).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsumerError);
    expect((err as ConsumerError).permanent).toBe(false);
    // the stores gave the bytes back (a window emitted): accepted again at once
    account.add(-60 * MiB);
    await ml.process({ resourceSpans: [] }, sink);
    expect(sink.batches).toHaveLength(3);
    await ml.shutdown();
    expect(budget.limitBytes).toBe(1024 * MiB);
  });
});

describe('the budget in the daemon', () => {
  const daemons: Daemon[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop();
  });

  it('folds a burst of distinct span names past the budget, shows it per store on /metrics, and takes new series again once the window is emitted', async () => {
    const dir = tempDir();
    const [http, tel] = [await freePort(), await freePort()];
    const config = writeConfig(path.join(dir, 'vigil.yaml'), {
      receivers: { otlp: { protocols: { http: { endpoint: `127.0.0.1:${http}` } } } },
      // soft limit 96 MiB: a budget of 48 MiB, about 30,000 span series of the 600-character names below
      // (each charged about 1.6 KB, most of it the name; with short names a series is charged about 400 bytes)
      processors: { memory_limiter: { limit_mib: 120, spike_limit_mib: 24 }, percentiles: { window: '8s', late_windows: 0, dimensions: ['service.name', 'span.name'], max_series: 1_000_000 } },
      exporters: { nop: {} },
      service: { state_dir: path.join(dir, 'state'), telemetry: { endpoint: `127.0.0.1:${tel}` }, pipelines: { traces: { receivers: ['otlp'], processors: ['memory_limiter', 'percentiles'], exporters: ['nop'] }, metrics: { receivers: ['otlp'], exporters: ['nop'] } } },
    });
    const vigil = await startDaemon([config], tel, { env: { NODE_OPTIONS: '--max-old-space-size=160' } });
    daemons.push(vigil);
    const scrape = async () => {
      const text = await (await fetch(`http://127.0.0.1:${tel}/metrics`)).text();
      const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
      return {
        limit: num(/^vigil_memory_budget_limit_bytes (\d+)/m),
        used: num(/^vigil_memory_budget_used_bytes\{store="processor\/percentiles series"\} (\d+)/m),
        shed: num(/^vigil_memory_budget_shed_items_total\{store="processor\/percentiles series"\} (\d+)/m),
      };
    };
    expect((await scrape()).limit).toBe(Math.floor(96 * MiB * 0.5));
    let n = 0;
    const statuses: number[] = [];
    // 40,000 distinct names in a few seconds, all in one window: windows start at multiples of 8 s since the
    // epoch, and a burst split across a boundary holds about 20,000 series in each window, under the budget, so
    // nothing is shed (a CI run failed so; reproduced by starting the burst 250 ms before a boundary). The burst
    // starts just after one.
    await new Promise((r) => setTimeout(r, 8000 - (Date.now() % 8000) + 50));
    const long = 'x'.repeat(600);
    for (let r = 0; r < 20; r++) {
      const now = BigInt(Date.now()) * 1_000_000n;
      const spans = Array.from({ length: 2000 }, () => ({ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: `op-${n++}-${long}`, startTimeUnixNano: String(now - 5_000_000n), endTimeUnixNano: String(now) }));
      const body = JSON.stringify({ resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] }, scopeSpans: [{ scope: {}, spans }] }] });
      statuses.push((await fetch(`http://127.0.0.1:${http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status);
    }
    // nothing but accepted or retryable refusals (memory_limiter); never a 500
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    const burst = await scrape();
    expect(burst.shed).toBeGreaterThan(0);
    expect(burst.used).toBeGreaterThan(0);
    expect(burst.used).toBeLessThanOrEqual(burst.limit);
    // the windows are emitted and their bytes come back: a new span name is a series of its own again
    await waitFor(async () => (await scrape()).used === 0, 15_000, 'the percentiles windows emitted');
    const ok = await fetch(`http://127.0.0.1:${http}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: {}, spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'checkout', startTimeUnixNano: String(BigInt(Date.now() - 5) * 1_000_000n), endTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n) }] }] }] }) });
    expect(ok.status).toBe(200);
    expect((await scrape()).used).toBeGreaterThan(0);
    expect((await scrape()).shed).toBe(burst.shed);
    // A daemon started from the sources and 40,000 JSON spans: ~15 s alone, past 60 s in the whole suite on 2 cores.
  }, 180_000);
});
