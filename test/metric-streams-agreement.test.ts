/**
 * Property: for random metric streams (cumulative and delta, explicit and exponential histograms) with
 * sender restarts, lost exports, retried (duplicate) exports, changes of bounds and vigil restarts,
 * `percentiles`, `cost` and `alerts` count the same observations, and exactly those of a reference
 * computed by hand from the observations themselves (never from the cumulative values):
 *
 * - a delta point counts the observations since the sender's previous export;
 * - a cumulative point counts the observations since the previous point vigil (this run of it) received
 *   of the same sender run; the first point a vigil run receives of a sender run counts everything since
 *   the sender run started if it started after that vigil run did, else nothing (a baseline);
 * - a cumulative point vigil already received (a retry) counts nothing.
 *
 * Each processor instance lives for one vigil run; their outputs are added over the runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AggregationTemporality, type Batch, type HistogramDataPoint, type KeyValue, type MetricData, type NumberDataPoint, type SummaryDataPoint, emptyScope, getAttr } from '../src/model.ts';
import { Sketch } from '../src/sketch.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { engineFor, tick } from '../processors/alerts/testdata/engine.ts';
import type { CostProcessor } from '../processors/cost/cost-processor.ts';
import { costProcessorFactory } from '../processors/cost/index.ts';
import { percentilesProcessorFactory } from '../processors/percentiles/index.ts';
import type { PercentilesProcessor } from '../processors/percentiles/percentiles-processor.ts';
import { SinkConsumer, configFor, tempDir, testSettings } from './helpers/index.ts';

const METRIC = 'gen_ai.client.token.usage';
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
const STEP = 1000;
const ns = (ms: number) => BigInt(ms) * 1_000_000n;
const VALUES = [3, 7, 30, 300];
const BOUNDS_A = [10, 100];
const BOUNDS_B = [5, 50, 500];

interface SenderPlan {
  cumulative: boolean;
  exponential: boolean;
  /** Per step: observations recorded before the export (indices into VALUES). */
  obs: number[][];
  /** Per step: what happens (0 deliver, 1 lost, 2 delivered twice, 3 restart then deliver, 4 change bounds then deliver). */
  events: number[];
}

interface Plan {
  senders: SenderPlan[];
  /** Steps at which vigil restarts (before that step's exports arrive). */
  vigilRestarts: boolean[];
}

const STEPS = 14;
const planArb: fc.Arbitrary<Plan> = fc.record({
  senders: fc.array(
    fc.record({
      cumulative: fc.boolean(),
      exponential: fc.boolean(),
      obs: fc.array(fc.array(fc.integer({ min: 0, max: VALUES.length - 1 }), { maxLength: 3 }), { minLength: STEPS, maxLength: STEPS }),
      events: fc.array(fc.constantFrom(0, 0, 0, 0, 1, 2, 3, 4), { minLength: STEPS, maxLength: STEPS }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  vigilRestarts: fc.array(fc.constantFrom(false, false, false, false, true), { minLength: STEPS, maxLength: STEPS }),
});

/** One sender's run: when it started and everything observed in it so far (values). */
interface Life {
  id: number;
  startMs: number;
  values: number[];
}

interface Export {
  sender: number;
  life: Life;
  /** Observations of the life up to this export. */
  upTo: number;
  /** Delta: observations since the previous export (of this life). */
  from: number;
  timeMs: number;
  bounds: number[];
  batch: Batch;
}

function tokenBatch(sender: number, data: MetricData): Batch {
  const resource: KeyValue[] = [
    { key: 'service.name', value: 'support-bot' },
    { key: 'service.instance.id', value: `pod-${sender}` },
  ];
  const attrs: KeyValue[] = [
    { key: 'gen_ai.token.type', value: 'input' },
    { key: 'gen_ai.request.model', value: 'gpt-4o' },
    { key: 'gen_ai.provider.name', value: 'openai' },
    { key: 'gen_ai.operation.name', value: 'chat' },
  ];
  for (const dp of data.dataPoints) (dp as { attributes: KeyValue[] }).attributes = attrs;
  return { resourceMetrics: [{ resource: { attributes: resource, droppedAttributesCount: 0 }, schemaUrl: '', scopeMetrics: [{ scope: emptyScope('sdk'), schemaUrl: '', metrics: [{ name: METRIC, description: '', unit: '{token}', metadata: [], data }] }] }] };
}

function pointOf(sender: SenderPlan, values: number[], startMs: number, timeMs: number, bounds: number[]): MetricData {
  const temporality = sender.cumulative ? AggregationTemporality.Cumulative : AggregationTemporality.Delta;
  const sum = values.reduce((a, b) => a + b, 0);
  if (sender.exponential) {
    const sk = Sketch.forAccuracy(0.05);
    for (const v of values) sk.add(v);
    const dp = sk.toDataPoint([], ns(startMs), ns(timeMs));
    dp.sum = sum;
    return { type: 'exponentialHistogram', aggregationTemporality: temporality, dataPoints: [dp] };
  }
  const counts = new Array<number>(bounds.length + 1).fill(0);
  for (const v of values) {
    let b = 0;
    while (b < bounds.length && v > bounds[b]!) b++;
    counts[b]!++;
  }
  const dp: HistogramDataPoint = { attributes: [], startTimeUnixNano: ns(startMs), timeUnixNano: ns(timeMs), count: values.length, sum, bucketCounts: counts, explicitBounds: bounds, exemplars: [], flags: 0 };
  return { type: 'histogram', aggregationTemporality: temporality, dataPoints: [dp] };
}

/** Every export of the plan, in arrival order, with vigil restarts marked (`restart` before the step's exports). */
function timeline(plan: Plan): { step: number; restart: boolean; exports: Export[] }[] {
  let lifeIds = 0;
  const lives: Life[] = plan.senders.map(() => ({ id: lifeIds++, startMs: T0 - 3_600_000, values: [] }));
  const lastExported = plan.senders.map(() => 0);
  const bounds = plan.senders.map(() => BOUNDS_A);
  const out: { step: number; restart: boolean; exports: Export[] }[] = [];
  for (let step = 0; step < STEPS; step++) {
    const exports: Export[] = [];
    plan.senders.forEach((sender, i) => {
      const timeMs = T0 + step * STEP + 100 + i * 10;
      const event = sender.events[step]!;
      if (event === 3) {
        lives[i] = { id: lifeIds++, startMs: timeMs - 50, values: [] };
        lastExported[i] = 0;
      }
      if (event === 4) bounds[i] = bounds[i] === BOUNDS_A ? BOUNDS_B : BOUNDS_A;
      const life = lives[i]!;
      for (const k of sender.obs[step]!) life.values.push(VALUES[k]!);
      const from = lastExported[i]!;
      const upTo = life.values.length;
      lastExported[i] = upTo;
      const values = sender.cumulative ? life.values.slice(0, upTo) : life.values.slice(from, upTo);
      // a delta sender's start time is its previous export (the SDK's collection interval)
      const startMs = sender.cumulative ? life.startMs : timeMs - STEP;
      const e: Export = { sender: i, life, upTo, from, timeMs, bounds: bounds[i]!, batch: tokenBatch(i, pointOf(sender, values, startMs, timeMs, bounds[i]!)) };
      if (event === 1) return; // lost on the way
      exports.push(e);
      // a retry of a cumulative export (delta points are not deduplicated: a retried delta export counts
      // twice, as in the Collector; see docs/metric-streams.md)
      if (event === 2 && sender.cumulative) exports.push({ ...e, batch: tokenBatch(i, pointOf(sender, values, startMs, timeMs, bounds[i]!)) });
    });
    out.push({ step, restart: step > 0 && plan.vigilRestarts[step]!, exports });
  }
  return out;
}

/** The reference: observations each vigil run should count, by hand from the observations. */
function reference(plan: Plan): { count: number; sum: number } {
  let count = 0;
  let sum = 0;
  let vigilStart = T0;
  let seen = new Map<number, { life: number; upTo: number; timeMs: number }>();
  for (const { step, restart, exports } of timeline(plan)) {
    if (restart) {
      vigilStart = T0 + step * STEP;
      seen = new Map();
    }
    for (const e of exports) {
      const prev = seen.get(e.sender);
      if (prev && prev.timeMs >= e.timeMs) continue; // a retry of a point already received
      let from: number;
      if (!plan.senders[e.sender]!.cumulative) from = e.from;
      else if (!prev) from = e.life.startMs >= vigilStart ? 0 : e.upTo; // whole, or a baseline
      else if (prev.life !== e.life.id) from = 0; // the sender restarted after the previous point
      else from = prev.upTo;
      seen.set(e.sender, { life: e.life.id, upTo: e.upTo, timeMs: e.timeMs });
      for (let k = from; k < e.upTo; k++) {
        count++;
        sum += e.life.values[k]!;
      }
    }
  }
  return { count, sum };
}

/** Runs the three processors over the plan (new instances at each vigil restart); adds their outputs. */
async function run(plan: Plan, telemetry: ServiceTelemetry): Promise<{ percentiles: { count: number; sum: number }; alerts: { count: number; sum: number }; costTokens: number }> {
  const percentiles = { count: 0, sum: 0 };
  const alerts = { count: 0, sum: 0 };
  let costTokens = 0;
  let instance: Awaited<ReturnType<typeof startInstance>> | undefined;

  async function startInstance(at: number) {
    vi.setSystemTime(at);
    const pctOut = new SinkConsumer();
    const pct = percentilesProcessorFactory.create(
      testSettings('processor', 'percentiles', { emit: pctOut, telemetry: telemetry.forComponent('processor', 'percentiles') }),
      configFor(percentilesProcessorFactory, { window: '1h', dimensions: ['service.name'], metrics: [METRIC] }),
    ) as PercentilesProcessor;
    const costOut = new SinkConsumer();
    const cost = costProcessorFactory.create(
      testSettings('processor', 'cost', { emit: costOut, stateDir: tempDir(), telemetry: telemetry.forComponent('processor', 'cost') }),
      configFor(costProcessorFactory, { price_table: priceFile }),
    ) as CostProcessor;
    const engine = engineFor(
      {
        rules: [
          { name: 'Count', metric: METRIC, stat: 'count', window: '2h', op: '>', threshold: -1 },
          { name: 'Sum', metric: METRIC, stat: 'sum', window: '2h', op: '>', threshold: -1 },
        ],
      },
      { startedAt: at },
    );
    return { pct, pctOut, cost, costOut, engine };
  }

  async function endInstance(at: number) {
    if (!instance) return;
    vi.setSystemTime(at);
    const { pct, pctOut, cost, costOut, engine } = instance;
    await pct.shutdown();
    for (const m of pctOut.metrics.filter((x) => x.name === `${METRIC}.summary`))
      for (const dp of m.data!.dataPoints as SummaryDataPoint[]) {
        percentiles.count += dp.count;
        percentiles.sum += dp.sum;
      }
    await cost.flush();
    await cost.shutdown();
    for (const m of costOut.metrics.filter((x) => x.name === 'llm.tokens'))
      for (const dp of m.data!.dataPoints as NumberDataPoint[]) if (getAttr(dp.attributes, 'gen_ai.token.type') === 'input') costTokens += Number(dp.value);
    tick(engine, at);
    for (const a of engine.firing()) {
      if (a.labels.alertname === 'Count') alerts.count += a.value;
      if (a.labels.alertname === 'Sum') alerts.sum += a.value;
    }
    instance = undefined;
  }

  for (const { step, restart, exports } of timeline(plan)) {
    const stepStart = T0 + step * STEP;
    if (restart || !instance) {
      await endInstance(stepStart);
      instance = await startInstance(stepStart);
    }
    for (const e of exports) {
      vi.setSystemTime(e.timeMs + 5);
      const next = new SinkConsumer();
      await instance.pct.process(e.batch, next);
      await instance.cost.process(e.batch, next);
      instance.engine.ingest(e.batch, e.timeMs + 5);
    }
  }
  await endInstance(T0 + STEPS * STEP);
  return { percentiles, alerts, costTokens };
}

// a one-model price file (the built-in table takes long to load for every vigil run of every case)
const priceFile = path.join(tempDir(), 'prices.json');
fs.writeFileSync(priceFile, JSON.stringify({ models: [{ model: 'gpt-4o', provider: 'openai', input: 2.5, output: 10 }] }));

describe('percentiles, cost and alerts read metric streams alike', () => {
  let telemetry: ServiceTelemetry;
  beforeEach(() => {
    telemetry = new ServiceTelemetry();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(T0);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await telemetry.close();
  });

  it('agree with each other and with the hand-computed reference over random streams', async () => {
    await fc.assert(
      fc.asyncProperty(planArb, async (plan) => {
        const want = reference(plan);
        const got = await run(plan, telemetry);
        expect(got.percentiles).toEqual(want);
        expect(got.alerts).toEqual(want);
        expect(got.costTokens).toBe(want.sum);
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('the reference is not trivial: it differs from counting every cumulative point whole', () => {
    // a sender running before vigil: everything it had before is a baseline, so a naive reading differs
    const plan: Plan = {
      senders: [{ cumulative: true, exponential: false, obs: Array.from({ length: STEPS }, () => [1]), events: new Array<number>(STEPS).fill(0) }],
      vigilRestarts: new Array<boolean>(STEPS).fill(false),
    };
    expect(reference(plan)).toEqual({ count: STEPS - 1, sum: 7 * (STEPS - 1) });
  });
});
