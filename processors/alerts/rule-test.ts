/**
 * `vigil test --config pipelines.yaml TESTFILE...`: alert-rule unit tests in the style of
 * `promtool test rules`, run on the real engine with a fake clock and no timers. See README.md
 * ("vigil test") for the file format.
 */
import fs from 'node:fs';
import { loadConfig, formatConfigError } from '../../src/config/load.ts';
import { describeReadError, readTextFileSync } from '../../src/text-file.ts';
import type { ComponentRegistry } from '../../src/registry.ts';
import { AggregationTemporality, type Alert, type Batch, type Metric, emptyResource, emptyScope } from '../../src/model.ts';
import { Sketch } from '../../src/sketch.ts';
import { AlertEngine } from './alert-engine.ts';
import { type AlertsConfig, NO_DATA_ALERTNAME } from './config.ts';
import { labelsKey } from './fingerprint.ts';
import { compileConfig } from './rules.ts';
import { type AlertTest, inferType, type RouteTest, readTestFile, type SeriesType, type TestFile, type TestGroup } from './rule-test-file.ts';
import { STALE, type SeriesValue } from './series-notation.ts';

export { inferType, readTestFile } from './rule-test-file.ts';

/**
 * What `vigil test` reports, as promtool does: `stdout` the tests that passed and `SUCCESS`; `stderr` every
 * failure (a config or test file that cannot be read or is not valid, a check that failed) and `FAILED`.
 * `output` is both, in the order they happened.
 */
export interface RuleTestReport {
  ok: boolean;
  output: string;
  stdout: string;
  stderr: string;
}

/**
 * Runs every test file against the alerts processor of the config (see {@link RuleTestReport}).
 * `registry`: the components the config may name (the CLI passes the application's). As promtool, nothing
 * runs when a test file does not exist; and nothing when the config has errors (all of them are reported).
 */
export async function runRuleTests(configPaths: string[], testFiles: string[], registry: ComponentRegistry): Promise<RuleTestReport> {
  const lines: { err: boolean; text: string }[] = [];
  // `ran`: tests ran, so the last line is the verdict (nothing runs when a file is missing or the config is bad)
  const done = (ok: boolean, ran = true): RuleTestReport => {
    if (ran) lines.push({ err: !ok, text: ok ? 'SUCCESS' : 'FAILED' });
    const join = (ls: typeof lines) => ls.map((l) => l.text).join('\n');
    const nl = (t: string) => (t ? `${t}\n` : '');
    return { ok, output: join(lines), stdout: nl(join(lines.filter((l) => !l.err))), stderr: nl(join(lines.filter((l) => l.err))) };
  };
  for (const file of testFiles) {
    try {
      fs.statSync(file);
    } catch (e) {
      lines.push({ err: true, text: `${file}: the test file ${describeReadError(e)}` });
    }
  }
  if (lines.length) return done(false, false);
  const loaded = await loadConfig(configPaths, registry);
  if (!loaded.config) {
    lines.push(...loaded.errors.map((e) => ({ err: true, text: formatConfigError(e) })));
    const n = loaded.errors.length;
    lines.push({ err: true, text: `${n} config error${n === 1 ? '' : 's'} in ${configPaths.join(', ')}: no test run` });
    return done(false, false);
  }
  const cfg = loaded.config;
  const alertIds = Object.keys(cfg.processors).filter((id) => id === 'alerts' || id.startsWith('alerts/'));
  const exporterIds = Object.keys(cfg.exporters);
  let ok = true;
  const fail = (...text: string[]) => {
    ok = false;
    lines.push(...text.map((t) => ({ err: true, text: t })));
  };
  for (const file of testFiles) {
    const read = readTextFileSync(file);
    if (!read.ok) {
      fail(read.position ? `FAIL ${file}:${read.position.line}:${read.position.col}: ${read.message}` : `FAIL ${file}: the test file ${read.message}`);
      continue;
    }
    const parsed = readTestFile(file, read.text);
    if (!parsed.file) {
      fail(`FAIL ${file}: the test file is not valid`, ...parsed.errors.map((e) => `  ${e}`));
      continue;
    }
    const doc = parsed.file;
    const procId = doc.processor ?? (alertIds.length === 1 ? alertIds[0] : undefined);
    if (!procId || !alertIds.includes(procId)) {
      fail(`FAIL ${file}: name the alerts processor with "processor:" (one of: ${alertIds.join(', ') || 'none defined'})`);
      continue;
    }
    const defaults = new Set<string>();
    for (const p of Object.values(cfg.service.pipelines)) if (p.processors.includes(procId)) for (const e of p.exporters) defaults.add(e);
    const r = runTestFile(file, doc, structuredClone(cfg.processors[procId]) as AlertsConfig, [...defaults], exporterIds);
    // a file's lines: "ok" ones to stdout, each FAIL with its indented details to stderr
    let inFail = false;
    for (const text of r.lines) {
      if (text.startsWith('FAIL ')) inFail = true;
      else if (!text.startsWith(' ')) inFail = false;
      lines.push({ err: inFail, text });
    }
    ok &&= r.ok;
  }
  return done(ok);
}

/** Runs one parsed test file against one alerts config (exported for tests). */
export function runTestFile(
  file: string,
  doc: TestFile,
  config: AlertsConfig,
  defaultExporters: string[],
  exporterIds: string[],
): { ok: boolean; lines: string[] } {
  const lines: string[] = [];
  let ok = true;
  const fail = (where: string, msg: string[]) => {
    ok = false;
    lines.push(`FAIL ${file}: ${where}`, ...msg.map((m) => `  ${m}`));
  };
  const compiled = compileConfig(config);
  if (compiled.issues.length) {
    fail('config', compiled.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
    return { ok, lines };
  }
  doc.tests.forEach((t, ti) => {
    const where = `tests[${ti}]${t.name ? ` (${t.name})` : ''}`;
    try {
      const { failures, checks } = runGroup(t, config, compiled, doc.evaluationIntervalMs, defaultExporters, exporterIds);
      for (const f of failures) fail(`${where} ${f.where}`, f.lines);
      if (!failures.length) lines.push(`ok   ${file}: ${where} (${checks} check${checks === 1 ? '' : 's'})`);
    } catch (e) {
      fail(where, [(e as Error).message]);
    }
  });
  return { ok, lines };
}

/**
 * One test group, as promtool runs it (cmd/promtool/unittest.go): the rules are evaluated at start,
 * start + evaluation_interval, ... up to the largest eval_time, each evaluation seeing the input points
 * at or before it; a check at eval_time T reads the state of the last evaluation at or before T (no
 * evaluation of its own).
 */
function runGroup(
  t: TestGroup,
  config: AlertsConfig,
  compiled: ReturnType<typeof compileConfig>,
  evalMs: number,
  defaultExporters: string[],
  exporterIds: string[],
): { failures: { where: string; lines: string[] }[]; checks: number } {
  const start = t.startMs;
  const engine = new AlertEngine({
    config: { ...config, silences: [], ...(t.externalUrl !== undefined ? { external_url: t.externalUrl } : {}) },
    compiled: { ...compiled, silences: [] },
    startedAt: start,
    observedFrom: -Infinity,
    keepsSilencedResolves: () => false,
    defaultExporters,
    silences: undefined,
  });
  // input points, by time
  const points: { time: number; batch: Batch }[] = [];
  // A series given twice (the same name and labels, in any order): the later one replaces the earlier one whole,
  // as promtool's `load` does (Prometheus promql/test.go loadCmd.set), not merged with it point by point.
  const last = new Map<string, (typeof t.inputSeries)[number]>();
  for (const s of t.inputSeries) last.set(labelsKey({ ...s.series.labels, __name__: s.series.name }), s);
  for (const s of last.values()) {
    const type = s.type ?? inferType(s.series.name);
    s.values.forEach((v, i) => {
      if (v === undefined) return;
      const time = start + i * t.intervalMs;
      points.push({ time, batch: pointBatch(s.series.name, s.series.labels, type, v, s.observations, time) });
    });
  }
  points.sort((a, b) => a.time - b.time);

  const checks: { at: number; run: () => { where: string; lines: string[] } | undefined }[] = [];
  t.alertTests.forEach((a, ai) => {
    checks.push({ at: a.evalTimeMs, run: () => checkAlerts(engine, a, `alert_rule_test[${ai}] ${a.alertname} at ${a.evalTimeText}`) });
  });
  t.routeTests.forEach((r, ri) => {
    checks.push({
      at: r.evalTimeMs ?? 0,
      run: () => checkRoute(engine, r, `route_test[${ri}]${r.alertname ? ` ${r.alertname}` : ''}${r.evalTimeText ? ` at ${r.evalTimeText}` : ''}`, exporterIds),
    });
  });
  checks.sort((a, b) => a.at - b.at);
  const end = Math.max(0, ...checks.map((c) => c.at));
  const failures: { where: string; lines: string[] }[] = [];
  let pi = 0;
  let ci = 0;
  for (let offset = 0; offset <= end; offset += evalMs) {
    const now = start + offset;
    while (pi < points.length && points[pi]!.time <= now) engine.ingest(points[pi++]!.batch, now);
    engine.evaluate(now).commit();
    // checks with offset <= eval_time < offset + evaluation_interval read this evaluation
    while (ci < checks.length && checks[ci]!.at < offset + evalMs) {
      const f = checks[ci++]!.run();
      if (f) failures.push(f);
    }
  }
  return { failures, checks: checks.length };
}

/** OTLP's data point flag FLAG_NO_RECORDED_VALUE: the OpenTelemetry form of a Prometheus staleness marker. */
const NO_RECORDED_VALUE = 1;

function pointBatch(name: string, labels: Record<string, string>, type: SeriesType, v: Exclude<SeriesValue, undefined>, observations: number, timeMs: number): Batch {
  const attributes = Object.entries(labels).map(([key, value]) => ({ key, value }));
  const ns = BigInt(timeMs) * 1_000_000n + 1n; // +1ns: never 0 (0 means "no timestamp")
  const stale = v === STALE;
  const flags = stale ? NO_RECORDED_VALUE : 0;
  let metric: Metric;
  if (type === 'histogram') {
    const sk = Sketch.forAccuracy(0.01);
    if (!stale) sk.add(v, observations);
    metric = {
      name,
      description: '',
      unit: '',
      metadata: [],
      data: { type: 'exponentialHistogram', aggregationTemporality: AggregationTemporality.Delta, dataPoints: [{ ...sk.toDataPoint(attributes, ns, ns), flags }] },
    };
  } else {
    const dp = { attributes, startTimeUnixNano: 0n, timeUnixNano: ns, value: stale ? NaN : v, exemplars: [], flags };
    metric = {
      name,
      description: '',
      unit: '',
      metadata: [],
      data:
        type === 'gauge'
          ? { type: 'gauge', dataPoints: [dp] }
          : { type: 'sum', isMonotonic: true, aggregationTemporality: type === 'counter' ? AggregationTemporality.Cumulative : AggregationTemporality.Delta, dataPoints: [dp] },
    };
  }
  return { resourceMetrics: [{ resource: emptyResource(), schemaUrl: '', scopeMetrics: [{ scope: emptyScope('vigil-test'), schemaUrl: '', metrics: [metric] }] }] };
}

function checkAlerts(engine: AlertEngine, test: AlertTest, where: string): { where: string; lines: string[] } | undefined {
  // DatasourceNoData: the alerts of the rules with no_data: no_data_alert (each expected alert names its rulename)
  const noData = test.alertname === NO_DATA_ALERTNAME ? engine.rules.filter((r) => r.noDataAlert) : [];
  const rule = engine.rules.find((r) => r.name === test.alertname) ?? noData[0];
  if (!rule) return { where, lines: [`no rule named ${test.alertname} in the config`] };
  const got = engine.firing().filter((a) => a.labels.alertname === test.alertname);
  // promtool sets alertname in the expected labels (over any given there); vigil adds the rule's severity too
  const expected = test.expAlerts.map((e) => ({
    labels: { severity: (noData.find((r) => r.name === e.labels.rulename) ?? rule).severity, ...e.labels, alertname: test.alertname },
    annotations: e.annotations,
  }));
  const lines = diffAlerts(expected, got);
  return lines.length ? { where, lines } : undefined;
}

/** A readable diff of expected against got alerts (label sets matched first, then per label). */
export function diffAlerts(expected: { labels: Record<string, string>; annotations?: Record<string, string> }[], got: Alert[]): string[] {
  const lines: string[] = [];
  const left = [...got];
  const unmatched: typeof expected = [];
  for (const e of expected) {
    const i = left.findIndex((g) => labelsKey(g.labels) === labelsKey(e.labels));
    if (i < 0) {
      unmatched.push(e);
      continue;
    }
    const g = left.splice(i, 1)[0]!;
    if (e.annotations) {
      const d = diffMaps('annotation', e.annotations, g.annotations);
      if (d.length) lines.push(`alert ${labelsKey(e.labels)}:`, ...d.map((x) => `  ${x}`));
    }
  }
  if (unmatched.length || left.length) {
    lines.unshift(`expected ${expected.length} firing alert(s), got ${got.length}`);
    for (const e of unmatched) {
      // pair with the got alert sharing the most labels, to show which labels differ
      let best = -1;
      let bestScore = -1;
      left.forEach((g, gi) => {
        const score = Object.entries(e.labels).filter(([k, v]) => g.labels[k] === v).length;
        if (score > bestScore) {
          best = gi;
          bestScore = score;
        }
      });
      if (best >= 0) {
        const g = left.splice(best, 1)[0]!;
        lines.push(`alert expected ${labelsKey(e.labels)}`, `       got      ${labelsKey(g.labels)}`, ...diffMaps('label', e.labels, g.labels).map((x) => `  ${x}`));
        if (e.annotations) lines.push(...diffMaps('annotation', e.annotations, g.annotations).map((x) => `  ${x}`));
      } else lines.push(`missing alert ${labelsKey(e.labels)} (expected firing, not firing)`);
    }
    for (const g of left) lines.push(`unexpected alert ${labelsKey(g.labels)} (firing, value ${g.value})`);
  }
  return lines;
}

function diffMaps(what: string, exp: Record<string, string>, got: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(exp), ...Object.keys(got)])) {
    if (exp[k] === got[k]) continue;
    out.push(`${what} ${k}: expected ${exp[k] === undefined ? '(none)' : JSON.stringify(exp[k])}, got ${got[k] === undefined ? '(none)' : JSON.stringify(got[k])}`);
  }
  return out;
}

function checkRoute(engine: AlertEngine, r: RouteTest, where: string, exporterIds: string[]): { where: string; lines: string[] } | undefined {
  let labelSets: Record<string, string>[];
  if (r.labels) {
    labelSets = [{ ...(r.alertname ? { alertname: r.alertname } : {}), ...r.labels }];
  } else {
    const firing = engine.firing().filter((a) => a.labels.alertname === r.alertname);
    if (!firing.length) return { where, lines: [`no firing alert ${r.alertname ?? '(give alertname or labels)'} to route`] };
    labelSets = firing.map((a) => a.labels);
  }
  const lines: string[] = [];
  const named = [...(r.expExporters ?? []), ...(r.expRoutes ?? []).flatMap((x) => x.exporters)];
  for (const e of new Set(named)) if (!exporterIds.includes(e)) lines.push(`names exporter "${e}", which is not an exporter in the config`);
  if (r.expExporters) {
    const got = [...new Set(labelSets.flatMap((l) => engine.routeExporters(l)))].sort();
    const exp = [...new Set(r.expExporters)].sort();
    if (exp.join(',') !== got.join(',')) {
      lines.push(`exporters expected [${exp.join(', ')}], got [${got.join(', ')}]`);
      const missing = exp.filter((e) => !got.includes(e));
      const extra = got.filter((e) => !exp.includes(e));
      if (missing.length) lines.push(`  missing: ${missing.join(', ')}`);
      if (extra.length) lines.push(`  unexpected: ${extra.join(', ')}`);
    }
  }
  if (r.expRoutes) {
    for (const labels of labelSets) {
      const got = engine.routesFor(labels);
      const show = (e: string[]) => `[${e.join(', ')}]`;
      const gotExporters = got.map((n) => [...engine.dispatcher.exportersOf(n)]);
      if (got.length !== r.expRoutes.length || r.expRoutes.some((x, i) => show(x.exporters) !== show(gotExporters[i]!))) {
        lines.push(`receivers in tree order expected ${r.expRoutes.map((x) => show(x.exporters)).join(' ')}, got ${gotExporters.map(show).join(' ')} (routes ${got.map((n) => n.path.join('.')).join(', ')})`);
        continue;
      }
      r.expRoutes.forEach((x, i) => {
        const n = got[i]!;
        const at = `receiver ${i + 1} ${show(x.exporters)} (${n.path.join('.')})`;
        const groupBy = n.groupBy === 'all' ? ['...'] : [...n.groupBy];
        if (x.groupBy && [...x.groupBy].sort().join(',') !== [...groupBy].sort().join(',')) lines.push(`${at}: group_by expected ${show(x.groupBy)}, got ${show(groupBy)}`);
        const ms = (v: number) => formatMs(v);
        if (x.groupWaitMs !== undefined && x.groupWaitMs !== n.groupWaitMs) lines.push(`${at}: group_wait expected ${ms(x.groupWaitMs)}, got ${ms(n.groupWaitMs)}`);
        if (x.groupIntervalMs !== undefined && x.groupIntervalMs !== n.groupIntervalMs) lines.push(`${at}: group_interval expected ${ms(x.groupIntervalMs)}, got ${ms(n.groupIntervalMs)}`);
        if (x.repeatIntervalMs !== undefined && x.repeatIntervalMs !== n.repeatIntervalMs) lines.push(`${at}: repeat_interval expected ${ms(x.repeatIntervalMs)}, got ${ms(n.repeatIntervalMs)}`);
        if (x.sendResolved !== undefined && x.sendResolved !== n.sendResolved) lines.push(`${at}: send_resolved expected ${x.sendResolved}, got ${n.sendResolved}`);
      });
    }
  }
  return lines.length ? { where, lines } : undefined;
}

/** Milliseconds as the shortest duration text (`90s`, `5m`, `4h`). */
function formatMs(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
