/**
 * The alerting engine without timers: `ingest` stores points, `evaluate(now)` runs every rule through the
 * Prometheus state machine (inactive -> pending -> firing -> resolved), routes and groups what changed as
 * Alertmanager does, and returns the notifications to send plus a `commit` to call once they were accepted.
 * The clock is whatever `now` the caller passes: the processor passes Date.now(), `vigil test` a fake one.
 */
import crypto from 'node:crypto';
import { parseDuration } from '../../src/duration.ts';
import type { Logger } from '../../src/logger.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import type { Alert, AlertNotification, Batch } from '../../src/model.ts';
import type { AlertsConfig, RouteConfig } from './config.ts';
import { fingerprint, labelsKey } from './fingerprint.ts';
import { type Matcher, formatMatcher, matchAll } from './matchers.ts';
import { type CompiledConfig, type CompiledRule, type ResultSink, RoundMemo, evaluateRuleInto, retentionOf } from './rules.ts';
import { SeriesStore } from './series-store.ts';
import { SilenceSet } from './silences.ts';
import type { SilenceSource } from '../../src/silence-store.ts';
import type { AlertStatus, AmRoute } from '../../src/status.ts';

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * An alert's labels: the group's, then the rule's, then alertname and severity. A label whose value is
 * empty is dropped (a rule label set to "" removes that label), as Prometheus and Alertmanager do.
 */
export function alertLabels(groupLabels: Record<string, string>, ruleLabels: Record<string, string>, alertname: string, severity: string): Record<string, string> {
  const labels: Record<string, string> = { ...groupLabels, ...ruleLabels, alertname, severity };
  for (const k in labels) if (labels[k] === '') delete labels[k];
  return labels;
}

/** The group key of a slot key (see AlertEngine.addInstance). */
function groupOfSlotKey(slotKey: string): string {
  const i = slotKey.indexOf('\u0002');
  return i < 0 ? slotKey : slotKey.slice(0, i);
}

/** The group part of an instance key (`rule \0 severity \0 group`). */
function groupKeyOf(instanceKey: string): string {
  const a = instanceKey.indexOf('\u0000');
  return instanceKey.slice(instanceKey.indexOf('\u0000', a + 1) + 1);
}

interface Instance {
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
}

interface ResolvedAlert {
  rule: string;
  alert: Alert;
}

interface GroupState {
  key: string;
  route: number;
  labels: Record<string, string>;
  createdAt: number;
  nextFlushAt: number;
}

interface InstanceRoute {
  route: Route;
  /** The key of the alert group this alert goes to on this route. */
  key: string;
  labels: Record<string, string>;
}

interface Member {
  group: GroupState;
  route: Route;
  firing: Instance[];
  resolved: ResolvedAlert[];
}

interface Notified {
  status: 'firing' | 'resolved';
  at: number;
}

interface Route {
  index: number;
  matchers: Matcher[];
  exporters: string[];
  continue: boolean;
  groupBy: string[] | 'all';
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  sendResolved: boolean;
  desc: string;
}

/** What the engine persists (JSON). */
export interface EngineState {
  version: 1;
  instances: Instance[];
  resolved: ResolvedAlert[];
  groups: GroupState[];
  notified: [string, string, Notified][];
  absence: Record<string, [string, Record<string, string>, number][]>;
  configSilenceStarts: Record<string, number>;
}

export interface EngineOptions {
  config: AlertsConfig;
  compiled: CompiledConfig;
  /** Absence "since start" counts from here. */
  startedAt: number;
  /**
   * Since when the stored series hold data (default `startedAt`): a window reaching before it is not fully
   * observed and counts as no data for clearing. `vigil test` passes -Infinity (its input is the whole
   * history).
   */
  observedFrom?: number;
  /** Exporter IDs of type `file` (they get resolves of silenced alerts too). */
  isFileExporter: (id: string) => boolean;
  /** Where alerts go when `routes` is empty. */
  defaultExporters: readonly string[];
  /** The daemon's silence set (src/silence-store.ts), or undefined (config silences only). */
  silences?: SilenceSource;
  /** `service.telemetry.endpoint` (host:port): the base URL when `external_url` is not set. */
  telemetryEndpoint?: string;
  /** Where the metric stream reader logs and counts skipped points (default: silent, not counted). */
  logger?: Logger;
  telemetry?: ComponentTelemetry;
}

/** `external_url`, else `http://<telemetry endpoint>` (a wildcard host becomes localhost), else `http://localhost:8888`. */
export function externalUrlOf(externalUrl: string, telemetryEndpoint: string | undefined): string {
  if (externalUrl) return externalUrl.replace(/\/+$/, '');
  if (!telemetryEndpoint) return 'http://localhost:8888';
  const colon = telemetryEndpoint.lastIndexOf(':');
  const host = colon >= 0 ? telemetryEndpoint.slice(0, colon) : telemetryEndpoint;
  const port = colon >= 0 ? telemetryEndpoint.slice(colon) : '';
  const reachable = host === '' || host === '0.0.0.0' || host === '::' || host === '[::]' ? 'localhost' : host;
  return `http://${reachable}${port}`;
}

export interface EvaluationResult {
  notifications: AlertNotification[];
  /** Marks the notifications as sent (call once `emit` accepted them); without it they are retried. */
  commit(): void;
}

const NO_GROUPS: ReadonlyMap<string, number> = new Map();

/** Passes a rule's results to the engine, with what the engine needs about the rule being evaluated. */
class EngineSink implements ResultSink {
  rule: CompiledRule | undefined;
  prefix = '';
  severity = '';
  hasAnnotations = false;
  slot: Map<string, Instance> | undefined;
  now = 0;
  resolvedNow: ResolvedAlert[] | undefined;
  /** The instances given a result this round (kept only for rules whose no_data is not keep_state). */
  readonly touched = new Set<Instance>();
  trackTouched = false;
  constructor(private readonly engine: AlertEngine) {}
  result(key: string, groupLabels: Record<string, string>, severity: string, active: boolean | undefined, value: number): void {
    this.engine.onResult(this, key, groupLabels, severity, active, value);
  }
}

export class AlertEngine {
  readonly store: SeriesStore;
  readonly rules: CompiledRule[];
  private readonly routes: Route[];
  private readonly inhibit: CompiledConfig['inhibit'];
  private readonly instances = new Map<string, Instance>();
  /** The instances per rule and severity (`rule \0 severity`), by group key: found without building their key. */
  private readonly slots = new Map<string, Map<string, Instance>>();
  /** Instances of rules with templated labels, by `rule \0 severity \0 group key`: every label set of a group. */
  private readonly labelVariants = new Map<string, Set<Instance>>();
  /** Group keys (RuleResult.key) with an alert, per rule name. */
  private readonly groupsWithAlerts = new Map<string, Map<string, number>>();
  private resolved: ResolvedAlert[] = [];
  private readonly groups = new Map<string, GroupState>();
  private readonly notified = new Map<string, Map<string, Notified>>();
  private readonly absence = new Map<string, Map<string, { labels: Record<string, string>; at: number }>>();
  private configSilenceStarts: Record<string, number> = {};
  private silences: SilenceSet;
  /** The last evaluation (Unix ms; 0 before the first). */
  lastEvaluationMs = 0;
  private readonly externalURL: string;
  private readonly ruleByName = new Map<string, CompiledRule>();
  private readonly memo = new RoundMemo();
  /** Per rule name: its generatorURL; per instance: its startsAt text (built once, not every round). */
  private readonly generatorURLs = new Map<string, string>();
  private readonly startsAtText = new WeakMap<Instance, { at: number; text: string }>();
  private readonly routing = new WeakMap<Instance, InstanceRoute[]>();

  constructor(private readonly opts: EngineOptions) {
    const { config, compiled } = opts;
    this.rules = compiled.rules;
    for (const r of this.rules) this.ruleByName.set(r.name, r);
    this.externalURL = externalUrlOf(config.external_url, opts.telemetryEndpoint);
    this.store = new SeriesStore({
      maxSeries: config.max_series,
      maxPointsPerSeries: config.max_points_per_series,
      retention: retentionOf(this.rules, parseDuration(config.interval)),
      logger: opts.logger,
      telemetry: opts.telemetry,
      sinceMs: opts.startedAt,
      observedFrom: opts.observedFrom ?? opts.startedAt,
    });
    const d = config.route_defaults;
    const routeOf = (r: RouteConfig, i: number): Route => {
      const groupBy = r.group_by ?? d.group_by;
      return {
        index: i,
        matchers: compiled.routeMatchers[i] ?? [],
        exporters: r.exporters,
        continue: r.continue,
        groupBy: groupBy.includes('...') ? 'all' : groupBy,
        groupWaitMs: parseDuration(r.group_wait ?? d.group_wait),
        groupIntervalMs: parseDuration(r.group_interval ?? d.group_interval),
        repeatIntervalMs: parseDuration(r.repeat_interval ?? d.repeat_interval),
        sendResolved: r.send_resolved ?? d.send_resolved,
        desc: labelsKey({ ...r.match, ...Object.fromEntries(Object.entries(r.match_re).map(([k, v]) => [`${k}=~`, v])) }),
      };
    };
    this.routes = config.routes.length
      ? config.routes.map(routeOf)
      : [routeOf({ match: {}, match_re: {}, exporters: [...opts.defaultExporters], continue: false }, 0)];
    this.inhibit = compiled.inhibit;
    this.silences = this.buildSilences();
  }

  private buildSilences(): SilenceSet {
    const fromConfig = this.opts.config.silences.map((s, i) => {
      const id = `config-${i}-${crypto.createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 12)}`;
      let startsMs = s.starts_at ? Date.parse(s.starts_at) : this.configSilenceStarts[id];
      if (startsMs === undefined) startsMs = this.configSilenceStarts[id] = this.opts.startedAt;
      const endsMs = s.ends_at ? Date.parse(s.ends_at) : startsMs + parseDuration(s.duration ?? '0s');
      return { id, matchers: this.opts.compiled.silences[i]?.matchers ?? [], startsMs, endsMs };
    });
    return new SilenceSet(this.opts.silences, fromConfig);
  }

  /** The config's silences (`silences:`) with their ids and times (Unix ms), in config order. */
  configSilences(): readonly { id: string; startsMs: number; endsMs: number }[] {
    return this.silences.config;
  }

  /** Stores the metric points rules read; returns how many were stored. */
  ingest(batch: Batch, now: number): number {
    return this.store.ingest(batch, now);
  }

  /** Alerts currently firing (for `vigil test` and diagnostics). */
  firing(): Alert[] {
    const out: Alert[] = [];
    for (const inst of this.instances.values()) if (inst.state === 'firing') out.push(this.toAlert(inst));
    return out;
  }

  /** Alerts pending (condition holds, `for` not yet elapsed). */
  pending(): Alert[] {
    const out: Alert[] = [];
    for (const inst of this.instances.values()) if (inst.state === 'pending') out.push(this.toAlert(inst));
    return out;
  }

  /** The routes as Alertmanager config route entries, in matching order. */
  amRoutes(): AmRoute[] {
    const dur = (ms: number) => (ms % 3_600_000 === 0 && ms ? `${ms / 3_600_000}h` : ms % 60_000 === 0 && ms ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
    return this.routes.map((r) => ({
      receiver: r.exporters.join(','),
      ...(r.matchers.length ? { matchers: r.matchers.map(formatMatcher) } : {}),
      group_by: r.groupBy === 'all' ? ['...'] : [...r.groupBy],
      ...(r.continue ? { continue: true } : {}),
      group_wait: dur(r.groupWaitMs),
      group_interval: dur(r.groupIntervalMs),
      repeat_interval: dur(r.repeatIntervalMs),
    }));
  }

  /** Every exporter some route sends alerts to. */
  receiverNames(): string[] {
    return [...new Set(this.routes.flatMap((r) => r.exporters))];
  }

  /** The exporters a label set is routed to (first match wins unless continue). */
  routeExporters(labels: Readonly<Record<string, string>>): string[] {
    const out = new Set<string>();
    for (const r of this.matchRoutes(labels)) for (const e of r.exporters) out.add(e);
    return [...out];
  }

  private matchRoutes(labels: Readonly<Record<string, string>>): Route[] {
    const out: Route[] = [];
    for (const r of this.routes) {
      if (!matchAll(r.matchers, labels)) continue;
      out.push(r);
      if (!r.continue) break;
    }
    return out;
  }

  private slotOf(rule: string, severity: string): Map<string, Instance> {
    const k = `${rule}\u0000${severity}`;
    let m = this.slots.get(k);
    if (!m) this.slots.set(k, (m = new Map()));
    return m;
  }

  /**
   * `slotKey`: the instance's key within its rule and severity: the group key, followed by
   * `\u0002` and its label set when the rule's labels are templates (one group may then hold several
   * alerts, one per label set, as in Prometheus).
   */
  private addInstance(inst: Instance, slotKey: string): void {
    this.instances.set(inst.key, inst);
    const ruleSeverity = inst.key.slice(0, inst.key.length - slotKey.length - 1);
    let slot = this.slots.get(ruleSeverity);
    if (!slot) this.slots.set(ruleSeverity, (slot = new Map()));
    slot.set(slotKey, inst);
    const gk = groupOfSlotKey(slotKey);
    let m = this.groupsWithAlerts.get(inst.rule);
    if (!m) this.groupsWithAlerts.set(inst.rule, (m = new Map()));
    m.set(gk, (m.get(gk) ?? 0) + 1);
    if (gk !== slotKey) {
      const k = `${ruleSeverity}\u0000${gk}`;
      let set = this.labelVariants.get(k);
      if (!set) this.labelVariants.set(k, (set = new Set()));
      set.add(inst);
    }
  }

  private deleteInstance(inst: Instance): void {
    this.instances.delete(inst.key);
    const m = this.groupsWithAlerts.get(inst.rule);
    const slotKey = groupKeyOf(inst.key);
    const ruleSeverity = inst.key.slice(0, inst.key.length - slotKey.length - 1);
    this.slots.get(ruleSeverity)?.delete(slotKey);
    const gk = groupOfSlotKey(slotKey);
    const n = (m?.get(gk) ?? 0) - 1;
    if (n > 0) m!.set(gk, n);
    else m?.delete(gk);
    if (gk !== slotKey) {
      const k = `${ruleSeverity}\u0000${gk}`;
      const set = this.labelVariants.get(k);
      set?.delete(inst);
      if (set?.size === 0) this.labelVariants.delete(k);
    }
  }

  private absenceFor(rule: string): Map<string, { labels: Record<string, string>; at: number }> {
    let m = this.absence.get(rule);
    if (!m) this.absence.set(rule, (m = new Map()));
    return m;
  }

  /** Takes each rule's results (one object for every rule and round: no object per result). */
  private readonly sink = new EngineSink(this);

  /** One result of the rule being evaluated (see EngineSink). */
  onResult(sink: EngineSink, key: string, groupLabels: Record<string, string>, severity: string, active: boolean | undefined, value: number): void {
    const rule = sink.rule!;
    if (rule.labelTemplates) return this.onTemplatedResult(sink, key, groupLabels, severity, active, value);
    const slot = severity === sink.severity ? sink.slot! : this.slotOf(rule.name, severity);
    let inst = slot.get(key);
    if (active === true) {
      if (!inst) {
        inst = this.newInstance(sink, key, alertLabels(groupLabels, rule.labels, rule.name, severity), severity, value);
        this.addInstance(inst, key);
      }
      this.holds(sink, inst, value);
    } else if (active === false && inst) this.lapses(sink, inst, value);
    else if (inst && sink.trackTouched) sink.touched.add(inst);
  }

  /**
   * A result of a rule whose labels are templates (rendered with the value and the group's labels, as
   * Prometheus expands them at each evaluation): a new label set is a new alert, and the group's alerts
   * with another label set no longer hold (Prometheus TestAlertingRuleLabelsUpdate).
   */
  private onTemplatedResult(sink: EngineSink, key: string, groupLabels: Record<string, string>, severity: string, active: boolean | undefined, value: number): void {
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
      if (!current) {
        current = this.newInstance(sink, slotKey, labels, severity, value);
        this.addInstance(current, slotKey);
      }
      this.holds(sink, current, value);
    }
    if (!variants) return;
    for (const inst of [...variants]) {
      if (inst === current) continue;
      if (active === undefined) {
        if (sink.trackTouched) sink.touched.add(inst);
      } else this.lapses(sink, inst, value);
    }
  }

  private newInstance(sink: EngineSink, slotKey: string, labels: Record<string, string>, severity: string, value: number): Instance {
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
    };
  }

  /** The condition holds for `inst` at this evaluation: pending until `for` has passed, then firing. */
  private holds(sink: EngineSink, inst: Instance, value: number): void {
    const now = sink.now;
    if (sink.trackTouched) sink.touched.add(inst);
    inst.lastTrueAt = now;
    inst.keepFiringSince = undefined;
    inst.value = value;
    if (sink.hasAnnotations) inst.annotations = this.render(sink.rule!, inst.labels, value);
    if (inst.state === 'pending' && now - inst.activeSince >= sink.rule!.forMs) {
      inst.state = 'firing';
      inst.firingSince = now;
    }
  }

  /** The condition no longer holds for `inst`: a pending alert is dropped, a firing one resolves after keep_firing_for. */
  private lapses(sink: EngineSink, inst: Instance, value: number): void {
    const now = sink.now;
    const rule = sink.rule!;
    if (sink.trackTouched) sink.touched.add(inst);
    // A window not yet observed for its full length since this store began (a restart, a new rule after
    // a reload) counts as no data for clearing: the alert neither resolves nor loses its `for` clock
    // because vigil restarted. (Not for absent_for rules, whose clearing is data coming back.)
    if (rule.absentForMs === undefined && !this.fullyObserved(rule, now)) return;
    inst.value = value;
    if (inst.state === 'pending') {
      this.deleteInstance(inst);
      return;
    }
    // Prometheus: keep_firing_for counts from the first evaluation at which the condition is false
    inst.keepFiringSince ??= now;
    if (now - inst.keepFiringSince >= rule.keepFiringForMs) {
      this.deleteInstance(inst);
      sink.resolvedNow!.push({ rule: rule.name, alert: { ...this.toAlert(inst), status: 'resolved', endsAt: new Date(now).toISOString() } });
    }
  }

  /**
   * After a rule whose no_data is not keep_state: its alerts whose group got no result at all this round
   * (every series of the group gone from the store) are given the rule's no-data outcome.
   */
  private settleUnreported(sink: EngineSink): void {
    const rule = sink.rule!;
    const severities = new Set([rule.severity, ...(rule.slo?.pairs.map((p) => p.severity) ?? [])]);
    for (const severity of severities) {
      const slot = this.slots.get(`${rule.name}\u0000${severity}`);
      if (!slot?.size) continue;
      for (const inst of [...slot.values()]) {
        if (sink.touched.has(inst)) continue;
        if (rule.noDataActive) this.holds(sink, inst, NaN);
        else this.lapses(sink, inst, NaN);
      }
    }
    sink.touched.clear();
  }

  /** Whether every metric `rule` reads has been observed for its whole window (capped at the retention kept) by `now`. */
  private fullyObserved(rule: CompiledRule, now: number): boolean {
    for (const [metric, span] of rule.needs) if (now - Math.min(rule.windowMs, span) < this.store.observedSince(metric)) return false;
    return true;
  }

  /** Runs every rule at `now`, then routing; see {@link EvaluationResult}. */
  evaluate(now: number): EvaluationResult {
    this.lastEvaluationMs = now;
    this.store.prune(now);
    this.silences.refresh();
    const resolvedNow: ResolvedAlert[] = [];
    const sink = this.sink;
    sink.now = now;
    sink.resolvedNow = resolvedNow;
    for (const rule of this.rules) {
      sink.rule = rule;
      sink.prefix = `${rule.name}\u0000`;
      sink.hasAnnotations = Object.keys(rule.annotations).length > 0;
      sink.severity = rule.severity;
      sink.slot = this.slotOf(rule.name, rule.severity);
      sink.trackTouched = rule.noDataActive !== undefined;
      try {
        evaluateRuleInto(rule, this.store, now, { lastSeen: this.absenceFor(rule.name), startedAt: this.opts.startedAt }, this.memo, this.groupsWithAlerts.get(rule.name) ?? NO_GROUPS, sink);
        if (sink.trackTouched) this.settleUnreported(sink);
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
    this.resolved.push(...resolvedNow);
    return this.dispatch(now);
  }

  private render(rule: CompiledRule, labels: Record<string, string>, value: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, t] of Object.entries(rule.annotations)) {
      try {
        out[k] = t.render({ value, threshold: rule.threshold, labels });
      } catch (e) {
        out[k] = `template error: ${(e as Error).message}`;
      }
    }
    return out;
  }

  private toAlert(inst: Instance): Alert {
    let url = this.generatorURLs.get(inst.rule);
    if (url === undefined) this.generatorURLs.set(inst.rule, (url = `${this.externalURL}/alerts?rule=${encodeURIComponent(inst.rule)}`));
    let starts = this.startsAtText.get(inst);
    if (!starts || starts.at !== inst.activeSince) this.startsAtText.set(inst, (starts = { at: inst.activeSince, text: new Date(inst.activeSince).toISOString() }));
    return {
      status: 'firing',
      labels: inst.labels,
      annotations: inst.annotations,
      startsAt: starts.text,
      endsAt: ZERO_TIME,
      generatorURL: url,
      fingerprint: inst.fingerprint,
      value: inst.value,
    };
  }

  private isInhibited(alert: Instance, firing: readonly Instance[]): boolean {
    return this.inhibitors(alert, firing, true).length > 0;
  }

  /** Fingerprints of the firing alerts that inhibit `alert` (the first only, when `first`). */
  private inhibitors(alert: Instance, firing: readonly Instance[], first = false): string[] {
    const out: string[] = [];
    for (const rule of this.inhibit) {
      if (!matchAll(rule.target, alert.labels)) continue;
      for (const src of firing) {
        if (src.fingerprint === alert.fingerprint) continue;
        if (!matchAll(rule.source, src.labels)) continue;
        if (rule.equal.every((l) => (src.labels[l] ?? '') === (alert.labels[l] ?? ''))) {
          if (!out.includes(src.fingerprint)) out.push(src.fingerprint);
          if (first) return out;
        }
      }
    }
    return out;
  }

  /**
   * Every pending and firing alert as the status page and the Alertmanager API show it, with the
   * silences and inhibitions in force at `now` (the silence set is re-read first, so a silence just
   * added shows at once; notifications follow at the next evaluation). `endsAt` is the last evaluation
   * plus `resolveAfterMs`, as Prometheus sends alerts to Alertmanager.
   */
  statusAlerts(now: number, resolveAfterMs: number): AlertStatus[] {
    this.silences.refresh();
    const firingInst: Instance[] = [];
    for (const inst of this.instances.values()) if (inst.state === 'firing') firingInst.push(inst);
    const updated = new Date(this.lastEvaluationMs || now).toISOString();
    const ends = new Date((this.lastEvaluationMs || now) + resolveAfterMs).toISOString();
    const out: AlertStatus[] = [];
    for (const inst of this.instances.values()) {
      const a = this.toAlert(inst);
      const routes = this.routingOf(inst);
      const receivers = [...new Set(routes.flatMap((r) => r.route.exporters))];
      out.push({
        labels: { ...a.labels },
        annotations: { ...a.annotations },
        state: inst.state,
        startsAt: a.startsAt,
        updatedAt: updated,
        endsAt: ends,
        fingerprint: a.fingerprint,
        generatorURL: a.generatorURL,
        value: Number.isFinite(a.value) ? a.value : null,
        rule: inst.rule,
        receivers,
        groups: routes.map((r) => ({ labels: { ...r.labels }, receiver: r.route.exporters.join(',') })),
        inhibitedBy: inst.state === 'firing' && this.inhibit.length ? this.inhibitors(inst, firingInst) : [],
        silencedBy: this.silences.allSilencing(inst.labels, now),
      });
    }
    return out;
  }

  /** The routes an instance's labels match, with its group key and labels in each (labels never change: computed once). */
  private routingOf(inst: Instance): InstanceRoute[] {
    let r = this.routing.get(inst);
    if (!r) this.routing.set(inst, (r = this.routesFor(inst.labels)));
    return r;
  }

  private routesFor(labels: Record<string, string>): InstanceRoute[] {
    return this.matchRoutes(labels).map((route) => {
      const gl: Record<string, string> = {};
      if (route.groupBy === 'all') Object.assign(gl, labels);
      else for (const l of route.groupBy) if (labels[l] !== undefined && labels[l] !== '') gl[l] = labels[l]!;
      return { route, key: `{}/${route.index}${route.desc}:${labelsKey(gl)}`, labels: gl };
    });
  }

  private dispatch(now: number): EvaluationResult {
    const firingInst: Instance[] = [];
    for (const inst of this.instances.values()) if (inst.state === 'firing') firingInst.push(inst);
    const muted = new Set<string>();
    if (this.silences.any() || this.inhibit.length)
      for (const a of firingInst) if (this.silences.silencedBy(a.labels, now) || this.isInhibited(a, firingInst)) muted.add(a.fingerprint);
    const resolvedSilenced = new Set<string>();
    for (const r of this.resolved) if (this.silences.silencedBy(r.alert.labels, now)) resolvedSilenced.add(r.alert.fingerprint);

    // alerts per group
    const members = new Map<string, Member>();
    const memberOf = (ir: InstanceRoute): Member => {
      let m = members.get(ir.key);
      if (!m) {
        const group = this.groups.get(ir.key) ?? { key: ir.key, route: ir.route.index, labels: ir.labels, createdAt: now, nextFlushAt: now + ir.route.groupWaitMs };
        members.set(ir.key, (m = { group, route: ir.route, firing: [], resolved: [] }));
      }
      return m;
    };
    for (const inst of firingInst) for (const ir of this.routingOf(inst)) memberOf(ir).firing.push(inst);
    for (const r of this.resolved) for (const ir of this.routesFor(r.alert.labels)) memberOf(ir).resolved.push(r);

    const notifications: AlertNotification[] = [];
    const marks: { exporter: string; fp: string; n: Notified | undefined }[] = [];
    const flushed: GroupState[] = [];
    // an exporter reached through several routes gets each alert once per round
    const planned = new Set<string>();
    // the Alert objects of this round (built only for the alerts notified)
    const alertOf = new Map<Instance, Alert>();
    for (const m of members.values()) {
      const { group, route } = m;
      const flushDue = now >= group.nextFlushAt;
      if (flushDue && m.firing.length) flushed.push(group);
      if (!flushDue && m.resolved.length === 0) continue;
      const byDueSet = new Map<string, { exporters: string[]; alerts: Alert[] }>();
      for (const exporter of route.exporters) {
        const due: Alert[] = [];
        const sent = this.notified.get(exporter);
        if (flushDue) {
          for (const inst of m.firing) {
            if (muted.has(inst.fingerprint)) continue;
            const last = sent?.get(inst.fingerprint);
            const repeatMs = this.ruleByName.get(inst.labels.alertname!)?.repeatIntervalMs ?? route.repeatIntervalMs;
            if ((!last || last.status !== 'firing' || now - last.at >= repeatMs) && !planned.has(`${exporter}\u0000${inst.fingerprint}`)) {
              let a = alertOf.get(inst);
              if (!a) alertOf.set(inst, (a = this.toAlert(inst)));
              due.push(a);
            }
          }
        }
        for (const r of m.resolved) {
          const last = sent?.get(r.alert.fingerprint);
          // a silenced alert's resolve goes to file exporters only, so that the record is complete
          const ok = resolvedSilenced.has(r.alert.fingerprint) ? this.opts.isFileExporter(exporter) : last?.status === 'firing';
          if (route.sendResolved && ok && !planned.has(`${exporter}\u0000${r.alert.fingerprint}`)) due.push(r.alert);
        }
        if (!due.length) continue;
        for (const a of due) planned.add(`${exporter}\u0000${a.fingerprint}`);
        const sig = due.map((a) => `${a.fingerprint}:${a.status}`).join(',');
        let entry = byDueSet.get(sig);
        if (!entry) byDueSet.set(sig, (entry = { exporters: [], alerts: due }));
        entry.exporters.push(exporter);
        for (const a of due) marks.push({ exporter, fp: a.fingerprint, n: a.status === 'firing' ? { status: 'firing', at: now } : undefined });
      }
      for (const { exporters, alerts } of byDueSet.values()) notifications.push(this.notification(group, exporters, alerts));
    }

    return {
      notifications,
      commit: () => {
        for (const m of members.values()) if (!this.groups.has(m.group.key)) this.groups.set(m.group.key, m.group);
        for (const g of flushed) g.nextFlushAt = now + this.routes[g.route]!.groupIntervalMs;
        for (const mk of marks) {
          let sent = this.notified.get(mk.exporter);
          if (!sent) this.notified.set(mk.exporter, (sent = new Map()));
          if (mk.n) sent.set(mk.fp, mk.n);
          else sent.delete(mk.fp);
        }
        this.resolved = [];
        // forget groups with nothing firing, and notification records of alerts no longer firing
        for (const key of this.groups.keys()) {
          const m = members.get(key);
          if (!m || m.firing.length === 0) this.groups.delete(key);
        }
        if (this.notified.size) {
          const firingFps = new Set<string>();
          for (const inst of firingInst) firingFps.add(inst.fingerprint);
          for (const [exp, sent] of this.notified) {
            for (const fp of sent.keys()) if (!firingFps.has(fp)) sent.delete(fp);
            if (sent.size === 0) this.notified.delete(exp);
          }
        }
      },
    };
  }

  private notification(group: GroupState, exporters: string[], alerts: Alert[]): AlertNotification {
    const common = (pick: (a: Alert) => Record<string, string>): Record<string, string> => {
      const first = pick(alerts[0]!);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(first)) if (alerts.every((a) => pick(a)[k] === v)) out[k] = v;
      return out;
    };
    return {
      exporters,
      groupKey: group.key,
      status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
      groupLabels: { ...group.labels },
      commonLabels: common((a) => a.labels),
      commonAnnotations: common((a) => a.annotations),
      externalURL: this.externalURL,
      alerts,
    };
  }

  // ---------------------------------------------------------------------------------------- persistence

  snapshot(): EngineState {
    const notified: [string, string, Notified][] = [];
    for (const [exp, sent] of this.notified) for (const [fp, n] of sent) notified.push([exp, fp, n]);
    const absence: EngineState['absence'] = {};
    for (const [rule, m] of this.absence) if (m.size) absence[rule] = [...m].map(([k, v]) => [k, v.labels, v.at]);
    return {
      version: 1,
      instances: [...this.instances.values()],
      resolved: this.resolved,
      groups: [...this.groups.values()],
      notified,
      absence,
      configSilenceStarts: this.configSilenceStarts,
    };
  }

  /** Restores a snapshot taken by a previous run (unknown or malformed parts are skipped). */
  restore(state: EngineState): void {
    if (!state || state.version !== 1) return;
    for (const inst of state.instances ?? []) {
      if (!inst || typeof inst.key !== 'string' || typeof inst.rule !== 'string' || typeof inst.labels !== 'object') continue;
      this.addInstance({ ...inst, value: inst.value ?? NaN }, groupKeyOf(inst.key));
    }
    this.resolved = Array.isArray(state.resolved) ? state.resolved.filter((r) => r && r.alert) : [];
    for (const g of state.groups ?? []) if (g && typeof g.key === 'string' && this.routes[g.route]) this.groups.set(g.key, g);
    for (const [exp, fp, n] of state.notified ?? []) {
      let sent = this.notified.get(exp);
      if (!sent) this.notified.set(exp, (sent = new Map()));
      sent.set(fp, n);
    }
    for (const [rule, list] of Object.entries(state.absence ?? {})) {
      if (!this.ruleByName.get(rule)?.absentForMs) continue;
      const m = this.absenceFor(rule);
      for (const [k, labels, at] of list) m.set(k, { labels, at });
    }
    this.configSilenceStarts = { ...(state.configSilenceStarts ?? {}) };
    this.silences = this.buildSilences();
  }
}
