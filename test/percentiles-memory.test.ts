/**
 * Memory of the percentiles processor: flat under a stream of unique attribute values (the overflow series
 * absorbs them), and per live series sized to what the series holds (issue 21: 100,000 live series).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExponentialHistogramDataPoint } from '../src/model.ts';
import { percentilesProcessorFactory as factory } from '../processors/percentiles/index.ts';
import type { PercentilesProcessor } from '../processors/percentiles/percentiles-processor.ts';
import { SinkConsumer, configFor, testSettings } from './helpers/index.ts';
import { attrs, normal, prng, resourceSpans, span } from './percentiles-helpers.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('percentiles memory', () => {
  it('200k unique attribute values: series stay at max_series and heap growth is bounded', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
    vi.setSystemTime(T0 + 1);
    const emitted = new SinkConsumer();
    const proc = factory.create(
      testSettings('processor', 'percentiles/mem', { emit: emitted }),
      configFor(factory, { dimensions: ['service.name', 'request.id'], span_attributes: ['gen_ai.usage.cost'], max_series: 1000, window: '1h' }),
    ) as PercentilesProcessor;
    const next = new SinkConsumer();
    const feed = async (from: number, to: number) => {
      for (let b = from; b < to; b += 1000) {
        const spans = [];
        for (let i = b; i < b + 1000; i++) spans.push(span(T0 + 10, 1 + (i % 500), { attributes: attrs({ 'request.id': `req-${i}`, 'gen_ai.usage.cost': 0.001 * (i % 7) }) }));
        await proc.process({ resourceSpans: [resourceSpans('svc', spans)] }, next);
        next.batches.length = 0;
      }
    };
    await feed(0, 20_000); // warm up: fills the 1000 series and the overflow one
    const before = heapMb();
    await feed(20_000, 220_000); // 200k unique values
    const after = heapMb();
    expect(proc.seriesHeld()).toBe(1000);
    // 200k series would take well over 100 MB; folded into one overflow series they take nothing
    expect(after - before).toBeLessThan(15);
    await proc.shutdown();
    const hist = emitted.metrics.filter((m) => m.name === 'span.duration').flatMap((m) => m.data!.dataPoints as ExponentialHistogramDataPoint[]);
    expect(hist).toHaveLength(1001);
    expect(hist.reduce((n, dp) => n + dp.count, 0)).toBe(220_000);
  });

  it('a series of 8 lognormal latencies holds a store sized to its few buckets: charged and really held (heap and array buffers, after full GC) under 600 bytes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
    vi.setSystemTime(T0 + 1);
    const gauss = normal(prng(21));
    const fill = async (n: number) => {
      const proc = factory.create(
        // emitted windows are dropped, so that what the series held is given back at shutdown
        testSettings('processor', 'percentiles/mem', { emit: { consume: async () => undefined } }),
        configFor(factory, { dimensions: ['service.name', 'request.key'], max_series: 100_000, window: '1h' }),
      ) as PercentilesProcessor;
      // 8 spans a series as the bench's memory run sends them (bench/processors.ts), one batch per round
      for (let round = 0; round < 8; round++) {
        const spans = [];
        for (let k = 0; k < n; k++) spans.push(span(T0 + 10, Math.exp(6 + gauss()), { attributes: attrs({ 'request.key': `k${k}` }) }));
        await proc.process({ resourceSpans: [resourceSpans('svc', spans)] }, new SinkConsumer());
      }
      return proc;
    };
    await (await fill(2_000)).shutdown(); // compiles the code paths first, so that the measure is the series'
    const memory = () => {
      gc();
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const n = 20_000;
    const proc = await fill(n);
    const held = memory();
    expect(proc.seriesHeld()).toBe(n);
    const charged = proc.budget.bytes / n;
    await proc.shutdown();
    expect(proc.budget.bytes).toBe(0);
    // what the series held is what their release gives back: measured around the release, not from a baseline
    // taken before filling (that one moved by more than the series themselves, once, in CI: other garbage of
    // the worker was collected in between)
    const real = (held - memory()) / n;
    // a series holds something (a measure that lost it would make the bounds below meaningless)
    expect(real).toBeGreaterThan(50);
    // a Sketch per series was charged 1.2 KB and held about 2.7 KB (two typed arrays, one over every bucket
    // between the smallest and the largest latency: about 280 at scale 6)
    expect(real).toBeLessThan(600);
    expect(charged).toBeLessThan(600);
    // the budget's estimate is not below what V8 holds, and not absurd
    expect(charged).toBeGreaterThanOrEqual(real);
    expect(charged).toBeLessThan(real * 2);
  });
});
