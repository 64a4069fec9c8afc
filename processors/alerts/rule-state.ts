/**
 * Rule state: the alert instances of every rule and the Prometheus state machine they go through
 * (inactive -> pending -> firing -> resolved), fed by the rules' per-group results (rules.ts). Each round
 * returns the alerts that resolved; the dispatcher (dispatcher.ts) decides who hears of what.
 */
import { type BudgetAccount, labelsBytes, memoryBudget, stringBytes } from '../../src/memory-budget.ts';
import type { Alert } from '../../src/model.ts';
import { NO_DATA_ALERTNAME } from './config.ts';
import { fingerprint, labelsKey } from './fingerprint.ts';
import { type CompiledRule, type ResultSink, RoundMemo, evaluateRuleInto } from './rules.ts';
import type { SeriesStore } from './series-store.ts';

/** The slot key suffix of a group's DatasourceNoData alert (`no_data: no_data_alert`). */
const NO_DATA_SUFFIX = '\u0002\u0003nodata';

/** The entries of `labels` named in `names` (the group's labels of an alert whose group reported nothing). */
function pick(labels: Record<string, string>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) if (Object.hasOwn(labels, n)) out[n] = labels[n]!;
  return out;
}

/** Go's zero time as RFC 3339, the `endsAt` of a firing alert with no known end (as Alertmanager's webhook payload shows it). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * An alert's labels: the group's, then the rule's, then alertname and severity. A label whose value is
 * empty is dropped (a rule label set to "" removes that label), as Prometheus and Alertmanager do.
 */
export function alertLabels(groupLabels: Record<string, string>, ruleLabels: Record<string, string>, alertname: string, severity: string): Record<string, string> {
  // Assigned one by one, the same keys in the same order as `{ ...groupLabels, ...ruleLabels, alertname,
  // severity }`: the two spreads took V8's generic copy (1.6 us a new alert against 0.03). `__proto__` is
  // defined as an own label, as a spread does, instead of setting the prototype; the scan for empty values
  // runs only when one was seen.
  const labels: Record<string, string> = {};
  let empty = alertname === '' || severity === '';
  for (const from of [groupLabels, ruleLabels])
    for (const k of Object.keys(from)) {
      const v = from[k]!;
      if (k === '__proto__') Object.defineProperty(labels, k, { value: v, enumerable: true, writable: true, configurable: true });
      else labels[k] = v;
      if (v === '') empty = true;
    }
  labels.alertname = alertname;
  labels.severity = severity;
  if (empty) for (const k of Object.keys(labels)) if (labels[k] === '') delete labels[k];
  return labels;
}

/** A rule's group_by as one string (names joined by U+0000), one string per rule (Instance.groupBy). */
const groupByKeys = new WeakMap<readonly string[], string>();
function groupByKey(groupBy: readonly string[]): string {
  let k = groupByKeys.get(groupBy);
  if (k === undefined) groupByKeys.set(groupBy, (k = groupBy.join('\u0000')));
  return k;
}

/** The group key of a slot key (see AlertEngine.addInstance). */
function groupOfSlotKey(slotKey: string): string {
  const i = slotKey.indexOf('\u0002');
  return i < 0 ? slotKey : slotKey.slice(0, i);
}

/** The group part of an instance key (`rule \0 severity \0 group`). */
export function groupKeyOf(instanceKey: string): string {
  const a = instanceKey.indexOf('\u0000');
  return instanceKey.slice(instanceKey.indexOf('\u0000', a + 1) + 1);
}

/** One alert instance of a rule (pending or firing), as persisted; times are Unix ms. */
export interface Instance {
  /** rule name, severity and group key: how an evaluation result finds its alert. */
  key: string;
  rule: string;
  labels: Record<string, string>;
  fingerprint: string;
  state: 'pending' | 'firing';
  /** When the condition started holding (Prometheus ActiveAt; the alert's startsAt). */
  activeSince: number;
  /** When it turned firing (undefined while pending). */
  firingSince: number | undefined;
  /** The last evaluation at which the condition held. */
  lastTrueAt: number;
  /**
   * The first evaluation at which the condition no longer held while firing (Prometheus
   * KeepFiringSince): keep_firing_for counts from here; undefined while the condition holds.
   */
  keepFiringSince?: number | undefined;
  value: number;
  annotations: Record<string, string>;
  /**
   * Its rule's `group_by` when it was raised (names joined by U+0000): a saved alert whose rule now groups
   * otherwise belongs to no group the rule reports (see RuleState.restoreInstance). Absent in older state files.
   */
  groupBy?: string;
}

/** An alert that resolved in a round, with the rule it came from. */
export interface ResolvedAlert {
  rule: string;
  alert: Alert;
}

const NO_GROUPS: ReadonlyMap<string, number> = new Map();

/** The slot of a rule's RuleLimitExceeded alert (no group key of a result ends like this). */
export const LIMIT_SLOT = '\u0000\u0003limit';
const limitKey = (rule: string) => `${rule}\u0000warning${LIMIT_SLOT}`;

/** A rule's constant parts in a round (see RuleState.prepare). */
interface PreparedRule {
  prefix: string;
  hasAnnotations: boolean;
  limitKey: string;
  slot: Map<string, Instance>;
  absence: { lastSeen: Map<string, { labels: Record<string, string>; at: number }>; startedAt: number };
}

/** Passes a rule's results to the state, with what it needs about the rule being evaluated. */
class StateSink implements ResultSink {
  rule: CompiledRule | undefined;
  prefix = '';
  severity = '';
  hasAnnotations = false;
  slot: Map<string, Instance> | undefined;
  now = 0;
  resolvedNow: ResolvedAlert[] = [];
  /** New alerts the rule may still create this round (its `limit` less those it holds); Infinity: no limit. */
  room = Infinity;
  /** Results that would have created an alert beyond the limit this round. */
  overflow = 0;
  /** The instances given a result this round (kept only for rules whose no_data is not keep_state). */
  readonly touched = new Set<Instance>();
  trackTouched = false;
  constructor(private readonly state: RuleState) {}
  result(key: string, groupLabels: Record<string, string>, severity: string, active: boolean | undefined, value: number): void {
    this.state.onResult(this, key, groupLabels, severity, active, value);
  }
}

/** Estimated bytes of one alert instance: the object, its key, labels and annotations, its entries in the indexes. */
function instanceBytes(inst: Instance): number {
  return 900 + 2 * stringBytes(inst.key) + labelsBytes(inst.labels);
}

/**
 * The alert instances of every rule and the Prometheus state machine they go through (see this file's
 * comment), with the per-rule `limit` and `no_data` handling.
 */
export class RuleState {
  readonly instances = new Map<string, Instance>();
  /**
   * The instances' share of the process's memory budget (src/memory-budget.ts): accounted, never shed (an
   * alert is not dropped for memory); each rule's `limit` bounds them.
   */
  readonly budget: BudgetAccount = memoryBudget.account('processor/alerts alert instances');
  /** What each instance was charged (its labels may be rewritten later). */
  private readonly charged = new WeakMap<Instance, number>();
  /** Alerts (pending and firing) held per rule, against its `limit`. */
  private readonly ruleCounts = new Map<string, number>();
  /** The instances per rule and severity (`rule \0 severity`), by slot key: found without building their key. */
  private readonly slots = new Map<string, Map<string, Instance>>();
  /** Instances of rules with templated labels, by `rule \0 severity \0 group key`: every label set of a group. */
  private readonly labelVariants = new Map<string, Set<Instance>>();
  /** Group keys (RuleResult.key) with an alert, per rule name. */
  private readonly groupsWithAlerts = new Map<string, Map<string, number>>();
  /**
   * Per absent_for rule, per group key: its labels and newest point (ms). Entries are updated in place and
   * never deleted or replaced (the evaluation keeps references to them, rules.ts absenceEntriesOf).
   */
  readonly absence = new Map<string, Map<string, { labels: Record<string, string>; at: number }>>();
  private readonly ruleByName = new Map<string, CompiledRule>();
  /** Instances restored from a snapshot, checked against the rules at the next evaluation (see {@link restoreInstance}). */
  private readonly restored = new Set<Instance>();
  /** The values shared by the rules within a round (and its cost counts: RoundMemo.seriesRead). */
  readonly memo = new RoundMemo();
  private readonly sink = new StateSink(this);
  private store: SeriesStore | undefined;

  constructor(
    readonly rules: CompiledRule[],
    private readonly startedAt: number,
    /** Builds the Alert of an instance (the engine knows generatorURL). */
    private readonly toAlert: (inst: Instance) => Alert,
  ) {
    for (const r of rules) this.ruleByName.set(r.name, r);
  }

  rule(name: string): CompiledRule | undefined {
    return this.ruleByName.get(name);
  }

  private slotOf(rule: string, severity: string): Map<string, Instance> {
    const k = `${rule}\u0000${severity}`;
    let m = this.slots.get(k);
    if (!m) this.slots.set(k, (m = new Map()));
    return m;
  }

  /**
   * Adds an instance restored from a snapshot (a restart, a reload). At the next evaluation, before the rules
   * run, it is checked against its rule as configured now: when the rule would give its group another label
   * set (its `labels`, `severity` or `group_by` changed, a label was added or removed, its NoData alert is no
   * longer wanted), the saved alert is a different alert, as in Prometheus: it is dropped, and resolved when it was
   * firing, and the rule raises its new alert as a new one (`for` counted from then).
   */
  restoreInstance(inst: Instance, slotKey: string): void {
    this.addInstance(inst, slotKey);
    if (!inst.key.endsWith(LIMIT_SLOT)) this.restored.add(inst);
  }

  /** Whether a restored instance's labels are not those its rule, as configured now, gives its group. */
  private changedSinceSaved(inst: Instance): boolean {
    const rule = this.ruleByName.get(inst.rule);
    if (!rule) return false; // a removed rule: its alerts are resolved in evaluate
    // another group_by: the rule's results have other group keys, so nothing would ever touch it again
    if (inst.groupBy !== undefined && inst.groupBy !== groupByKey(rule.groupBy)) return true;
    const severity = inst.labels.severity ?? '';
    if (severity !== rule.severity && !rule.slo?.pairs.some((p) => p.severity === severity)) return true;
    const noData = inst.labels.alertname === NO_DATA_ALERTNAME && inst.labels.rulename === rule.name;
    if (noData && !rule.noDataAlert) return true;
    const group: Record<string, string> = {};
    for (const k of rule.groupBy) if (inst.labels[k] !== undefined) group[k] = inst.labels[k]!;
    const ruleLabels: Record<string, string> = { ...rule.labels };
    if (noData) ruleLabels.rulename = rule.name;
    // a templated label was rendered with the value: the saved one stands (a new rendering is a new alert anyway)
    else for (const k of Object.keys(rule.labelTemplates ?? {})) if (inst.labels[k] !== undefined) ruleLabels[k] = inst.labels[k]!;
    const want = alertLabels(group, ruleLabels, noData ? NO_DATA_ALERTNAME : rule.name, severity);
    const keys = Object.keys(want);
    return keys.length !== Object.keys(inst.labels).length || keys.some((k) => inst.labels[k] !== want[k]);
  }

  /** Drops (and resolves, when firing) the restored instances whose rule now gives another label set. */
  private settleRestored(now: number, resolvedNow: ResolvedAlert[]): void {
    for (const inst of this.restored) {
      if (this.instances.get(inst.key) !== inst || !this.changedSinceSaved(inst)) continue;
      this.deleteInstance(inst);
      if (inst.state === 'firing') resolvedNow.push({ rule: inst.rule, alert: { ...this.toAlert(inst), status: 'resolved', endsAt: new Date(now).toISOString() } });
    }
    this.restored.clear();
  }

  /**
   * `slotKey`: the instance's key within its rule and severity: the group key, followed by
   * `\u0002` and its label set when the rule's labels are templates (one group may then hold several
   * alerts, one per label set, as in Prometheus).
   */
  addInstance(inst: Instance, slotKey: string): void {
    if (inst.key.endsWith(LIMIT_SLOT)) {
      // A RuleLimitExceeded alert (restored from a snapshot) is kept apart from the rule's own alerts.
      this.instances.set(inst.key, inst);
      return;
    }
    const prev = this.instances.get(inst.key);
    if (prev !== inst) {
      if (prev) this.budget.add(-(this.charged.get(prev) ?? 0));
      const bytes = instanceBytes(inst);
      this.charged.set(inst, bytes);
      this.budget.add(bytes);
    }
    this.instances.set(inst.key, inst);
    this.ruleCounts.set(inst.rule, (this.ruleCounts.get(inst.rule) ?? 0) + 1);
    const ruleSeverity = inst.key.slice(0, inst.key.length - slotKey.length - 1);
    let slot = this.slots.get(ruleSeverity);
    if (!slot) this.slots.set(ruleSeverity, (slot = new Map()));
    slot.set(slotKey, inst);
    const gk = groupOfSlotKey(slotKey);
    let m = this.groupsWithAlerts.get(inst.rule);
    if (!m) this.groupsWithAlerts.set(inst.rule, (m = new Map()));
    m.set(gk, (m.get(gk) ?? 0) + 1);
    if (gk !== slotKey && !slotKey.endsWith(NO_DATA_SUFFIX)) {
      const k = `${ruleSeverity}\u0000${gk}`;
      let set = this.labelVariants.get(k);
      if (!set) this.labelVariants.set(k, (set = new Set()));
      set.add(inst);
    }
  }

  private deleteInstance(inst: Instance): void {
    if (inst.key.endsWith(LIMIT_SLOT)) {
      this.instances.delete(inst.key);
      return;
    }
    const held = this.instances.get(inst.key);
    if (this.instances.delete(inst.key)) {
      this.ruleCounts.set(inst.rule, (this.ruleCounts.get(inst.rule) ?? 1) - 1);
      if (held) this.budget.add(-(this.charged.get(held) ?? 0));
    }
    const m = this.groupsWithAlerts.get(inst.rule);
    const slotKey = groupKeyOf(inst.key);
    const ruleSeverity = inst.key.slice(0, inst.key.length - slotKey.length - 1);
    this.slots.get(ruleSeverity)?.delete(slotKey);
    const gk = groupOfSlotKey(slotKey);
    const n = (m?.get(gk) ?? 0) - 1;
    if (n > 0) m!.set(gk, n);
    else m?.delete(gk);
    if (gk !== slotKey && !slotKey.endsWith(NO_DATA_SUFFIX)) {
      const k = `${ruleSeverity}\u0000${gk}`;
      const set = this.labelVariants.get(k);
      set?.delete(inst);
      if (set?.size === 0) this.labelVariants.delete(k);
    }
  }

  absenceFor(rule: string): Map<string, { labels: Record<string, string>; at: number }> {
    let m = this.absence.get(rule);
    if (!m) this.absence.set(rule, (m = new Map()));
    return m;
  }

  /** One result of the rule being evaluated (see StateSink). */
  onResult(sink: StateSink, key: string, groupLabels: Record<string, string>, severity: string, active: boolean | undefined, value: number): void {
    const rule = sink.rule!;
    if (rule.noDataAlert) {
      this.noDataAlert(sink, key, groupLabels, severity, active);
      if (active === undefined) active = false; // the group's own alert lapses while its NoData alert holds
    }
    if (rule.labelTemplates) return this.onTemplatedResult(sink, key, groupLabels, severity, active, value);
    const slot = severity === sink.severity ? sink.slot! : this.slotOf(rule.name, severity);
    let inst = slot.get(key);
    if (active === true) {
      if (!inst) {
        if (sink.room <= 0) {
          sink.overflow++;
          return;
        }
        sink.room--;
        inst = this.newInstance(sink, key, alertLabels(groupLabels, rule.labels, rule.name, severity), severity, value);
        this.addInstance(inst, key);
      }
      this.holds(sink, inst, value, groupLabels);
    } else if (active === false && inst) this.lapses(sink, inst);
    else if (inst && sink.trackTouched) sink.touched.add(inst);
  }

  /**
   * A result of a rule whose labels are templates (rendered with the value and the group's labels, as
   * Prometheus expands them at each evaluation): a new label set is a new alert, and the group's alerts
   * with another label set no longer hold (Prometheus TestAlertingRuleLabelsUpdate).
   */
  private onTemplatedResult(sink: StateSink, key: string, groupLabels: Record<string, string>, severity: string, active: boolean | undefined, value: number): void {
    const rule = sink.rule!;
    const variants = this.labelVariants.get(`${sink.prefix}${severity}\u0000${key}`);
    let current: Instance | undefined;
    if (active === true) {
      const rendered: Record<string, string> = { ...rule.labels };
      for (const [k, t] of Object.entries(rule.labelTemplates!)) {
        try {
          rendered[k] = t.render({ value, threshold: rule.threshold, labels: groupLabels });
        } catch (e) {
          rendered[k] = `template error: ${(e as Error).message}`;
        }
      }
      const labels = alertLabels(groupLabels, rendered, rule.name, severity);
      const slotKey = `${key}\u0002${labelsKey(labels)}`;
      const slot = severity === sink.severity ? sink.slot! : this.slotOf(rule.name, severity);
      current = slot.get(slotKey);
      if (!current && sink.room <= 0) sink.overflow++;
      else {
        if (!current) {
          sink.room--;
          current = this.newInstance(sink, slotKey, labels, severity, value);
          this.addInstance(current, slotKey);
        }
        this.holds(sink, current, value, groupLabels);
      }
    }
    if (!variants) return;
    for (const inst of [...variants]) {
      if (inst === current) continue;
      if (active === undefined) {
        if (sink.trackTouched) sink.touched.add(inst);
      } else this.lapses(sink, inst);
    }
  }

  /**
   * `no_data: no_data_alert` (Grafana's NoData state): without data, the group's DatasourceNoData alert
   * (the group's labels, the rule's constant labels, `rulename`) holds; with data, it lapses.
   */
  private noDataAlert(sink: StateSink, key: string, groupLabels: Record<string, string>, severity: string, active: boolean | undefined): void {
    const rule = sink.rule!;
    const slotKey = `${key}${NO_DATA_SUFFIX}`;
    const slot = severity === sink.severity ? sink.slot! : this.slotOf(rule.name, severity);
    let inst = slot.get(slotKey);
    if (active !== undefined) {
      if (inst) this.lapses(sink, inst);
      return;
    }
    if (!inst) {
      if (sink.room <= 0) {
        sink.overflow++;
        return;
      }
      sink.room--;
      inst = this.newInstance(sink, slotKey, alertLabels(groupLabels, { ...rule.labels, rulename: rule.name }, NO_DATA_ALERTNAME, severity), severity, NaN);
      this.addInstance(inst, slotKey);
    }
    this.holds(sink, inst, NaN, groupLabels);
  }

  private newInstance(sink: StateSink, slotKey: string, labels: Record<string, string>, severity: string, value: number): Instance {
    return {
      key: `${sink.prefix}${severity}\u0000${slotKey}`,
      rule: sink.rule!.name,
      labels,
      fingerprint: fingerprint(labels),
      state: 'pending',
      activeSince: sink.now,
      firingSince: undefined,
      lastTrueAt: sink.now,
      value,
      annotations: {},
      groupBy: groupByKey(sink.rule!.groupBy),
    };
  }

  /**
   * The condition holds for `inst` at this evaluation: pending until `for` has passed, then firing.
   * `groupLabels`: the group's labels, which the annotations' `$labels` read (undefined: the alert's labels
   * that are the rule's group_by labels).
   */
  private holds(sink: StateSink, inst: Instance, value: number, groupLabels?: Record<string, string>): void {
    const now = sink.now;
    if (sink.trackTouched) sink.touched.add(inst);
    inst.lastTrueAt = now;
    inst.keepFiringSince = undefined;
    inst.value = value;
    if (sink.hasAnnotations) inst.annotations = this.render(sink.rule!, inst.labels, groupLabels ?? pick(inst.labels, sink.rule!.groupBy), value);
    if (inst.state === 'pending' && now - inst.activeSince >= sink.rule!.forMs) {
      inst.state = 'firing';
      inst.firingSince = now;
    }
  }

  /** The condition no longer holds for `inst`: a pending alert is dropped, a firing one resolves after keep_firing_for. */
  private lapses(sink: StateSink, inst: Instance): void {
    const now = sink.now;
    const rule = sink.rule!;
    if (sink.trackTouched) sink.touched.add(inst);
    // A window not yet observed for its full length since this store began (a restart, a new rule after
    // a reload) counts as no data for clearing: the alert neither resolves nor loses its `for` clock
    // because vigil restarted. (Not for absent_for rules, whose clearing is data coming back.)
    if (rule.absentForMs === undefined && !this.fullyObserved(rule, now)) return;
    if (inst.state === 'pending') {
      this.deleteInstance(inst);
      return;
    }
    // the value and annotations stay those of the last evaluation at which the condition held (Prometheus
    // leaves an alert that is not in the result untouched, also while keep_firing_for holds it)
    // Prometheus: keep_firing_for counts from the first evaluation at which the condition is false
    inst.keepFiringSince ??= now;
    if (now - inst.keepFiringSince >= rule.keepFiringForMs) {
      this.deleteInstance(inst);
      sink.resolvedNow.push({ rule: rule.name, alert: { ...this.toAlert(inst), status: 'resolved', endsAt: new Date(now).toISOString() } });
    }
  }

  /**
   * After a rule whose no_data is not keep_state: its alerts whose group got no result at all this round
   * (every series of the group gone from the store) are given the rule's no-data outcome.
   */
  private settleUnreported(sink: StateSink): void {
    const rule = sink.rule!;
    const severities = new Set([rule.severity, ...(rule.slo?.pairs.map((p) => p.severity) ?? [])]);
    for (const severity of severities) {
      const slot = this.slots.get(`${rule.name}\u0000${severity}`);
      if (!slot?.size) continue;
      for (const inst of [...slot.values()]) {
        if (sink.touched.has(inst)) continue;
        if (rule.noDataAlert) {
          // the group is gone from the store: its NoData alert holds, its own alert lapses
          if (inst.labels.alertname === NO_DATA_ALERTNAME && inst.labels.rulename === rule.name) this.holds(sink, inst, NaN);
          else this.lapses(sink, inst);
        } else if (rule.noDataActive) this.holds(sink, inst, NaN);
        else this.lapses(sink, inst);
      }
    }
    sink.touched.clear();
  }

  /** Whether every metric `rule` reads has been observed for its whole window (capped at the retention kept) by `now`. */
  private fullyObserved(rule: CompiledRule, now: number): boolean {
    for (const [metric, span] of rule.needs) if (now - Math.min(rule.windowMs, span) < this.store!.observedSince(metric)) return false;
    return true;
  }

  /**
   * Prometheus's rule `limit`, with one alert instead of an evaluation error: while a rule would hold more
   * than `limit` alerts, its alerts are withdrawn (pending ones silently, firing ones resolved: at most
   * `limit` of them) and one `RuleLimitExceeded` alert (labels `rule`, severity warning) carries the count
   * as its value; once the rule is back within its limit, that alert resolves and the rule's alerts return
   * at the next evaluation. An alert storm is one page, not thousands.
   */
  private enforceLimit(rule: CompiledRule, now: number, overflow: number, resolvedNow: ResolvedAlert[]): void {
    const held = this.ruleCounts.get(rule.name) ?? 0;
    const total = held + overflow;
    const key = limitKey(rule.name);
    const current = this.instances.get(key);
    if (total <= rule.limit && overflow === 0) {
      if (current) {
        this.instances.delete(key);
        resolvedNow.push({ rule: rule.name, alert: { ...this.toAlert(current), status: 'resolved', endsAt: new Date(now).toISOString() } });
      }
      return;
    }
    for (const inst of [...this.instances.values()]) {
      if (inst.rule !== rule.name || inst.key === key) continue;
      this.deleteInstance(inst);
      // Alerts that fired at an earlier evaluation were (or will be) notified: resolve them. Those that
      // turned firing in this round were never sent.
      if (inst.state === 'firing' && inst.firingSince !== undefined && inst.firingSince < now)
        resolvedNow.push({ rule: inst.rule, alert: { ...this.toAlert(inst), status: 'resolved', endsAt: new Date(now).toISOString() } });
    }
    const summary = `rule ${rule.name} would raise ${total} alerts, over its limit of ${rule.limit}: its alerts are withheld until it is back within the limit`;
    if (current) {
      current.value = total;
      current.lastTrueAt = now;
      current.annotations = { summary };
      return;
    }
    const labels = { alertname: 'RuleLimitExceeded', rule: rule.name, severity: 'warning' };
    this.instances.set(key, {
      key,
      rule: rule.name,
      labels,
      fingerprint: fingerprint(labels),
      state: 'firing',
      activeSince: now,
      firingSince: now,
      lastTrueAt: now,
      value: total,
      annotations: { summary },
    });
  }

  private render(rule: CompiledRule, labels: Record<string, string>, groupLabels: Record<string, string>, value: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, t] of Object.entries(rule.annotations)) {
      try {
        out[k] = t.render({ value, threshold: rule.threshold, labels, groupLabels });
      } catch (e) {
        out[k] = `template error: ${(e as Error).message}`;
      }
    }
    return out;
  }

  /** What each round needs of rule i that does not change: built at its first round (not 1,000 strings a round). */
  private readonly prepared: PreparedRule[] = [];

  private prepare(rule: CompiledRule): PreparedRule {
    return {
      prefix: `${rule.name}\u0000`,
      hasAnnotations: Object.keys(rule.annotations).length > 0,
      limitKey: limitKey(rule.name),
      // slots and absence maps are never replaced once made (entries come and go)
      slot: this.slotOf(rule.name, rule.severity),
      absence: { lastSeen: this.absenceFor(rule.name), startedAt: this.startedAt },
    };
  }

  /** Runs every rule at `now` on `store`; returns the alerts that resolved in this round. */
  evaluate(store: SeriesStore, now: number): ResolvedAlert[] {
    this.store = store;
    const resolvedNow: ResolvedAlert[] = [];
    if (this.restored.size) this.settleRestored(now, resolvedNow);
    const sink = this.sink;
    sink.now = now;
    sink.resolvedNow = resolvedNow;
    const rules = this.rules;
    for (let ri = 0; ri < rules.length; ri++) {
      const rule = rules[ri]!;
      const p = (this.prepared[ri] ??= this.prepare(rule));
      sink.rule = rule;
      sink.prefix = p.prefix;
      sink.hasAnnotations = p.hasAnnotations;
      sink.severity = rule.severity;
      sink.slot = p.slot;
      sink.trackTouched = rule.noDataActive !== undefined || rule.noDataAlert;
      const overLimit = this.instances.has(p.limitKey);
      sink.room = rule.limit > 0 ? (overLimit ? 0 : Math.max(0, rule.limit - (this.ruleCounts.get(rule.name) ?? 0))) : Infinity;
      sink.overflow = 0;
      try {
        evaluateRuleInto(rule, store, now, p.absence, this.memo, this.groupsWithAlerts.get(rule.name) ?? NO_GROUPS, sink);
        if (sink.trackTouched) this.settleUnreported(sink);
        if (rule.limit > 0 && (sink.overflow > 0 || overLimit)) this.enforceLimit(rule, now, sink.overflow, resolvedNow);
      } catch {
        sink.touched.clear();
        continue; // a rule must never stop the others
      }
    }
    // alerts of rules that no longer exist (config changed across a restart) are resolved, never lost
    for (const inst of this.instances.values()) {
      if (this.ruleByName.has(inst.rule)) continue;
      this.deleteInstance(inst);
      if (inst.state === 'firing') resolvedNow.push({ rule: inst.rule, alert: { ...this.toAlert(inst), status: 'resolved', endsAt: new Date(now).toISOString() } });
    }
    return resolvedNow;
  }
}
