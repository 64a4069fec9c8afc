/**
 * The alerting engine without timers: `ingest` stores points, `evaluate(now)` runs every rule through the
 * Prometheus state machine (rule-state.ts), then the dispatcher (dispatcher.ts) groups and routes the
 * alerts through the route tree (routes.ts) as Alertmanager does, and returns the notifications to send
 * plus a `commit` to call with which exporters accepted them.
 * The clock is whatever `now` the caller passes: the processor passes Date.now(), `vigil test` a fake one.
 */
import crypto from 'node:crypto';
import { savedStringMap } from '../../src/atomic-file.ts';
import { parseDuration } from '../../src/duration.ts';
import type { Logger } from '../../src/logger.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import type { Alert, Batch } from '../../src/model.ts';
import type { AlertsConfig } from './config.ts';
import { type DispatchResult, Dispatcher, type DispatcherState } from './dispatcher.ts';
import { type CompiledConfig, type CompiledRule, retentionOf } from './rules.ts';
import { type Instance, type ResolvedAlert, RuleState, ZERO_TIME, groupKeyOf } from './rule-state.ts';
import { type RouteNode, walkRoutes } from './routes.ts';
import type { SilenceSource } from '../../src/silence-store.ts';
import type { AlertStatus, AmRoute } from '../../src/status.ts';
import { formatMatcher } from '../../src/matchers.ts';
import { SeriesStore } from './series-store.ts';
import { SilenceSet } from './silences.ts';

export { ZERO_TIME } from './rule-state.ts';

/** What the engine persists (JSON). Version 1 (before the route tree) is still read. */
export interface EngineState {
  version: 2;
  instances: Instance[];
  dispatcher: DispatcherState;
  absence: Record<string, [string, Record<string, string>, number][]>;
  configSilenceStarts: Record<string, number>;
}

interface EngineStateV1 {
  version: 1;
  instances: Instance[];
  resolved?: ResolvedAlert[];
  notified?: [string, string, { status: string; at: number }][];
  absence?: EngineState['absence'];
  configSilenceStarts?: Record<string, number>;
}

/**
 * What an {@link AlertEngine} is built with: the config and its compiled form, the start time and the time
 * from which data is observed (Unix ms), and optional logging, telemetry and exporter capabilities.
 */
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
  /** Where the metric stream reader logs and counts skipped points (default: silent, not counted). */
  logger?: Logger;
  telemetry?: ComponentTelemetry;
  /** Whether an exporter keeps resolved alerts of silenced groups (its declared capability). */
  keepsSilencedResolves: (id: string) => boolean;
  /** Whether an exporter takes resolved alerts (its declared capability, its own `send_resolved`); default: all do. */
  sendsResolved?: (id: string) => boolean;
  /** Whether an exporter must learn of every resolve (its declared capability, `keepsEveryResolve`); default: none. */
  keepsEveryResolve?: (id: string) => boolean;
  /** Where alerts go when the root route names no exporters: every exporter that receives this processor's alerts. */
  defaultExporters: readonly string[];
  /** The daemon's silence set (src/silence-store.ts), or undefined (config silences only). */
  silences?: SilenceSource;
  /** `service.telemetry.endpoint` (host:port): the base URL when `external_url` is not set. */
  telemetryEndpoint?: string;
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

/**
 * An alert's generatorURL path on the telemetry endpoint: the status page opens the rule there (the
 * human view); the same rule and its current alerts as JSON are at {@link ruleJsonPath}.
 */
export function rulePath(ruleName: string): string {
  return `/alerts?rule=${encodeURIComponent(ruleName)}`;
}

/** Where `GET` answers a rule's JSON description and its current alerts (see AlertEngine.describeRule). */
export function ruleJsonPath(ruleName: string): string {
  return `/api/v1/rules/${encodeURIComponent(ruleName)}`;
}

/** What one evaluation returns: the round's notifications and the `commit` that records which were accepted. */
export type EvaluationResult = DispatchResult;

/**
 * The alerting engine without timers (see this file's comment): `ingest` stores points, `evaluate(nowMs)` runs
 * the rules, the state machine and the dispatcher; its state is saved and restored as {@link EngineState}.
 */
export class AlertEngine {
  readonly store: SeriesStore;
  readonly rules: CompiledRule[];
  readonly state: RuleState;
  readonly dispatcher: Dispatcher;
  private configSilenceStarts: Record<string, number> = {};
  private silences: SilenceSet;
  readonly externalURL: string;
  /** The last evaluation (Unix ms; 0 before the first). */
  lastEvaluationMs = 0;
  /** Per rule name: its generatorURL; per instance: its startsAt text (built once, not every round). */
  private readonly generatorURLs = new Map<string, string>();
  private readonly startsAtText = new WeakMap<Instance, { at: number; text: string }>();

  constructor(private readonly opts: EngineOptions) {
    const { config, compiled } = opts;
    this.rules = compiled.rules;
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
    this.state = new RuleState(this.rules, opts.startedAt, (inst) => this.toAlert(inst));
    this.dispatcher = new Dispatcher({
      route: compiled.route,
      inhibit: compiled.inhibit,
      timeIntervals: compiled.timeIntervals,
      externalURL: this.externalURL,
      exportersOf: (list) => (list === 'default' ? opts.defaultExporters : list),
      keepsSilencedResolves: opts.keepsSilencedResolves,
      sendsResolved: opts.sendsResolved,
      keepsEveryResolve: opts.keepsEveryResolve,
      ruleRepeatMs: (name) => this.state.rule(name)?.repeatIntervalMs,
      maxGroups: config.max_aggregation_groups,
      logger: opts.logger,
      telemetry: opts.telemetry,
    });
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

  /** The route tree as Alertmanager's config writes it (receivers named by their exporter lists). */
  amRoutes(): AmRoute[] {
    const dur = (ms: number) => (ms % 3_600_000 === 0 && ms ? `${ms / 3_600_000}h` : ms % 60_000 === 0 && ms ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
    const node = (r: RouteNode): AmRoute => ({
      receiver: this.receiverOf(r),
      ...(r.matchers.length ? { matchers: r.matchers.map(formatMatcher) } : {}),
      group_by: r.groupBy === 'all' ? ['...'] : [...r.groupBy],
      ...(r.continue ? { continue: true } : {}),
      group_wait: dur(r.groupWaitMs),
      group_interval: dur(r.groupIntervalMs),
      repeat_interval: dur(r.repeatIntervalMs),
      ...(r.routes.length ? { routes: r.routes.map(node) } : {}),
    });
    return [node(this.opts.compiled.route)];
  }

  /**
   * The Alertmanager receiver name of a route: the `receivers` entry it names, else its exporter list joined
   * by commas (`slack,pagerduty`), else `vigil` (an empty list: Alertmanager's root receiver, which sends
   * nothing). The API's alerts, groups, `receiver=` filter, receivers list and route tree all use this name.
   */
  receiverOf(route: RouteNode): string {
    return route.receiver ?? (this.dispatcher.exportersOf(route).join(',') || 'vigil');
  }

  /** The receiver name of every route (see {@link AlertEngine.receiverOf}), as Alertmanager lists its receivers. */
  receiverNames(): string[] {
    const out = new Set<string>();
    walkRoutes(this.opts.compiled.route, (n) => void out.add(this.receiverOf(n)));
    return [...out];
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
    for (const inst of this.state.instances.values()) if (inst.state === 'firing') firingInst.push(inst);
    const updated = new Date(this.lastEvaluationMs || now).toISOString();
    const ends = new Date((this.lastEvaluationMs || now) + resolveAfterMs).toISOString();
    const out: AlertStatus[] = [];
    for (const inst of this.state.instances.values()) {
      const a = this.toAlert(inst);
      const groups = this.dispatcher.groupsOf(inst);
      // Alertmanager's receivers of an alert: the receiver of each route it matches, in route order
      const receivers = [...new Set(groups.map((g) => this.receiverOf(g.route)))];
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
        groups: groups.map((g) => ({ labels: { ...g.labels }, receiver: this.receiverOf(g.route) })),
        inhibitedBy: inst.state === 'firing' && this.dispatcher.inhibits ? this.dispatcher.inhibitors(inst.labels, firingInst) : [],
        silencedBy: this.silences.allSilencing(inst.labels, now),
      });
    }
    return out;
  }

  /** Stores the metric points rules read; returns how many were stored. */
  ingest(batch: Batch, now: number): number {
    return this.store.ingest(batch, now);
  }

  /** Alerts currently firing (for `vigil test` and diagnostics). */
  firing(): Alert[] {
    const out: Alert[] = [];
    for (const inst of this.state.instances.values()) if (inst.state === 'firing') out.push(this.toAlert(inst));
    return out;
  }

  /** Alerts pending (condition holds, `for` not yet elapsed). */
  pending(): Alert[] {
    const out: Alert[] = [];
    for (const inst of this.state.instances.values()) if (inst.state === 'pending') out.push(this.toAlert(inst));
    return out;
  }

  /** The route nodes a label set goes to, in tree order (Alertmanager's Route.Match). */
  routesFor(labels: Readonly<Record<string, string>>): RouteNode[] {
    return this.dispatcher.routesFor(labels);
  }

  /** The exporters a label set is routed to, in tree order, each once. */
  routeExporters(labels: Readonly<Record<string, string>>): string[] {
    const out = new Set<string>();
    for (const r of this.routesFor(labels)) for (const e of this.dispatcher.exportersOf(r)) out.add(e);
    return [...out];
  }

  /**
   * What `GET /api/v1/rules/NAME` on the telemetry endpoint answers for this engine (the JSON behind an alert's
   * generatorURL): the rule as configured and its current alerts (firing and pending), each with its
   * state, labels, annotations, activeAt (RFC 3339), value, fingerprint and whether a silence mutes it;
   * undefined when no rule has that name.
   */
  describeRule(name: string, now = Date.now()): { rule: unknown; alerts: unknown[] } | undefined {
    const config = this.opts.config.rules.find((r) => r.name === name);
    if (!config) return undefined;
    const alerts = [...this.state.instances.values()]
      .filter((i) => i.rule === name)
      .map((i) => ({
        state: i.state,
        labels: i.labels,
        annotations: i.annotations,
        activeAt: new Date(i.activeSince).toISOString(),
        value: Number.isFinite(i.value) ? i.value : null,
        fingerprint: i.fingerprint,
        silencedBy: this.silences.silencedBy(i.labels, now) ?? null,
        exporters: this.routeExporters(i.labels),
      }));
    return { rule: config, alerts };
  }

  /** Whether a label set is silenced at `now`. */
  silencedBy(labels: Readonly<Record<string, string>>, now: number): string | undefined {
    return this.silences.silencedBy(labels, now);
  }

  /** Runs every rule at `now`, then dispatch; see {@link DispatchResult}. */
  evaluate(now: number): EvaluationResult {
    this.lastEvaluationMs = now;
    this.store.prune(now);
    this.silences.refresh();
    const resolvedNow = this.state.evaluate(this.store, now);
    const firing: Instance[] = [];
    for (const inst of this.state.instances.values()) if (inst.state === 'firing') firing.push(inst);
    return this.dispatcher.dispatch(now, firing, resolvedNow, this.silences, (i) => this.toAlert(i));
  }

  private toAlert(inst: Instance): Alert {
    let url = this.generatorURLs.get(inst.rule);
    if (url === undefined) this.generatorURLs.set(inst.rule, (url = `${this.externalURL}${rulePath(inst.rule)}`));
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

  // ---------------------------------------------------------------------------------------- persistence

  snapshot(): EngineState {
    const absence: EngineState['absence'] = {};
    for (const [rule, m] of this.state.absence) if (m.size) absence[rule] = [...m].map(([k, v]) => [k, v.labels, v.at]);
    return {
      version: 2,
      instances: [...this.state.instances.values()],
      dispatcher: this.dispatcher.snapshot(),
      absence,
      configSilenceStarts: this.configSilenceStarts,
    };
  }

  /**
   * Restores a snapshot taken by a previous run (unknown or malformed parts are skipped); returns how many saved
   * alert instances were skipped as malformed (one kept would fail every evaluation after it).
   */
  restore(state: EngineState | EngineStateV1, now = Date.now()): number {
    if (!state || (state.version !== 1 && state.version !== 2)) return 0;
    let skipped = 0;
    for (const inst of state.instances ?? []) {
      const ok = savedInstance(inst);
      if (!ok) {
        skipped++;
        continue;
      }
      this.state.restoreInstance(ok, groupKeyOf(ok.key));
    }
    if (state.version === 2) this.dispatcher.restore(state.dispatcher);
    else {
      const firing = [...this.state.instances.values()].filter((i) => i.state === 'firing');
      this.dispatcher.restoreV1(firing, Array.isArray(state.notified) ? state.notified : [], now);
    }
    for (const [rule, list] of Object.entries(state.absence ?? {})) {
      if (!this.state.rule(rule)?.absentForMs) continue;
      const m = this.state.absenceFor(rule);
      // in place when the entry exists: the rules keep references to entries (rules.ts absenceEntriesOf)
      for (const [k, labels, at] of list) {
        const e = m.get(k);
        if (e) {
          e.labels = labels;
          e.at = at;
        } else m.set(k, { labels, at });
      }
    }
    this.configSilenceStarts = { ...(state.configSilenceStarts ?? {}) };
    this.silences = this.buildSilences();
    return skipped;
  }
}

/** A saved instance checked and normalised, or undefined when its shape cannot be evaluated against (wrong types). */
function savedInstance(x: unknown): Instance | undefined {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return undefined;
  const inst = x as Partial<Record<keyof Instance, unknown>>;
  if (typeof inst.key !== 'string' || typeof inst.rule !== 'string' || typeof inst.fingerprint !== 'string') return undefined;
  if (inst.state !== 'pending' && inst.state !== 'firing') return undefined;
  const labels = savedStringMap(inst.labels);
  const annotations = inst.annotations === undefined ? {} : savedStringMap(inst.annotations);
  if (!labels || !annotations) return undefined;
  const time = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (!time(inst.activeSince) || !time(inst.lastTrueAt)) return undefined;
  if (inst.firingSince != null && !time(inst.firingSince)) return undefined;
  if (inst.keepFiringSince != null && !time(inst.keepFiringSince)) return undefined;
  if (inst.groupBy !== undefined && typeof inst.groupBy !== 'string') return undefined;
  return {
    ...(x as Instance),
    labels,
    annotations,
    firingSince: (inst.firingSince as number | null | undefined) ?? undefined,
    keepFiringSince: (inst.keepFiringSince as number | null | undefined) ?? undefined,
    value: typeof inst.value === 'number' ? inst.value : NaN,
  };
}

