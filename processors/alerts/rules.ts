/**
 * Rule compilation (once, at load: every regex, template, stat and op checked, with the config path of each
 * problem) and evaluation (every interval: one {@link RuleResult} per group of each rule).
 */
import type { ConfigIssue } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import type { AlertsConfig, NoData, RuleConfig, Selection, Where } from './config.ts';
import { OPS } from './config.ts';
import { type Matcher, parseMatcher } from '../../src/matchers.ts';
import { compileWhere } from './matchers.ts';
import { type CompiledInhibit, type RouteNode, compileInhibit, compileRoutes } from './routes.ts';
import { type TimeIntervals, compileTimeIntervals } from './time-intervals.ts';
import { type GroupSet, type Selector, type SeriesGroup, type SeriesStore, type Stat, WindowAccumulator, groupCacheKey, parseStat } from './series-store.ts';
import { type CompiledTemplate, compileTemplate } from './template.ts';

/** A comparison operator of {@link OPS}. */
export type Op = (typeof OPS)[number];

/** One compiled SLO window pair: long and short windows (ms), the burn-rate factor and the pair's severity. */
export interface SloPair {
  longMs: number;
  shortMs: number;
  factor: number;
  severity: string;
}

/**
 * A rule compiled once at load (see this file's comment): durations in ms, selectors, templates, and the
 * metrics it reads with the span of data each needs.
 */
export interface CompiledRule {
  index: number;
  name: string;
  kind: 'metric' | 'ratio' | 'slo';
  stat: Stat | undefined;
  windowMs: number;
  op: Op | undefined;
  threshold: number | undefined;
  forMs: number;
  keepFiringForMs: number;
  /** Most alerts the rule may hold (Prometheus rule `limit`); 0: no limit. */
  limit: number;
  /** What a group without data means (`no_data`): undefined keeps the state, false resolves, true fires. */
  noDataActive: boolean | undefined;
  /** `no_data: no_data_alert`: a group without data raises a DatasourceNoData alert of its own (Grafana's NoData). */
  noDataAlert: boolean;
  absentForMs: number | undefined;
  severity: string;
  /** The constant labels (the templated ones are in labelTemplates). */
  labels: Record<string, string>;
  /** Labels whose values are templates (`{{ ... }}`), rendered at each evaluation; undefined when none. */
  labelTemplates: Record<string, CompiledTemplate> | undefined;
  annotations: Record<string, CompiledTemplate>;
  repeatIntervalMs: number | undefined;
  groupBy: string[];
  selector?: Selector;
  numerator?: Selector;
  denominator?: Selector;
  slo?: { objective: number; good?: Selector; bad?: Selector; total: Selector; pairs: SloPair[] };
  /** Every metric name the rule reads, with the longest span of data it needs. */
  needs: Map<string, number>;
}

/** One group's outcome of one rule at one evaluation. */
export interface RuleResult {
  /** Identifies the group within the rule (stable across evaluations). */
  key: string;
  /** The group_by labels of the group (plus `slo_severity` split for SLO rules, see severity). */
  groupLabels: Record<string, string>;
  severity: string;
  /** true: the condition holds; false: it does not; undefined: no data (keep the state). */
  active: boolean | undefined;
  value: number;
}

/**
 * The default SLO window pairs, the Google SRE Workbook's multiwindow, multi-burn-rate values: 1h/5m at 14.4
 * and 6h/30m at 6 (the rule's severity), 3d/6h at 1 (warning).
 */
export const DEFAULT_SLO_WINDOWS = [
  { long: '1h', short: '5m', factor: 14.4 },
  { long: '6h', short: '30m', factor: 6 },
  { long: '3d', short: '6h', factor: 1, severity: 'warning' },
] as const;

function selectorOf(metric: string | string[], where: Where, path: (string | number)[], issues: ConfigIssue[]): Selector {
  const metrics = Array.isArray(metric) ? metric : [metric];
  const { matchers, issues: wi } = compileWhere(where);
  for (const i of wi) issues.push({ path: [...path, 'where', i.key], message: i.message });
  const id = JSON.stringify([metrics, matchers.map((m) => [m.name, m.op, m.value]).sort()]);
  return { id, metrics, matchers };
}

function selection(sel: Selection, path: (string | number)[], issues: ConfigIssue[]): Selector {
  return selectorOf(sel.metric, sel.where ?? {}, path, issues);
}

function dur(text: string | undefined, path: (string | number)[], issues: ConfigIssue[]): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch (e) {
    issues.push({ path, message: (e as Error).message });
    return undefined;
  }
}

/** `no_data` as the `active` an evaluation reports for a group with no data. */
const NO_DATA_ACTIVE: Record<NoData, boolean | undefined> = { keep_state: undefined, resolve: false, alerting: true, no_data_alert: undefined };

/**
 * Compiles rule number `index` of the config; every problem found is pushed onto `issues` with its config path
 * (`rules.<index>...`) rather than thrown.
 */
export function compileRule(r: RuleConfig, index: number, issues: ConfigIssue[]): CompiledRule {
  const p: (string | number)[] = ['rules', index];
  const forms = [r.metric !== undefined, r.ratio !== undefined, r.slo !== undefined].filter(Boolean).length;
  if (forms === 0) issues.push({ path: p, message: `rule "${r.name}" needs one of metric, ratio or slo` });
  if (forms > 1) issues.push({ path: p, message: `rule "${r.name}" must have only one of metric, ratio or slo` });
  const kind: CompiledRule['kind'] = r.slo ? 'slo' : r.ratio ? 'ratio' : 'metric';
  let stat: Stat | undefined;
  if (r.stat !== undefined) {
    try {
      stat = parseStat(r.stat);
    } catch (e) {
      issues.push({ path: [...p, 'stat'], message: (e as Error).message });
    }
  }
  let op: Op | undefined;
  if (r.op !== undefined) {
    if ((OPS as readonly string[]).includes(r.op)) op = r.op as Op;
    else issues.push({ path: [...p, 'op'], message: `unknown op "${r.op}": expected one of ${OPS.join(' ')}` });
  }
  if (kind !== 'slo') {
    if (r.op !== undefined && r.threshold === undefined) issues.push({ path: [...p, 'threshold'], message: 'op needs a threshold' });
    if (r.threshold !== undefined && r.op === undefined) issues.push({ path: [...p, 'op'], message: 'threshold needs an op' });
    if (r.op === undefined && r.threshold === undefined && r.absent_for === undefined && forms === 1)
      issues.push({ path: p, message: `rule "${r.name}" needs op and threshold, or absent_for` });
    if (r.threshold !== undefined && r.stat === undefined) issues.push({ path: [...p, 'stat'], message: 'missing stat (p95, avg, sum, rate, last, ...)' });
  } else {
    for (const k of ['stat', 'op', 'threshold', 'absent_for', 'where'] as const) {
      if (r[k] !== undefined && !(k === 'where' && Object.keys(r.where).length === 0))
        issues.push({ path: [...p, k], message: `an slo rule takes no ${k} (its condition is the burn rate)` });
    }
  }
  const annotations: Record<string, CompiledTemplate> = {};
  for (const [k, src] of Object.entries(r.annotations)) {
    try {
      annotations[k] = compileTemplate(src);
    } catch (e) {
      issues.push({ path: [...p, 'annotations', k], message: `bad template: ${(e as Error).message}` });
    }
  }
  for (const k of ['alertname', 'severity']) if (k in r.labels) issues.push({ path: [...p, 'labels', k], message: `label ${k} is set by the rule itself` });
  const labels: Record<string, string> = {};
  let labelTemplates: Record<string, CompiledTemplate> | undefined;
  for (const [k, v] of Object.entries(r.labels)) {
    if (!v.includes('{{')) {
      labels[k] = v;
      continue;
    }
    try {
      (labelTemplates ??= {})[k] = compileTemplate(v);
    } catch (e) {
      issues.push({ path: [...p, 'labels', k], message: `bad template: ${(e as Error).message}` });
    }
  }
  const windowMs = dur(r.window, [...p, 'window'], issues) ?? 300_000;
  if (windowMs <= 0) issues.push({ path: [...p, 'window'], message: 'window must be above 0' });
  const rule: CompiledRule = {
    index,
    name: r.name,
    kind,
    stat,
    windowMs,
    op,
    threshold: r.threshold,
    forMs: dur(r.for, [...p, 'for'], issues) ?? 0,
    keepFiringForMs: dur(r.keep_firing_for, [...p, 'keep_firing_for'], issues) ?? 0,
    limit: r.limit ?? 500,
    noDataActive: NO_DATA_ACTIVE[r.no_data],
    noDataAlert: r.no_data === 'no_data_alert',
    absentForMs: dur(r.absent_for, [...p, 'absent_for'], issues),
    severity: r.severity,
    labels,
    labelTemplates,
    annotations,
    repeatIntervalMs: dur(r.repeat_interval, [...p, 'repeat_interval'], issues),
    groupBy: [...r.group_by],
    needs: new Map(),
  };
  const need = (sel: Selector, ms: number) => {
    for (const m of sel.metrics) rule.needs.set(m, Math.max(rule.needs.get(m) ?? 0, ms));
  };
  const span = Math.max(windowMs, rule.absentForMs ?? 0);
  if (kind === 'metric' && r.metric !== undefined) {
    rule.selector = selectorOf(r.metric, r.where, p, issues);
    need(rule.selector, span);
  } else if (kind === 'ratio' && r.ratio) {
    if (Object.keys(r.where).length) issues.push({ path: [...p, 'where'], message: 'a ratio rule takes its where inside numerator and denominator' });
    rule.numerator = selection(r.ratio.numerator, [...p, 'ratio', 'numerator'], issues);
    rule.denominator = selection(r.ratio.denominator, [...p, 'ratio', 'denominator'], issues);
    need(rule.numerator, span);
    need(rule.denominator, span);
  } else if (kind === 'slo' && r.slo) {
    const s = r.slo;
    const sp = [...p, 'slo'];
    if ((s.good === undefined) === (s.bad === undefined)) issues.push({ path: sp, message: 'an slo needs exactly one of good or bad' });
    const pairs: SloPair[] = (s.windows ?? DEFAULT_SLO_WINDOWS).map((w, wi) => {
      const longMs = dur(w.long, [...sp, 'windows', wi, 'long'], issues) ?? 3_600_000;
      const shortMs = dur(w.short, [...sp, 'windows', wi, 'short'], issues) ?? 300_000;
      if (shortMs > longMs) issues.push({ path: [...sp, 'windows', wi, 'short'], message: 'the short window must not be longer than the long one' });
      if (shortMs <= 0) issues.push({ path: [...sp, 'windows', wi, 'short'], message: 'windows must be above 0' });
      return { longMs, shortMs, factor: w.factor, severity: ('severity' in w && w.severity) || r.severity };
    });
    rule.slo = {
      objective: s.objective,
      good: s.good ? selection(s.good, [...sp, 'good'], issues) : undefined,
      bad: s.bad ? selection(s.bad, [...sp, 'bad'], issues) : undefined,
      total: selection(s.total, [...sp, 'total'], issues),
      pairs,
    };
    const longest = Math.max(...pairs.map((x) => x.longMs));
    for (const sel of [rule.slo.good, rule.slo.bad, rule.slo.total]) if (sel) need(sel, longest);
  }
  return rule;
}

/**
 * The alerts config compiled: rules, route tree, inhibitions, time intervals, config silences, and every issue found.
 */
export interface CompiledConfig {
  rules: CompiledRule[];
  /** The route tree (routes.ts). */
  route: RouteNode;
  inhibit: CompiledInhibit[];
  timeIntervals: TimeIntervals;
  silences: { matchers: Matcher[] }[];
  issues: ConfigIssue[];
}

/** Compiles every rule, route, inhibition and silence; collects every issue rather than stopping at one. */
export function compileConfig(config: AlertsConfig): CompiledConfig {
  const issues: ConfigIssue[] = [];
  const rules = config.rules.map((r, i) => compileRule(r, i, issues));
  const timeIntervals = compileTimeIntervals(config.time_intervals, issues, config.mute_time_intervals);
  const route = compileRoutes(config, issues);
  const inhibit = compileInhibit(config.inhibit, issues);
  const silences = config.silences.map((s, i) => {
    const matchers: Matcher[] = [];
    s.matchers.forEach((text, j) => {
      try {
        matchers.push(parseMatcher(text));
      } catch (e) {
        issues.push({ path: ['silences', i, 'matchers', j], message: (e as Error).message });
      }
    });
    for (const k of ['starts_at', 'ends_at'] as const) {
      const v = s[k];
      if (v !== undefined && Number.isNaN(Date.parse(v))) issues.push({ path: ['silences', i, k], message: `expected an RFC 3339 time, got ${JSON.stringify(v)}` });
    }
    if (s.ends_at === undefined && s.duration === undefined) issues.push({ path: ['silences', i], message: 'a silence needs ends_at or duration' });
    if (s.ends_at !== undefined && s.duration !== undefined) issues.push({ path: ['silences', i], message: 'give ends_at or duration, not both' });
    return { matchers };
  });
  return { rules, route, inhibit, timeIntervals, silences, issues };
}

// ------------------------------------------------------------------------------------------ evaluation

const acc = new WindowAccumulator();

/** The values of one stat over the groups of one selection: values[g.i] for each group g of `set`. */
export interface GroupValues {
  now: number;
  set: GroupSet | undefined;
  /** The version of `set` the values were computed for (GroupSet.version). */
  version: number;
  /** Bumped at every recomputation (what ratio values computed from these compare). */
  stamp: number;
  values: Float64Array;
}

function statKey(stat: Stat): string {
  return stat.kind === 'quantile' ? `${stat.kind}${stat.q}` : stat.kind;
}

/** The memo key of a selection, group_by, stat and window. */
export function memoKeyOf(sel: Selector, groupBy: readonly string[], stat: Stat, windowMs: number): string {
  return `${groupCacheKey(sel, groupBy)}\u0000${statKey(stat)}\u0000${windowMs}`;
}

/** Keys of a metric or ratio rule, built once per rule (not per evaluation). */
interface RuleKeys {
  mainGroups: string;
  numGroups: string;
  mainMemo: string;
  numMemo: string;
  /** A ratio rule's memo key of its per-group ratios (numerator and denominator memo keys). */
  ratioMemo: string;
}
const ruleKeys = new WeakMap<CompiledRule, RuleKeys>();

function keysOf(rule: CompiledRule): RuleKeys {
  let k = ruleKeys.get(rule);
  if (k) return k;
  const main = rule.kind === 'metric' ? rule.selector! : rule.denominator!;
  const stat = rule.stat ?? INCREASE;
  k = {
    mainGroups: groupCacheKey(main, rule.groupBy),
    numGroups: rule.numerator ? groupCacheKey(rule.numerator, rule.groupBy) : '',
    mainMemo: memoKeyOf(main, rule.groupBy, stat, rule.windowMs),
    numMemo: rule.numerator ? memoKeyOf(rule.numerator, rule.groupBy, stat, rule.windowMs) : '',
    ratioMemo: '',
  };
  if (rule.numerator) k.ratioMemo = `${k.mainMemo}\u0001${k.numMemo}`;
  ruleKeys.set(rule, k);
  return k;
}

/**
 * Values computed in one evaluation round, shared by rules with the same selection, grouping, stat and
 * window (a warning and a critical rule on one expression cost one computation). Entries are kept and
 * refilled in place from one round to the next.
 */
export class RoundMemo {
  private readonly values = new Map<string, GroupValues>();
  private readonly lastSeen = new WeakMap<GroupSet, { now: number; version: number; at: Float64Array }>();
  /**
   * Series read into a window accumulator since this memo began: a cost count that does not move with
   * load (tests check it grows by about the series of each distinct selection, group_by, stat and window
   * per round, not by rules x series).
   */
  seriesRead = 0;
  /** Series whose newest point time was read for absent_for since this memo began (as seriesRead). */
  seriesSeen = 0;

  /**
   * The newest point time (Unix ms, -Infinity when none) of each group of `set` (at[g.i]), computed once
   * per round for every absent_for rule over the same selection and group_by.
   */
  lastSeenOf(set: GroupSet, now: number): Float64Array {
    let e = this.lastSeen.get(set);
    if (!e) this.lastSeen.set(set, (e = { now: NaN, version: -1, at: new Float64Array(set.list.length) }));
    if (e.now !== now || e.version !== set.version) {
      const list = set.list;
      if (e.at.length < list.length) e.at = new Float64Array(Math.max(list.length, e.at.length * 2));
      for (let i = 0; i < list.length; i++) {
        const series = list[i]!.series;
        let seen = -Infinity;
        for (let j = 0; j < series.length; j++) if (series[j]!.lastSeen > seen) seen = series[j]!.lastSeen;
        e.at[i] = seen;
        this.seriesSeen += series.length;
      }
      e.now = now;
      e.version = set.version;
    }
    return e.at;
  }

  private readonly ratios = new Map<string, { now: number; den: GroupValues | undefined; denStamp: number; numStamp: number; values: Float64Array }>();

  /**
   * A ratio rule's value per group of its denominator's set at `now` (values[g.i]), computed once per round
   * for every rule with the same numerator, denominator, group_by, stat and window: numerator / denominator,
   * a group with denominator data but no numerator series counting its numerator as 0 (not for quantiles),
   * NaN (no data) when the denominator is 0 or has no data.
   */
  ratioValues(key: string, den: GroupValues, num: GroupValues, stat: Stat, now: number): Float64Array {
    let e = this.ratios.get(key);
    if (!e) this.ratios.set(key, (e = { now: NaN, den: undefined, denStamp: -1, numStamp: -1, values: new Float64Array(0) }));
    if (e.now !== now || e.den !== den || e.denStamp !== den.stamp || e.numStamp !== num.stamp) {
      const list = den.set!.list;
      if (e.values.length < list.length) e.values = new Float64Array(Math.max(list.length, e.values.length * 2));
      for (let i = 0; i < list.length; i++) {
        const d = den.values[i]!;
        let n = valueOf(num, list[i]!.key);
        if (Number.isNaN(n) && !Number.isNaN(d) && stat.kind !== 'quantile') n = 0;
        e.values[i] = d === 0 || Number.isNaN(d) ? NaN : n / d;
      }
      e.now = now;
      e.den = den;
      e.denStamp = den.stamp;
      e.numStamp = num.stamp;
    }
    return e.values;
  }

  /** The stat per group of a selection at `now` (values[g.i] for each group g of the returned set). */
  groupValues(store: SeriesStore, sel: Selector, groupBy: readonly string[], stat: Stat, windowMs: number, now: number, key?: string, groupsKey?: string): GroupValues {
    const k = key ?? memoKeyOf(sel, groupBy, stat, windowMs);
    let e = this.values.get(k);
    if (!e) this.values.set(k, (e = { now: NaN, set: undefined, version: -1, stamp: 0, values: new Float64Array(0) }));
    const set = store.groupSet(sel, groupBy, groupsKey);
    // the same round and the same groups (another rule over them): computed already
    if (e.now !== now || e.set !== set || e.version !== set.version) {
      const list = set.list;
      if (e.values.length < list.length) e.values = new Float64Array(Math.max(list.length, e.values.length * 2));
      for (let i = 0; i < list.length; i++) {
        e.values[i] = statOf(list[i]!, stat, now, windowMs);
        this.seriesRead += list[i]!.series.length;
      }
      e.set = set;
      e.version = set.version;
      e.stamp++;
      e.now = now;
    }
    return e;
  }
}

/** The value of group `key` in `v`, NaN when the group has no series. */
function valueOf(v: GroupValues, key: string): number {
  const g = v.set!.map.get(key);
  return g === undefined ? NaN : v.values[g.i]!;
}

function statOf(group: SeriesGroup | undefined, stat: Stat, now: number, windowMs: number): number {
  if (!group) return NaN;
  acc.reset();
  const q = stat.kind === 'quantile' ? stat.q : -1;
  const series = group.series;
  for (let i = 0; i < series.length; i++) acc.add(series[i]!, now - windowMs, now, q);
  return acc.result(stat, windowMs);
}

/** `v op t` (JavaScript comparison: with NaN on either side every operator is false except `!=`). */
export function compare(op: Op, v: number, t: number): boolean {
  switch (op) {
    case '>':
      return v > t;
    case '>=':
      return v >= t;
    case '<':
      return v < t;
    case '<=':
      return v <= t;
    case '==':
      return v === t;
    case '!=':
      return v !== t;
  }
}

/** Groups remembered per absent_for rule (beyond it new groups are not tracked for absence). */
const MAX_ABSENCE_GROUPS = 10_000;

const INCREASE: Stat = { kind: 'increase' };

/** Receives the results of a rule (one call per group and severity), without an object per result. */
export interface ResultSink {
  result(key: string, groupLabels: Record<string, string>, severity: string, active: boolean | undefined, value: number): void;
}

/** Which group keys have an alert (pending or firing). */
export interface KnownGroups {
  has(groupKey: string): boolean;
}

const ALL_KNOWN: KnownGroups = { has: () => true };

class ArraySink implements ResultSink {
  readonly out: RuleResult[] = [];
  result(key: string, groupLabels: Record<string, string>, severity: string, active: boolean | undefined, value: number): void {
    this.out.push({ key, groupLabels, severity, active, value });
  }
}

/**
 * Evaluates one rule at `now`. `lastSeen` (per group key) feeds absent_for and is updated here. `known`
 * says whether a group has an alert (pending or firing): groups that neither are active nor have one are
 * left out of the results.
 */
export function evaluateRule(
  rule: CompiledRule,
  store: SeriesStore,
  now: number,
  absence: { lastSeen: Map<string, { labels: Record<string, string>; at: number }>; startedAt: number },
  memo: RoundMemo = new RoundMemo(),
  known: KnownGroups = ALL_KNOWN,
): RuleResult[] {
  const sink = new ArraySink();
  evaluateRuleInto(rule, store, now, absence, memo, known, sink);
  return sink.out;
}

/** As {@link evaluateRule}, the results going to `sink` in the same order. */
export function evaluateRuleInto(
  rule: CompiledRule,
  store: SeriesStore,
  now: number,
  absence: { lastSeen: Map<string, { labels: Record<string, string>; at: number }>; startedAt: number },
  memo: RoundMemo,
  known: KnownGroups,
  sink: ResultSink,
): void {
  if (rule.kind === 'slo') return evaluateSlo(rule, store, now, memo, known, sink);
  const keys = keysOf(rule);
  const mainSel = rule.kind === 'metric' ? rule.selector! : rule.denominator!;
  const groupSet = store.groupSet(mainSel, rule.groupBy, keys.mainGroups);
  const groups = groupSet.map;
  const list = groupSet.list;
  const numSet = rule.kind === 'ratio' ? store.groupSet(rule.numerator!, rule.groupBy, keys.numGroups) : undefined;
  const numGroups = numSet?.map;
  const hasCondition = rule.op !== undefined && rule.threshold !== undefined && rule.stat !== undefined;
  const mainValues = hasCondition ? memo.groupValues(store, mainSel, rule.groupBy, rule.stat!, rule.windowMs, now, keys.mainMemo, keys.mainGroups) : undefined;
  const numValues = hasCondition && rule.kind === 'ratio' ? memo.groupValues(store, rule.numerator!, rule.groupBy, rule.stat!, rule.windowMs, now, keys.numMemo, keys.numGroups) : undefined;
  // the main values are over the same group set as `list` (same selection and group_by, same generation)
  const direct = mainValues !== undefined && mainValues.set === groupSet;
  const absentForMs = rule.absentForMs;
  if (direct && absentForMs === undefined && known instanceof Map) {
    // the rule's value per group, as the rules over the same selections share it
    const values = rule.kind === 'metric' ? mainValues.values : memo.ratioValues(keys.ratioMemo, mainValues, numValues!, rule.stat!, now);
    return reportGroups(rule, list, groups, values, known, sink);
  }
  // absent_for: the newest point per group, shared by the rules over the same selection and group_by
  const seenMain = absentForMs !== undefined ? memo.lastSeenOf(groupSet, now) : undefined;
  const seenNum = absentForMs !== undefined && numSet ? memo.lastSeenOf(numSet, now) : undefined;
  // the rule's absence entry of each group (entries are updated in place, never replaced), found once per group set
  const entries = absentForMs !== undefined ? absenceEntriesOf(absence.lastSeen, groupSet) : undefined;
  const op = rule.op!;
  const threshold = rule.threshold!;
  for (let gi = 0; gi < list.length; gi++) {
    const g = list[gi]!;
    const key = g.key;
    if (entries !== undefined) {
      let seen = seenMain![gi]!;
      if (seenNum) {
        const ng = numGroups!.get(key);
        if (ng !== undefined && seenNum[ng.i]! > seen) seen = seenNum[ng.i]!;
      }
      let prev = entries[gi];
      if (prev === undefined) {
        prev = absence.lastSeen.get(key);
        if (!prev) {
          if (absence.lastSeen.size < MAX_ABSENCE_GROUPS) absence.lastSeen.set(key, (prev = { labels: g.labels, at: seen }));
        } else if (prev.at < seen) prev.at = seen;
        entries[gi] = prev;
      } else if (prev.at < seen) prev.at = seen;
    }
    if (!hasCondition) continue;
    let value: number;
    const main = direct ? mainValues.values[gi]! : valueOf(mainValues!, key);
    if (rule.kind === 'metric') value = main;
    else {
      const den = main;
      let num = valueOf(numValues!, key);
      if (Number.isNaN(num) && !Number.isNaN(den) && rule.stat!.kind !== 'quantile') num = 0;
      value = den === 0 || Number.isNaN(den) ? NaN : num / den;
    }
    if (entries !== undefined && absentLongEnough(entries[gi]?.at, now, absentForMs!)) continue; // reported below
    const active = Number.isNaN(value) ? rule.noDataActive : compare(op, value, threshold);
    // a group that is not active and has no alert changes nothing: skip it (most groups, most rounds)
    if (active !== true && !known.has(key) && !(active === undefined && rule.noDataAlert)) continue;
    sink.result(key, g.labels, rule.severity, active, value);
  }
  if (absentForMs !== undefined) {
    if (absence.lastSeen.size === 0) {
      // never seen since start: the whole selection is absent once absent_for has passed since start
      const active = now - absence.startedAt >= absentForMs ? true : undefined;
      sink.result('', {}, rule.severity, active, active ? (now - absence.startedAt) / 1000 : NaN);
    } else {
      if (rule.groupBy.length) sink.result('', {}, rule.severity, false, NaN);
      // "not absent" changes nothing for a group without an alert: with the rule's alerts known (a Map),
      // only the groups that hold one are told (10,000 groups a rule, most rounds none)
      const onlyKnown = known instanceof Map;
      const anyKnown = onlyKnown && known.size > 0;
      // (forEach: no [key, value] array per entry)
      absence.lastSeen.forEach((seen, key) => {
        if (now - seen.at >= absentForMs) sink.result(key, seen.labels, rule.severity, true, (now - seen.at) / 1000);
        else if ((!onlyKnown || (anyKnown && known.has(key))) && (!hasCondition || !groups.has(key))) sink.result(key, seen.labels, rule.severity, false, (now - seen.at) / 1000);
      });
    }
  }
}

/** Scratch lists of group indices for reportGroups (grown as needed; evaluation is not re-entered). */
let mustReport = new Int32Array(256);
let knownOnly = new Int32Array(64);

/**
 * Reports the groups of a rule without absent_for whose value per group (`values[g.i]`, no data as NaN)
 * is computed, as the general loop of evaluateRuleInto does and in the same order (group order), but
 * without looking at the other groups one by one: one pass over the values finds the groups whose
 * condition holds (or that raise a no-data alert), and the groups that hold an alert come from `known`.
 * With 1,000 rules over one selection of 10,000 groups, each rule costs a scan of a Float64Array and its
 * own alerts, not 10,000 group lookups.
 */
function reportGroups(rule: CompiledRule, list: readonly SeriesGroup[], groups: ReadonlyMap<string, SeriesGroup>, values: Float64Array, known: ReadonlyMap<string, unknown>, sink: ResultSink): void {
  const n = list.length;
  const op = rule.op!;
  const threshold = rule.threshold!;
  const noData = rule.noDataActive;
  // a group without data is reported regardless of alerts when it counts as active, or raises its NoData alert
  const nanReported = noData === true || rule.noDataAlert;
  if (mustReport.length < n) mustReport = new Int32Array(Math.max(n, mustReport.length * 2));
  const must = mustReport;
  let k = 0;
  switch (op) {
    case '>':
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (v > threshold || (nanReported && v !== v)) must[k++] = i;
      }
      break;
    case '>=':
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (v >= threshold || (nanReported && v !== v)) must[k++] = i;
      }
      break;
    case '<':
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (v < threshold || (nanReported && v !== v)) must[k++] = i;
      }
      break;
    case '<=':
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (v <= threshold || (nanReported && v !== v)) must[k++] = i;
      }
      break;
    default:
      for (let i = 0; i < n; i++) {
        const v = values[i]!;
        if (v !== v ? nanReported : compare(op, v, threshold)) must[k++] = i;
      }
  }
  // the groups with an alert that the pass above did not pick (their condition no longer holds, or no data)
  let m = 0;
  if (known.size) {
    if (knownOnly.length < known.size) knownOnly = new Int32Array(Math.max(known.size, knownOnly.length * 2));
    for (const key of known.keys()) {
      const g = groups.get(key as string);
      if (g === undefined) continue;
      const v = values[g.i]!;
      if (v !== v ? nanReported : compare(op, v, threshold)) continue;
      knownOnly[m++] = g.i;
    }
    if (m > 1) knownOnly.subarray(0, m).sort();
  }
  // both lists in group order, merged: results go out in the order of the groups, as the general loop gives them
  let a = 0;
  let b = 0;
  while (a < k || b < m) {
    const gi = b >= m || (a < k && must[a]! < knownOnly[b]!) ? must[a++]! : knownOnly[b++]!;
    const g = list[gi]!;
    const value = values[gi]!;
    const active = value !== value ? noData : compare(op, value, threshold);
    sink.result(g.key, g.labels, rule.severity, active, value);
  }
}

type AbsenceEntry = { labels: Record<string, string>; at: number };
const absenceEntries = new WeakMap<Map<string, AbsenceEntry>, { set: GroupSet; version: number; entries: (AbsenceEntry | undefined)[] }>();

/** Per group of `set` (by g.i), the entry of `lastSeen` once looked up (undefined until then); new per group set and version. */
function absenceEntriesOf(lastSeen: Map<string, AbsenceEntry>, set: GroupSet): (AbsenceEntry | undefined)[] {
  let c = absenceEntries.get(lastSeen);
  if (!c || c.set !== set || c.version !== set.version) absenceEntries.set(lastSeen, (c = { set, version: set.version, entries: new Array<AbsenceEntry | undefined>(set.list.length) }));
  return c.entries;
}

function absentLongEnough(at: number | undefined, now: number, ms: number): boolean {
  return at !== undefined && now - at >= ms;
}

function evaluateSlo(rule: CompiledRule, store: SeriesStore, now: number, memo: RoundMemo, known: KnownGroups, sink: ResultSink): void {
  const slo = rule.slo!;
  const budget = 1 - slo.objective;
  const totals = store.groups(slo.total, rule.groupBy);
  if (totals.size === 0) return;
  // the increases per group over each window, once per round for every rule over the same selections
  const perWindow = new Map<number, { total: GroupValues; part: GroupValues }>();
  for (const pair of slo.pairs) {
    for (const ms of [pair.longMs, pair.shortMs]) {
      if (perWindow.has(ms)) continue;
      perWindow.set(ms, {
        total: memo.groupValues(store, slo.total, rule.groupBy, INCREASE, ms, now),
        part: memo.groupValues(store, slo.good ?? slo.bad!, rule.groupBy, INCREASE, ms, now),
      });
    }
  }
  const burnCache = new Map<number, number>();
  for (const [key, g] of totals) {
    burnCache.clear();
    const burn = (ms: number): number => {
      let b = burnCache.get(ms);
      if (b !== undefined) return b;
      const w = perWindow.get(ms)!;
      const total = valueOf(w.total, key);
      let part = valueOf(w.part, key);
      if (Number.isNaN(part)) part = 0;
      const errRatio = slo.good ? (total - part) / total : part / total;
      b = !(total > 0) ? NaN : Math.max(0, errRatio) / budget;
      burnCache.set(ms, b);
      return b;
    };
    const bySeverity = new Map<string, { active: boolean | undefined; value: number }>();
    for (const pair of slo.pairs) {
      const longB = burn(pair.longMs);
      const shortB = burn(pair.shortMs);
      const cur = bySeverity.get(pair.severity) ?? { active: undefined, value: NaN };
      if (!Number.isNaN(longB) && !Number.isNaN(shortB)) {
        const fires = longB > pair.factor && shortB > pair.factor;
        if (fires) {
          if (cur.active !== true || !(cur.value >= longB)) cur.value = longB;
          cur.active = true;
        } else if (cur.active === undefined) {
          cur.active = false;
          cur.value = longB;
        } else if (cur.active === false && !(cur.value >= longB)) cur.value = longB;
      }
      bySeverity.set(pair.severity, cur);
    }
    for (const [severity, r] of bySeverity) {
      const active = r.active ?? rule.noDataActive;
      if (active === true || known.has(key) || (active === undefined && rule.noDataAlert)) sink.result(key, g.labels, severity, active, r.value);
    }
  }
}

/** Retention each metric needs: the longest span any rule reads, plus slack for late points. */
export function retentionOf(rules: readonly CompiledRule[], intervalMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rules) for (const [m, ms] of r.needs) out.set(m, Math.max(out.get(m) ?? 0, ms + 2 * intervalMs + 60_000));
  return out;
}
