/**
 * Alerts benchmark.
 * 1. Detection latency: time from violating data reaching the alerts processor (process()) to the
 *    notification reaching a consumer, with `interval: 1s` and `group_wait: 0s`, over 100 trials (100
 *    services turning bad at random moments; each is its own group). Target: p99 <= interval + 100 ms.
 * 2. Evaluation cost: one evaluation round of 1,000 rules over 10,000 series (5,000 latency histograms
 *    and 5,000 call counters, 30 points each: 5 minutes at 10 s; a new point per series before each
 *    round, as in steady state). Target: < 50 ms per round at p99.
 * 3. The same with wide rules (issue 21): each of the 1,000 rules selects ALL the series of its metric
 *    (no `where` on the service; thresholds differ), which the narrow case (each rule reads 100 series)
 *    does not show. Target: < 200 ms a round. Goals are read from the README's benchmark table.
 *    Two more shapes of the same 1,000 rules: wide rules grouped by service and span name (5,000 groups per
 *    rule: each rule's pass over its groups, not the shared values, is the cost; errors in one service only,
 *    so that 2,500 alerts fire as in the other shapes), goal as the wide case; and narrow rules while 100
 *    new series arrive every round (each is checked against the cached selections that could hold it and
 *    added in place; before, they invalidated those selections and each was rebuilt), goal as the narrow
 *    case. Beside the times, counts that do not move with load: series read into window accumulators and
 *    series looked at to build or update selections, per round (ingest included).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NOOP_CONSUMER } from '../src/component.ts';
import { fullGc } from '../src/heap.ts';
import { validateComponentConfig } from '../src/config/ajv.ts';
import { silentLogger } from '../src/logger.ts';
import type { Batch } from '../src/model.ts';
import { ServiceTelemetry } from '../src/telemetry.ts';
import { AlertEngine } from '../processors/alerts/alert-engine.ts';
import type { AlertsProcessor } from '../processors/alerts/alerts-processor.ts';
import type { AlertsConfig } from '../processors/alerts/config.ts';
import { alertsProcessorFactory } from '../processors/alerts/index.ts';
import { compileConfig } from '../processors/alerts/rules.ts';
import { batchOf, dist, sum } from '../processors/alerts/testdata/batches.ts';
import { goalNumber } from './_goals.ts';
import { percentile } from './_stats.ts';

function config(raw: unknown): AlertsConfig {
  const c = structuredClone(raw);
  const issues = validateComponentConfig(alertsProcessorFactory, c);
  if (issues.length) throw new Error(JSON.stringify(issues));
  return c as AlertsConfig;
}

async function latency(): Promise<{ p50: number; p99: number; max: number; n: number }> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bench-alerts-'));
  const fedAt = new Map<string, number>();
  const lat: number[] = [];
  const telemetry = new ServiceTelemetry();
  const settings = {
    id: 'alerts',
    kind: 'processor' as const,
    logger: silentLogger(),
    telemetry: telemetry.forComponent('processor', 'alerts'),
    stateDir,
    emit: {
      consume: async (b: Batch) => {
        const now = performance.now();
        for (const n of b.alerts ?? [])
          for (const a of n.alerts) {
            const t = fedAt.get(a.labels['service.name']!);
            if (t !== undefined && a.status === 'firing') {
              lat.push(now - t);
              fedAt.delete(a.labels['service.name']!);
            }
          }
      },
    },
    service: { componentIds: { receiver: [], processor: ['alerts'], exporter: ['webhook/ops'] }, pipelines: {} },
  };
  const proc = alertsProcessorFactory.create(
    settings,
    config({
      interval: '1s',
      rules: [{ name: 'HighP95Latency', metric: 'span.duration', stat: 'p95', group_by: ['service.name'], window: '1m', op: '>', threshold: 2000 }],
      routes: [{ exporters: ['webhook/ops'], group_by: ['alertname', 'service.name'], group_wait: '0s' }],
    }),
  ) as AlertsProcessor;
  await proc.start();
  const trials = 100;
  const spread = 5000;
  const keepAlive = setInterval(() => undefined, 1000);
  await Promise.all(
    Array.from({ length: trials }, (_, i) =>
      new Promise<void>((resolve) => {
        setTimeout(async () => {
          const service = `svc-${i}`;
          const batch = batchOf([dist('span.duration', { 'service.name': service }, [2500, 3000, 4000], Date.now())]);
          fedAt.set(service, performance.now());
          await proc.process(batch, NOOP_CONSUMER);
          resolve();
        }, Math.random() * spread);
      }),
    ),
  );
  const until = Date.now() + 5000;
  while (lat.length < trials && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  clearInterval(keepAlive);
  await proc.shutdown();
  await telemetry.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
  return { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), max: Math.max(...lat), n: lat.length };
}

/** Live memory (JS heap plus typed-array backing stores), bytes. */
function liveBytes(): number {
  fullGc()?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Milliseconds waited after the forced full GC before a timed round (see evaluationCost). */
const SETTLE_MS = 50;

/** What comes before every timed round: a forced full GC, then SETTLE_MS for its concurrent sweeping to end. */
async function settle(): Promise<void> {
  fullGc()?.();
  await new Promise((res) => setTimeout(res, SETTLE_MS));
}

/**
 * The machine's own spread under the round's p99 (issue 21), printed beside it as the node:http floor is beside
 * the CPU figure: a computation that never changes (a sum over a 1 Mi-element Float64Array, repeated), calibrated
 * to take the rounds' median wall time, timed `rounds` times and paced as the rounds are (a forced full GC, then
 * SETTLE_MS). Whatever its p99 is above its p50 is the machine (other processes, the hypervisor, timer and cache
 * effects), not the engine: on this 2-core VM a 15 ms loop measured p50 15 ms, p99 34-41 ms. Milliseconds.
 */
async function fixedWorkSpread(targetMs: number, rounds: number): Promise<{ p50: number; p99: number }> {
  const a = new Float64Array(1 << 20).map((_, i) => i % 7);
  let sink = 0;
  const pass = () => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i]!;
    sink += s;
  };
  // `n` rounds of `passes` passes, each paced as the rounds are; their times in ms
  const paced = async (n: number, passes: number) => {
    const times: number[] = [];
    for (let r = 0; r < n; r++) {
      await settle();
      const t = performance.now();
      for (let k = 0; k < passes; k++) pass();
      times.push(performance.now() - t);
    }
    return times;
  };
  // calibrate: the median of 9 single passes (after a warm-up) gives the passes per round, first
  for (let i = 0; i < 5; i++) pass();
  const one: number[] = [];
  for (let i = 0; i < 9; i++) {
    const t = performance.now();
    pass();
    one.push(performance.now() - t);
  }
  let passes = Math.max(1, Math.round(targetMs / percentile(one, 0.5)));
  // then once more on whole rounds paced as the rounds (single passes time slower than a loop of them, by up to 2x)
  passes = Math.max(1, Math.round((passes * targetMs) / percentile(await paced(3, passes), 0.5)));
  const times = await paced(rounds, passes);
  if (sink < 0) console.log(sink); // keeps the loop from being optimized away
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

/** The shapes of the evaluation-cost case (see this file's comment). */
export type EvalShape = 'narrow' | 'wide' | 'wide-groups' | 'narrow-churn';

export async function evaluationCost(shape: EvalShape | boolean = false): Promise<{
  series: number;
  rules: number;
  p50: number;
  p99: number;
  cpuP50: number;
  cpuP99: number;
  /** Live bytes held by the engine (after a full GC), per series. */
  bytesPerSeries: number;
  rssMb: number;
  /** Series read into window accumulators per round (median). */
  readPerRound: number;
  /** Series looked at to rebuild selections per round (median). */
  scannedPerRound: number;
  /** Timed rounds (the warm-up ones dropped). */
  rounds: number;
}> {
  const mode: EvalShape = shape === true ? 'wide' : shape === false ? 'narrow' : shape;
  const wide = mode === 'wide' || mode === 'wide-groups';
  const groupBy = mode === 'wide-groups' ? ['service.name', 'span.name'] : ['span.name'];
  const before = liveBytes();
  const services = 100;
  const ops = 50;
  const rules: unknown[] = [];
  for (let i = 0; i < 500; i++) {
    const svc = wide ? {} : { 'service.name': `svc-${i % services}` };
    rules.push({ name: `P95_${i}`, metric: 'span.duration', ...(wide ? {} : { where: svc }), group_by: groupBy, stat: 'p95', window: '5m', op: '>', threshold: 2000 + i });
    rules.push({
      name: `Err_${i}`,
      ratio: { numerator: { metric: 'span.calls', where: { ...svc, 'status.code': 'error' } }, denominator: { metric: 'span.calls', ...(wide ? {} : { where: svc }) } },
      group_by: groupBy,
      stat: 'sum',
      window: '5m',
      op: '>',
      threshold: 0.05,
    });
  }
  const c = config({ interval: '10s', rules, routes: [{ exporters: ['webhook/ops'] }] });
  const compiled = compileConfig(c);
  const engine = new AlertEngine({ config: c, compiled, startedAt: 0, keepsSilencedResolves: () => false, defaultExporters: [], silences: undefined });
  const t0 = Date.now() - 600_000;
  const feed = (step: number) => {
    const t = t0 + step * 10_000;
    const metrics = [];
    for (let s = 0; s < services; s++) {
      for (let o = 0; o < ops; o++) {
        const labels = { 'service.name': `svc-${s}`, 'span.name': `op-${o}` };
        metrics.push(dist('span.duration', labels, [100 + o, 200 + s, 300, 1500 + step], t));
        metrics.push(sum('span.calls', { ...labels, 'status.code': o % 10 === 0 && (mode !== 'wide-groups' || s === 0) ? 'error' : 'ok' }, 10, t));
      }
    }
    // churn: 100 series never seen before (a new span name of each service), from the first timed round on
    if (mode === 'narrow-churn' && step >= 30) {
      for (let s = 0; s < services; s++) metrics.push(sum('span.calls', { 'service.name': `svc-${s}`, 'span.name': `new-${step}`, 'status.code': 'ok' }, 1, t));
    }
    engine.ingest(batchOf(metrics), t);
    return t;
  };
  for (let step = 0; step < 30; step++) feed(step);
  // each round: one new 10 s point per series arrives (not timed), then one evaluation (timed)
  const times: number[] = [];
  const cpu: number[] = [];
  const read: number[] = [];
  const scanned: number[] = [];
  // A wide round took 3.5 s before issue 21. Narrow rounds: 100 timed, so that p99 is not just the slowest
  // round; with churn 30, so that the store holds the same 13,200 series at the end as before.
  const rounds = wide ? 5 : mode === 'narrow-churn' ? 32 : 102;
  // (read through optional fields, so that this file also runs against the code before the counts)
  const counts = () => [(engine.state as { memo?: { seriesRead: number } }).memo?.seriesRead ?? NaN, (engine.store as { seriesScanned?: number }).seriesScanned ?? NaN];
  for (let r = 0; r < rounds; r++) {
    // counted from before the feeding: new series update the selections as they arrive (not timed)
    const [read0, scanned0] = counts();
    const t = feed(30 + r);
    // collect the feeding's garbage first, so that the round is timed alone (its own garbage still counts);
    // then let that collection's concurrent sweeping end: timed right after a forced full GC, the round shared
    // the cores with V8's sweeper threads (counted in the cpu columns, and on a busy 2-core VM in the wall
    // time too: cpu p50 54 ms without the pause, 25 ms with it, in one run at load 7). The daemon never
    // forces a full collection before a round.
    await settle();
    const start = performance.now();
    const c0 = process.cpuUsage();
    engine.evaluate(t + 1).commit();
    const c = process.cpuUsage(c0);
    const [read1, scanned1] = counts();
    read.push(read1! - read0!);
    scanned.push(scanned1! - scanned0!);
    times.push(performance.now() - start);
    cpu.push((c.user + c.system) / 1000);
  }
  for (const xs of [times, cpu, read, scanned]) xs.splice(0, wide ? 1 : 2); // warm-up (JIT, selection caches)
  const held = liveBytes() - before;
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  return {
    series: engine.store.size,
    rules: engine.rules.length,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    cpuP50: percentile(cpu, 0.5),
    cpuP99: percentile(cpu, 0.99),
    bytesPerSeries: held / engine.store.size,
    rssMb,
    readPerRound: percentile(read, 0.5),
    scannedPerRound: percentile(scanned, 0.5),
    rounds: times.length,
  };
}

/**
 * `only`: 'latency' or 'eval' runs just that part (node --import tsx bench/alerts.ts eval); 'eval:wide,narrow'
 * only those shapes of the evaluation cost.
 */
export async function run(only?: string): Promise<void> {
  if (only !== 'eval' && !only?.startsWith('eval:')) {
    const l = await latency();
    console.log('alerts: detection latency (data in -> notification out), interval 1s, group_wait 0s');
    const goal = goalNumber('alert detection', /p99 < ([\d,]+) ms/);
    console.table([{ trials: l.n, 'p50 ms': l.p50.toFixed(1), 'p99 ms': l.p99.toFixed(1), 'max ms': l.max.toFixed(1), goal: `p99 < ${goal} ms`, verdict: l.p99 < goal ? 'meets' : 'MISSES' }]);
    console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  }
  if (only === 'latency') return;
  const narrowGoal = goalNumber('alert evaluation, 1,000 rules over 10,000 series', /< (\d+) ms p99/);
  const wideGoal = goalNumber('alert evaluation, 1,000 rules over 10,000 series', /all 10,000 series: < (\d+) ms/);
  const rows = [];
  const label: Record<EvalShape, string> = {
    narrow: 'each over 100 series',
    wide: 'each over all series of its metric',
    'wide-groups': 'each over all series, 5,000 groups',
    'narrow-churn': 'each over 100 series, 100 new a round',
  };
  const shapes = (['narrow', 'wide', 'wide-groups', 'narrow-churn'] as const).filter((x) => !only?.startsWith('eval:') || only.slice(5).split(',').includes(x));
  let narrow: { p50: number; p99: number; rounds: number } | undefined;
  for (const shape of shapes) {
    const e = await evaluationCost(shape);
    if (shape === 'narrow') narrow = { p50: e.p50, p99: e.p99, rounds: e.rounds };
    const wide = shape === 'wide' || shape === 'wide-groups';
    const goal = wide ? wideGoal : narrowGoal;
    rows.push({
      rules: `${e.rules}, ${label[shape]}`,
      series: e.series,
      'p50 ms': e.p50.toFixed(1),
      'p99 ms': e.p99.toFixed(1),
      'cpu p50 ms': e.cpuP50.toFixed(1),
      'cpu p99 ms': e.cpuP99.toFixed(1),
      goal: `< ${goal} ms${wide ? '' : ' p99'}`,
      verdict: (wide ? e.p50 : e.p99) < goal ? 'meets' : 'MISSES',
      'live KiB/series': (e.bytesPerSeries / 1024).toFixed(1),
      'rss MiB': e.rssMb.toFixed(0),
      'series read/round': e.readPerRound,
      'series scanned/round': e.scannedPerRound,
    });
  }
  console.log('alerts: evaluation round cost');
  console.table(rows);
  if (narrow) {
    const f = await fixedWorkSpread(narrow.p50, narrow.rounds);
    console.log(
      `  the machine's spread under the narrow p99: fixed work calibrated to the rounds' p50 (${narrow.p50.toFixed(1)} ms), timed ${narrow.rounds} times paced as the rounds: ` +
        `p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms (p99/p50 ${(f.p99 / f.p50).toFixed(2)}; the rounds' ${(narrow.p99 / narrow.p50).toFixed(2)})`,
    );
  }
  const load = os.loadavg()[0]!;
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (load > os.cpus().length) console.log(`(load average ${load.toFixed(1)} on ${os.cpus().length} cores: wall times include waiting for a CPU; the cpu columns do not)`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv[2]);
