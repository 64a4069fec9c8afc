/**
 * Reads a `vigil test` file as strictly as promtool reads its own (`yaml.UnmarshalStrict` into typed
 * structs, Prometheus cmd/promtool/unittest.go): every scalar is read as text first (the YAML failsafe
 * schema), so that `values: 0x10` stays the series notation "0x10" (eleven zeros) and `exp_labels:
 * {code: 010}` stays "010", as a Go string field keeps them; numbers and durations are parsed from that
 * text only where the field is a number or a duration. Unknown keys, wrong shapes and bad values are
 * reported together, each as `file:line:col: path: message`. YAML merge keys (`<<: *anchor`) and aliases
 * are applied, as yaml.v2 does.
 */
import YAML, { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node as YamlNode, type Pair } from 'yaml';
import { type ParsedSeries, parseSeriesSelector, parseValues, type SeriesValue } from './series-notation.ts';
import { checkYamlStructure, pathToString } from '../../src/config/load.ts';

/**
 * How an input series of a `vigil test` file is fed: as a gauge, a cumulative counter, a delta sum, or a
 * histogram (one observation per step).
 */
export type SeriesType = 'gauge' | 'counter' | 'delta' | 'histogram';
const SERIES_TYPES: readonly SeriesType[] = ['gauge', 'counter', 'delta', 'histogram'];

const DELTA_NAMES = new Set(['span.calls', 'llm.cost', 'llm.tokens']);

/** The type an input series gets when the test does not say (see README). */
export function inferType(name: string): SeriesType {
  if (name === 'span.duration' || name.endsWith('.distribution')) return 'histogram';
  if (DELTA_NAMES.has(name)) return 'delta';
  if (name.endsWith('_total') || name.endsWith('.total')) return 'counter';
  return 'gauge';
}

/** Where a part of the test file is: `line:col` (1-based) and its key path. */
export interface Where {
  line: number;
  col: number;
  path: string;
}

/** One `input_series` entry: the parsed series, its expanded values (one per step), its type and where it is. */
export interface InputSeries {
  series: ParsedSeries;
  values: SeriesValue[];
  /** As given; undefined: inferred from the metric name (see README). */
  type: SeriesType | undefined;
  observations: number;
  where: Where;
}

/** One expected alert of an `alert_rule_test` (promtool's `exp_alerts` item): labels and annotations. */
export interface ExpectedAlert {
  labels: Record<string, string>;
  /** Compared exactly; an omitted `exp_annotations` is `{}` (promtool: no annotations). */
  annotations: Record<string, string>;
}

/** One `alert_rule_test` (promtool's): the alerts expected for `alertname` at `eval_time`. */
export interface AlertTest {
  /** Milliseconds after the group's start. */
  evalTimeMs: number;
  evalTimeText: string;
  alertname: string;
  expAlerts: ExpectedAlert[];
  where: Where;
}

/** One route an alert is expected to reach, in tree order; options are compared only when given. */
export interface ExpectedRoute {
  exporters: string[];
  groupBy?: string[];
  groupWaitMs?: number;
  groupIntervalMs?: number;
  repeatIntervalMs?: number;
  sendResolved?: boolean;
}

/**
 * One route test (vigil's own, like amtool's `config routes test`): the exporters and routes an alert (by
 * `alertname` or labels) is expected to reach.
 */
export interface RouteTest {
  evalTimeMs: number | undefined;
  evalTimeText: string | undefined;
  alertname: string | undefined;
  labels: Record<string, string> | undefined;
  /** `exp_exporters`: every exporter reached, as a set (undefined when not given). */
  expExporters: string[] | undefined;
  /** `exp_receivers`: the matched routes in tree order, with their inherited options. */
  expRoutes: ExpectedRoute[] | undefined;
  where: Where;
}

/** One test group of the file (promtool's `tests[]` item): interval, start time, input series and tests. */
export interface TestGroup {
  name: string | undefined;
  /** Step between input values, ms; defaults to the file's evaluation_interval (promtool). */
  intervalMs: number;
  /** Unix ms of time 0 (promtool `start_timestamp`; default 0, the epoch). */
  startMs: number;
  externalUrl: string | undefined;
  inputSeries: InputSeries[];
  alertTests: AlertTest[];
  routeTests: RouteTest[];
}

/** A parsed `vigil test` file: the evaluation interval (ms), the alerts processor it tests, and its test groups. */
export interface TestFile {
  /** Evaluations run every this many ms from the group's start (default 1m). */
  evaluationIntervalMs: number;
  processor: string | undefined;
  tests: TestGroup[];
}

/** Keys promtool knows that vigil cannot honour: refused with the reason rather than ignored. */
const PROMTOOL_ONLY: Record<string, string> = {
  group_eval_order: 'vigil evaluates the rules of an alerts processor in the order of the config',
  fuzzy_compare: 'it applies to promql_expr_test, which vigil does not have',
  promql_expr_test: 'vigil has no PromQL expressions to test; check the alerts they lead to with alert_rule_test',
};

class Reader {
  readonly errors: string[] = [];
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  where(node: YamlNode | null | undefined, path: string): Where {
    const pos = this.lc.linePos(node?.range?.[0] ?? 0);
    return { line: pos.line, col: pos.col, path };
  }

  error(node: YamlNode | null | undefined, path: string, message: string): void {
    const w = this.where(node, path);
    this.errors.push(`${this.file}:${w.line}:${w.col}: ${path ? `${path}: ` : ''}${message}`);
  }

  /** The node an alias points at; the node itself otherwise. */
  deref(node: unknown): YamlNode | null {
    if (isAlias(node)) return (node.resolve(this.doc) as YamlNode | undefined) ?? null;
    return (node as YamlNode | null) ?? null;
  }

  /** A plain empty, `~` or `null` scalar: an absent value (a Go zero value). */
  isNull(node: YamlNode | null): boolean {
    if (node === null) return true;
    return isScalar(node) && node.type === 'PLAIN' && ['', '~', 'null', 'Null', 'NULL'].includes(String(node.value));
  }

  /**
   * The pairs of a mapping, merge keys applied (explicit keys win over merged ones); undefined (with an
   * error) when the node is not a mapping.
   */
  pairs(node: YamlNode | null, path: string): Map<string, { key: YamlNode; value: YamlNode | null }> | undefined {
    const out = new Map<string, { key: YamlNode; value: YamlNode | null }>();
    if (this.isNull(node)) return out;
    if (!isMap(node)) {
      this.error(node, path, 'expected a mapping');
      return undefined;
    }
    const merged: Pair[] = [];
    for (const pair of node.items) {
      const key = pair.key as YamlNode;
      const name = isScalar(key) ? String(key.value) : '';
      if (isScalar(key) && key.type === 'PLAIN' && name === '<<') {
        merged.push(pair);
        continue;
      }
      if (out.has(name)) this.error(key, join(path, name), `"${name}" is given twice`);
      out.set(name, { key, value: this.deref(pair.value) });
    }
    for (const pair of merged) {
      const v = this.deref(pair.value);
      const sources = isSeq(v) ? v.items.map((x) => this.deref(x)) : [v];
      for (const src of sources) {
        if (!isMap(src)) {
          this.error(pair.key as YamlNode, join(path, '<<'), 'a merge key takes a mapping or a list of mappings');
          continue;
        }
        for (const [k, p] of this.pairs(src, path) ?? []) if (!out.has(k)) out.set(k, p);
      }
    }
    return out;
  }

  /** Reads a mapping whose keys must all be in `fields`; calls each reader present. */
  object(node: YamlNode | null, path: string, fields: Record<string, (value: YamlNode | null, path: string, key: YamlNode) => void>): boolean {
    const pairs = this.pairs(node, path);
    if (!pairs) return false;
    for (const [name, { key, value }] of pairs) {
      const p = join(path, name);
      const read = Object.hasOwn(fields, name) ? fields[name] : undefined;
      if (read) read(value, p, key);
      else if (PROMTOOL_ONLY[name]) this.error(key, p, `"${name}" is not supported: ${PROMTOOL_ONLY[name]}`);
      else this.error(key, p, `unknown key "${name}" (known: ${Object.keys(fields).join(', ')})`);
    }
    return true;
  }

  list(node: YamlNode | null, path: string, each: (item: YamlNode | null, path: string) => void): void {
    if (this.isNull(node)) return;
    if (!isSeq(node)) {
      this.error(node, path, 'expected a list');
      return;
    }
    node.items.forEach((item, i) => each(this.deref(item), `${path}[${i}]`));
  }

  text(node: YamlNode | null, path: string): string | undefined {
    if (this.isNull(node)) return undefined;
    if (!isScalar(node)) {
      this.error(node, path, 'expected a single value');
      return undefined;
    }
    return String(node.value);
  }

  duration(node: YamlNode | null, path: string): number | undefined {
    const t = this.text(node, path);
    if (t === undefined) return undefined;
    const ms = parsePrometheusDuration(t);
    if (ms === undefined) this.error(node, path, `invalid duration "${t}": expected a Prometheus duration such as "1m", "1h30m", "1d" or "0" (units y w d h m s ms, in that order, whole numbers)`);
    return ms;
  }

  stringMap(node: YamlNode | null, path: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, { value }] of this.pairs(node, path) ?? []) {
      const v = this.text(value, join(path, name));
      out[name] = v ?? '';
    }
    return out;
  }
}

const PROM_DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const PROM_UNITS_MS = [31_536_000_000, 604_800_000, 86_400_000, 3_600_000, 60_000, 1000, 1];

/**
 * A duration as Prometheus reads `eval_time`, `interval` and `evaluation_interval` (prometheus/common
 * `model.ParseDuration`): whole numbers with units y (365d), w, d, h, m, s, ms, each at most once and in
 * that order; `0` alone is zero. Undefined when the text is not one.
 */
export function parsePrometheusDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = PROM_DURATION.exec(text);
  if (!m || text === '') return undefined;
  let ms = 0;
  for (let i = 0; i < PROM_UNITS_MS.length; i++) if (m[i + 1] !== undefined) ms += Number(m[i + 1]) * PROM_UNITS_MS[i]!;
  return ms;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Parses a test file's text; `errors` holds every problem found (then `file` is undefined). */
export function readTestFile(fileName: string, text: string): { file?: TestFile; errors: string[] } {
  const lc = new LineCounter();
  const opts = { schema: 'failsafe', lineCounter: lc, prettyErrors: true, uniqueKeys: false } as const;
  const all = YAML.parseAllDocuments(text, opts);
  const docs = Array.isArray(all) ? all : [];
  const doc = docs[0] ?? YAML.parseDocument(text, opts);
  // once the parser has lost its place it reports every later token "in YAML stream": the first error says it
  const errors = docs.flatMap((d) => d.errors).filter((e, i) => i === 0 || !/ token in YAML stream/.test(e.message));
  // promtool (yaml.v2) reads the first document only and ignores the others: a later one that holds
  // anything is refused rather than have its tests silently skipped (an empty one, a trailing "---", is fine)
  const extra = docs.slice(1).find((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.type === 'PLAIN' && ['', '~', 'null', 'Null', 'NULL'].includes(String(d.contents.value))));
  if (extra) {
    const lp = lc.linePos(extra.range[0]);
    return { errors: [`${fileName}:${lp.line}:${lp.col}: a second YAML document ("---"): promtool reads only the first one and silently skips the tests of the others; put every test group under one "tests:"`] };
  }
  if (errors.length) {
    return {
      errors: errors.map((e) => {
        const lp = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
        return `${fileName}:${lp.line}:${lp.col}: YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`;
      }),
    };
  }
  const problem = checkYamlStructure(doc);
  if (problem) {
    const lp = lc.linePos(problem.offset);
    return { errors: [`${fileName}:${lp.line}:${lp.col}: ${pathToString(problem.path)}${problem.path.length ? ': ' : ''}YAML: ${problem.message}`] };
  }
  const r = new Reader(fileName, doc, lc);
  let evaluationIntervalMs = 60_000;
  let processor: string | undefined;
  const groupNodes: { node: YamlNode | null; path: string }[] = [];
  let sawTests = false;
  const root = doc.contents as YamlNode | null;
  r.object(root, '', {
    // promtool: 0 is not given (the default, 1m)
    evaluation_interval: (v, p) => {
      const ms = r.duration(v, p);
      if (ms) evaluationIntervalMs = ms;
    },
    processor: (v, p) => (processor = r.text(v, p)),
    // the Prometheus rule files the tests were written for: read by promtool, not by vigil (its rules
    // come from --config), so that one test file serves both
    rule_files: (v, p) => r.list(v, p, (item, ip) => r.text(item, ip)),
    tests: (v, p) => {
      sawTests = true;
      r.list(v, p, (item, ip) => groupNodes.push({ node: item, path: ip }));
    },
  });
  if (!sawTests && r.errors.length === 0) r.error(root, 'tests', 'expected a list "tests:"');
  const tests = groupNodes.map(({ node, path }) => readGroup(r, node, path, evaluationIntervalMs));
  if (r.errors.length) return { errors: r.errors };
  return { file: { evaluationIntervalMs, processor, tests }, errors: [] };
}

function readGroup(r: Reader, node: YamlNode | null, path: string, evaluationIntervalMs: number): TestGroup {
  const g: TestGroup = {
    name: undefined,
    intervalMs: evaluationIntervalMs,
    startMs: 0,
    externalUrl: undefined,
    inputSeries: [],
    alertTests: [],
    routeTests: [],
  };
  // an eval_time is reached by evaluating every evaluation_interval from 0: bounded, as series values are
  const evalTime: EvalTime = (v, p) => {
    const ms = r.duration(v, p);
    if (ms !== undefined && ms / evaluationIntervalMs > MAX_EVALUATIONS) {
      r.error(v, p, `${r.text(v, p)} is ${Math.floor(ms / evaluationIntervalMs).toLocaleString('en-US')} evaluations at evaluation_interval ${evaluationIntervalMs / 1000}s; at most ${MAX_EVALUATIONS.toLocaleString('en-US')}`);
      return undefined;
    }
    return ms;
  };
  const routes = (v: YamlNode | null, p: string) => r.list(v, p, (item, ip) => readRouteTest(r, item, ip, g, evalTime));
  r.object(node, path, {
    name: (v, p) => (g.name = r.text(v, p)),
    // promtool: 0 is not given (the evaluation_interval)
    interval: (v, p) => {
      const ms = r.duration(v, p);
      if (ms) g.intervalMs = ms;
    },
    start_timestamp: (v, p) => {
      const t = r.text(v, p);
      if (t === undefined) return;
      const ms = /^-?\d+(\.\d+)?$/.test(t) ? Number(t) * 1000 : Date.parse(t);
      if (Number.isNaN(ms)) r.error(v, p, `expected an RFC 3339 time or Unix seconds, got ${JSON.stringify(t)}`);
      else g.startMs = ms;
    },
    external_url: (v, p) => (g.externalUrl = r.text(v, p)),
    // promtool uses them only for $externalLabels in templates, which vigil's config refuses: read (a
    // mapping of strings, as promtool wants) and otherwise without effect, as in promtool on such rules
    external_labels: (v, p) => r.stringMap(v, p),
    input_series: (v, p) => r.list(v, p, (item, ip) => readSeries(r, item, ip, g)),
    alert_rule_test: (v, p) => r.list(v, p, (item, ip) => readAlertTest(r, item, ip, g, evalTime)),
    route_test: routes,
    exp_routes: routes,
  });
  return g;
}

function readSeries(r: Reader, node: YamlNode | null, path: string, g: TestGroup): void {
  let series: ParsedSeries | undefined;
  let values: SeriesValue[] = [];
  let type: SeriesType | undefined;
  let observations = 1;
  let sawSeries = false;
  let valuesAt: { node: YamlNode | null; path: string } | undefined;
  let seriesText: { text: string; node: YamlNode | null; path: string } | undefined;
  let valuesText = '';
  const ok = r.object(node, path, {
    series: (v, p) => {
      sawSeries = true;
      const t = r.text(v, p);
      if (t === undefined) return r.error(v, p, 'expected a series such as name{label="value"}');
      seriesText = { text: t, node: v, path: p };
      try {
        series = parseSeriesSelector(t);
      } catch (e) {
        r.error(v, p, (e as Error).message);
      }
    },
    values: (v, p) => {
      const t = r.text(v, p);
      if (t === undefined) return;
      valuesText = t;
      try {
        values = parseValues(t);
      } catch (e) {
        r.error(v, p, (e as Error).message);
      }
      // promtool stores Inf and NaN as samples; vigil drops a non-finite point as malformed (OTLP), so the
      // step would silently be no sample: refused instead, so that the test does not pass or fail unnoticed
      const bad = values.findIndex((x) => typeof x === 'number' && !Number.isFinite(x));
      if (bad >= 0) {
        r.error(v, p, `value ${bad + 1} is ${values[bad]}: vigil drops a point that is not a finite number as malformed (it is never stored), so it cannot be an input; write _ for a step without a sample, or stale for a staleness marker`);
        values = [];
      }
      valuesAt = { node: v, path: p };
    },
    type: (v, p) => {
      const t = r.text(v, p);
      if (t === undefined) return;
      if ((SERIES_TYPES as readonly string[]).includes(t)) type = t as SeriesType;
      else r.error(v, p, `expected one of ${SERIES_TYPES.join(', ')}`);
    },
    observations: (v, p) => {
      const t = r.text(v, p);
      if (t === undefined) return;
      if (/^\d+$/.test(t) && Number(t) >= 1) observations = Number(t);
      else r.error(v, p, 'expected a whole number above 0');
    },
  });
  if (ok && !sawSeries) r.error(node, path, 'missing "series"');
  // promtool writes each input series as one line of a `load` command (`series values`): a line break with
  // text after it makes that text a series of its own, and the file fails ("unexpected number ... in series
  // values"); trailing line breaks (a `|` block) are harmless
  if (seriesText && /\n\s*\S/.test(`${seriesText.text} ${valuesText}`)) {
    const inSeries = /\n\s*\S/.test(`${seriesText.text} ${valuesText ? 'x' : ''}`);
    const at = inSeries ? seriesText : valuesAt;
    r.error(at?.node ?? node, at?.path ?? path, `a line break before more text: promtool writes "series values" as one line of its load command and reads the text after a line break as another series, so this input fails there; write it on one line (or fold it with ">")`);
    series = undefined;
  }
  // a counter or delta series is a monotonic sum: vigil drops a negative point of one as malformed, so the
  // step would silently be no sample (promtool stores it): refused, as non-finite values are
  const monotonic = series && valuesAt ? (type ?? inferType(series.name)) : undefined;
  if (monotonic === 'counter' || monotonic === 'delta') {
    const neg = values.findIndex((x) => typeof x === 'number' && x < 0);
    if (neg >= 0) {
      r.error(valuesAt!.node, valuesAt!.path, `value ${neg + 1} is ${values[neg]}: a ${monotonic} series (${type ? 'its type' : 'inferred from its name'}) is a monotonic sum, whose negative points vigil drops as malformed, so it cannot be an input; give the series type: gauge`);
      values = [];
    }
  }
  if (series) g.inputSeries.push({ series, values, type, observations, where: r.where(node, path) });
}

/**
 * How many rule evaluations one test group may take (its largest eval_time over evaluation_interval):
 * 1,000,000, some 20 s of work, as series values are bounded by their expansion (series-notation.ts).
 */
const MAX_EVALUATIONS = 1_000_000;

/** Reads an eval_time in ms; undefined (and an error) when it is not a duration or is too far. */
type EvalTime = (v: YamlNode | null, p: string) => number | undefined;

function readAlertTest(r: Reader, node: YamlNode | null, path: string, g: TestGroup, evalTime: EvalTime): void {
  let evalTimeMs = 0;
  let evalTimeText = '0s';
  let alertname: string | undefined;
  const expAlerts: ExpectedAlert[] = [];
  const ok = r.object(node, path, {
    eval_time: (v, p) => {
      const ms = evalTime(v, p);
      if (ms === undefined) return;
      evalTimeMs = ms;
      evalTimeText = r.text(v, p)!;
    },
    alertname: (v, p) => (alertname = r.text(v, p)),
    exp_alerts: (v, p) =>
      r.list(v, p, (item, ip) => {
        const e: ExpectedAlert = { labels: {}, annotations: {} };
        r.object(item, ip, {
          exp_labels: (lv, lp) => (e.labels = r.stringMap(lv, lp)),
          exp_annotations: (av, ap) => (e.annotations = r.stringMap(av, ap)),
        });
        expAlerts.push(e);
      }),
  });
  if (!ok) return;
  // promtool: "an item under alert_rule_test misses required attribute alertname"
  if (!alertname) return r.error(node, path, 'missing "alertname"');
  g.alertTests.push({ evalTimeMs, evalTimeText, alertname, expAlerts, where: r.where(node, path) });
}

function readRouteTest(r: Reader, node: YamlNode | null, path: string, g: TestGroup, evalTime: EvalTime): void {
  const t: RouteTest = { evalTimeMs: undefined, evalTimeText: undefined, alertname: undefined, labels: undefined, expExporters: undefined, expRoutes: undefined, where: r.where(node, path) };
  const strings = (v: YamlNode | null, p: string): string[] => {
    const out: string[] = [];
    r.list(v, p, (item, ip) => {
      const e = r.text(item, ip);
      if (e !== undefined) out.push(e);
    });
    return out;
  };
  const ok = r.object(node, path, {
    eval_time: (v, p) => {
      t.evalTimeMs = evalTime(v, p);
      t.evalTimeText = r.text(v, p);
    },
    alertname: (v, p) => (t.alertname = r.text(v, p)),
    labels: (v, p) => (t.labels = r.stringMap(v, p)),
    exp_exporters: (v, p) => (t.expExporters = strings(v, p)),
    exp_receivers: (v, p) => {
      t.expRoutes = [];
      r.list(v, p, (item, ip) => {
        const e: ExpectedRoute = { exporters: [] };
        let sawList = false;
        r.object(item, ip, {
          exporters: (x, xp) => {
            sawList = true;
            e.exporters = strings(x, xp);
          },
          group_by: (x, xp) => (e.groupBy = strings(x, xp)),
          group_wait: (x, xp) => (e.groupWaitMs = r.duration(x, xp)),
          group_interval: (x, xp) => (e.groupIntervalMs = r.duration(x, xp)),
          repeat_interval: (x, xp) => (e.repeatIntervalMs = r.duration(x, xp)),
          send_resolved: (x, xp) => {
            const b = r.text(x, xp);
            if (b !== 'true' && b !== 'false') r.error(x, xp, 'expected true or false');
            else e.sendResolved = b === 'true';
          },
        });
        if (!sawList) r.error(item, ip, 'missing "exporters"');
        t.expRoutes!.push(e);
      });
    },
  });
  if (!ok) return;
  if (!t.expExporters && !t.expRoutes) r.error(node, path, 'missing "exp_exporters" or "exp_receivers"');
  if (!t.labels && !t.alertname) r.error(node, path, 'give alertname (and eval_time) or labels');
  g.routeTests.push(t);
}
