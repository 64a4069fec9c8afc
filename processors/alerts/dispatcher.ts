/**
 * The dispatcher: groups firing alerts per route as Alertmanager's dispatcher does, and decides, per
 * exporter, when a group is notified, as Alertmanager's notification pipeline does (notify/dedup_stage.go,
 * with a notification log per group and exporter).
 *
 * - An alert goes into one group per route it matches (routes.ts); the group is keyed by Alertmanager's
 *   group key. A new group waits `group_wait`, then is flushed every `group_interval`; as in Alertmanager, a
 *   group not flushed yet is flushed at once when one of its alerts started more than `group_wait` ago (an
 *   alert that was pending for its rule's `for`).
 * - A flush sends each exporter of the route the group's current state: every alert of the group that is
 *   not muted, the firing ones and those resolved since the group was last flushed, sorted as Alertmanager
 *   sorts them (labels `job`, then `instance`, then the label sets); `status` is `firing` while any alert in
 *   it fires, `commonLabels` / `commonAnnotations` are taken over all of them.
 * - Per exporter, a flush is sent only when Alertmanager's DedupStage would send it: the first time the
 *   group has a firing alert, when the firing set has an alert the exporter was not told of, when every
 *   alert resolved and the exporter had been told of firing ones, when alerts resolved and `send_resolved`
 *   is on, and when `repeat_interval` passed since the last notification to that exporter.
 * - Unlike Alertmanager, a group already notified is flushed at the evaluation at which one of its alerts
 *   resolves, not at its next `group_interval` tick (the resolve goes out at once).
 * - Muting: silenced and inhibited alerts are left out of notifications (Alertmanager's MuteStage); an
 *   exporter that keeps resolved alerts of silenced groups (the file exporter) still gets their resolves.
 *   A flush in which every alert of the group is muted sends nothing and leaves the notification log as it
 *   was (Alertmanager's MuteStage ends the pipeline before DedupStage), so unmuting an alert already told of
 *   is not news.
 *   A route's `mute_time_intervals` / `active_time_intervals` mute the whole flush (the alerts are still
 *   evaluated and recorded, and the notification log is not advanced, so the group is notified once the
 *   interval ends).
 * - Delivery is tracked per exporter and group: `commit` takes which notifications each exporter accepted.
 *   An exporter that accepted is never given the same notification again because another refused (or
 *   because it refused another group's); a refused notification is retried for that exporter alone at the
 *   next evaluation, with the group's state at that time.
 * - Bounded: at most `maxGroups` aggregation groups per route (the alerts processor's
 *   `max_aggregation_groups`, default {@link DEFAULT_MAX_AGGREGATION_GROUPS}), after the group limit of
 *   Alertmanager's dispatcher (dispatch.go, `alertmanager_dispatcher_aggregation_group_limit_reached_total`).
 *   Alertmanager drops an alert that would open a group past the limit; here it goes to the route's one
 *   overflow group instead (group labels `{group_overflow="true"}`), so it is still notified, in one
 *   notification with every other alert past the limit, and the alerts that did so are counted
 *   (`vigil_processor_aggregation_group_limit_reached_total`) and logged at most once a minute. The same
 *   happens when the process's memory budget (src/memory-budget.ts) is full: groups are accounted there
 *   (store `processor/alerts aggregation groups`). An alert storm over a high-cardinality `group_by`
 *   therefore costs at most `maxGroups + 1` groups and notifications per route and exporter, whatever the
 *   rules' own `limit`.
 */
import type { Counter } from '@opentelemetry/api';
import type { Logger } from '../../src/logger.ts';
import { type BudgetAccount, labelsBytes, memoryBudget, stringBytes } from '../../src/memory-budget.ts';
import type { Alert, AlertNotification } from '../../src/model.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import { goCompare } from '../../src/go-quote.ts';
import { type Matcher, matchAll } from '../../src/matchers.ts';
import type { Instance, ResolvedAlert } from './rule-state.ts';
import { type CompiledInhibit, type ExporterList, type RouteNode, groupKeyOf, groupLabelsOf, matchRoute, walkRoutes } from './routes.ts';
import type { SilenceSet } from './silences.ts';
import { type TimeIntervals, inAnyInterval } from './time-intervals.ts';

/** Aggregation groups per route when the config does not say (`max_aggregation_groups`). */
export const DEFAULT_MAX_AGGREGATION_GROUPS = 1000;

/** The group labels of a route's overflow group (the alerts past `max_aggregation_groups`). */
export const OVERFLOW_GROUP_LABELS: Readonly<Record<string, string>> = Object.freeze({ group_overflow: 'true' });

/** The overflow group is logged about at most this often (ms). */
const LIMIT_LOG_EVERY_MS = 60_000;

/** A resolved alert stays in its group at most this long while an exporter keeps refusing it (Alertmanager's notification log retention). */
export const RESOLVED_RETENTION_MS = 120 * 3_600_000;

/**
 * What a {@link Dispatcher} is built with: the compiled route tree, inhibition rules and time intervals, the
 * external URL, and how to resolve exporter lists, capabilities and per-rule repeat intervals (ms).
 */
export interface DispatcherOptions {
  route: RouteNode;
  inhibit: CompiledInhibit[];
  timeIntervals: TimeIntervals;
  externalURL: string;
  /** Resolves `'default'` (every exporter that receives this processor's alerts). */
  exportersOf: (list: ExporterList) => readonly string[];
  /** Whether an exporter keeps resolved alerts of silenced groups (declared capability). */
  keepsSilencedResolves: (exporterId: string) => boolean;
  /**
   * Whether an exporter takes resolved alerts (declared capability: its own `send_resolved`; default true).
   * As an Alertmanager integration's `send_resolved`, `false` means a resolve alone is no news to it, the
   * resolved alerts are left out of its notifications, and the sooner resolve flush is not for it.
   */
  sendsResolved?: (exporterId: string) => boolean;
  /**
   * Whether an exporter must learn of every resolve (declared capability `keepsEveryResolve`: the alertmanager
   * exporter, which re-sends what it was told fires): resolves of silenced and inhibited alerts, whatever the
   * route's and its own `send_resolved`, and those of a time-muted route once the mute ends.
   */
  keepsEveryResolve?: (exporterId: string) => boolean;
  /** A rule's own `repeat_interval`, by alertname, if it sets one. */
  ruleRepeatMs: (alertname: string) => number | undefined;
  /** Aggregation groups per route (default {@link DEFAULT_MAX_AGGREGATION_GROUPS}); past it, the overflow group. */
  maxGroups?: number;
  /** Where the group limit is logged (rate-limited) and counted; absent in tests: not logged, counted on `groupLimitReached` only. */
  logger?: Logger;
  telemetry?: ComponentTelemetry;
  /** Where the groups' bytes are accounted (default: a new account in the process's memory budget). */
  budget?: BudgetAccount;
}

interface PendingResolve {
  alert: Alert;
  /** Exporters of the route that have not had a flush since the alert resolved. */
  pending: string[];
  at: number;
}

interface Group {
  /**
   * The group's identity here: route index and group key. Two routes may have the same Alertmanager key
   * (two siblings without matchers are both `{}/{}`); as in Alertmanager, their groups stay apart.
   */
  key: string;
  /** Alertmanager's group key (`{}/{...}:{...}`), as notifications carry it. */
  groupKey: string;
  route: RouteNode;
  labels: Record<string, string>;
  createdAt: number;
  nextFlushAt: number;
  /** Whether the group had its first flush (after group_wait). */
  flushed: boolean;
  resolved: Map<string, PendingResolve>;
  /** Exporters whose last notification was refused: flushed again at the next evaluation. */
  retry: Set<string>;
  /**
   * Its firing alerts in dispatch round `round` (see Dispatcher.round): a list kept on the group and
   * refilled each round, not a map of new lists every round (2,500 firing alerts, every interval).
   */
  members: Instance[];
  /** How many of `members` are this round's (the list is overwritten, not emptied: no new backing store each round). */
  nMembers: number;
  round: number;
  /** Bytes charged to the memory budget for it. */
  bytes: number;
}

/** A notification log entry (nflogpb.Entry): what one exporter was last told about one group. */
export interface NflogEntry {
  firing: string[];
  resolved: string[];
  at: number;
}

/** What the dispatcher persists (JSON). */
export interface DispatcherState {
  groups: {
    key: string;
    groupKey: string;
    route: number;
    labels: Record<string, string>;
    createdAt: number;
    nextFlushAt: number;
    flushed: boolean;
    resolved: PendingResolve[];
    retry: string[];
  }[];
  nflog: [string, string, NflogEntry][];
}

/**
 * The notifications of one dispatch round and the `commit` that records, per exporter and group, which were accepted.
 */
export interface DispatchResult {
  /** Every notification of the round, each for one exporter (`exporters: [id]`). */
  notifications: AlertNotification[];
  /** The same, per exporter. */
  byExporter: Map<string, AlertNotification[]>;
  /**
   * Records the round: `accepted(exporter, group)` says whether that exporter accepted its notification
   * about that group (`groupOf(notification)`; all were, when omitted). Refused ones are retried at the next round, for that exporter
   * and group only.
   */
  commit(accepted?: (exporter: string, group: string) => boolean): void;
  /** The group a notification of this round is about (what `commit`'s `accepted` is asked about). */
  groupOf(n: AlertNotification): string;
}

interface Routed {
  route: RouteNode;
  /** The group's identity (route index and group key). */
  key: string;
  groupKey: string;
  labels: Record<string, string>;
}

/**
 * What Alertmanager's order of alerts (alert.AlertSlice.Less) reads of a label set, kept per label set
 * object (an alert's labels never change): the `job` and `instance` values, and the names in order with
 * their values. Sorting 2,500 alerts compares each about 20 times; this makes a comparison a walk over two
 * arrays instead of building and sorting name lists and looking names up.
 */
interface OrderKey {
  job: string | undefined;
  instance: string | undefined;
  names: string[];
  values: string[];
}
const orderKeys = new WeakMap<Record<string, string>, OrderKey>();
function orderKeyOf(labels: Record<string, string>): OrderKey {
  let k = orderKeys.get(labels);
  if (!k) {
    const names = Object.keys(labels).sort(goCompare);
    k = { job: labels.job, instance: labels.instance, names, values: names.map((n) => labels[n]!) };
    orderKeys.set(labels, k);
  }
  return k;
}

/** Alertmanager's order of alerts in a notification (alert.AlertSlice.Less; strings in Go's byte order). */
export function compareAlerts(a: Alert, b: Alert): number {
  return compareKeys(orderKeyOf(a.labels), orderKeyOf(b.labels));
}

/** Sorts alerts in place in {@link compareAlerts} order (the same order, keys read once per alert). */
export function sortAlerts(alerts: Alert[]): void {
  if (alerts.length < 2) return;
  const keys = alerts.map((a) => orderKeyOf(a.labels));
  const order = alerts.map((_, i) => i);
  order.sort((i, j) => compareKeys(keys[i]!, keys[j]!)); // stable, as sorting the alerts themselves
  const copy = alerts.slice();
  for (let i = 0; i < order.length; i++) alerts[i] = copy[order[i]!]!;
}

function compareKeys(a: OrderKey, b: OrderKey): number {
  // job, then instance: a set without one goes after a set with it
  for (let f = 0; f < 2; f++) {
    const x = f === 0 ? a.job : a.instance;
    const y = f === 0 ? b.job : b.instance;
    if (x === undefined && y === undefined) continue;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    if (x !== y) return goCompare(x, y) < 0 ? -1 : 1;
  }
  return labelSetBefore(a, b) ? -1 : labelSetBefore(b, a) ? 1 : 0;
}

/**
 * prometheus/common model.LabelSet.Before: fewer labels first, then over the union of both sets' names in
 * order, the first name one set lacks (that set first) or whose values differ (the smaller value first).
 */
function labelSetBefore(a: OrderKey, b: OrderKey): boolean {
  const an = a.names;
  const bn = b.names;
  if (an.length !== bn.length) return an.length < bn.length;
  // equal lengths: the walk stops at the first name that is not in both, so both lists advance together
  for (let i = 0; i < an.length; i++) {
    const x = an[i]!;
    const y = bn[i]!;
    if (x !== y) return goCompare(y, x) < 0; // the smaller name is missing from the other set: that other set comes first
    const av = a.values[i]!;
    const bv = b.values[i]!;
    if (av !== bv) return goCompare(av, bv) < 0; // Go compares strings by UTF-8 bytes
  }
  return false;
}

/** Alertmanager's DedupStage.needsUpdate. */
export function needsUpdate(entry: NflogEntry | undefined, firing: ReadonlySet<string>, resolved: ReadonlySet<string>, sendResolved: boolean, repeatMs: number, now: number): boolean {
  if (!entry) return firing.size > 0;
  const prevFiring = new Set(entry.firing);
  for (const fp of firing) if (!prevFiring.has(fp)) return true;
  if (firing.size === 0) return entry.firing.length > 0;
  if (sendResolved) {
    const prevResolved = new Set(entry.resolved);
    for (const fp of resolved) if (!prevResolved.has(fp)) return true;
  }
  return now - entry.at >= repeatMs;
}

const NO_EXPORTERS: readonly string[] = [];

/** The identity of a route's overflow group (never a real group's: those are `idx\u0000{...}`). */
function overflowKey(route: RouteNode): string {
  return `${route.idx}\u0000\u0001overflow`;
}

/** Estimated bytes of one group: its object, maps and sets, key and labels (its alerts are the rules'). */
function groupBytes(key: string, labels: Readonly<Record<string, string>>): number {
  return 700 + 2 * stringBytes(key) + labelsBytes(labels);
}

function common(alerts: readonly Alert[], pick: (a: Alert) => Record<string, string>): Record<string, string> {
  if (!alerts.length) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pick(alerts[0]!))) if (alerts.every((a) => pick(a)[k] === v)) out[k] = v;
  return out;
}

/**
 * The dispatcher (see this file's comment): groups alerts per route and decides, per exporter, when a group is
 * notified, as Alertmanager's dispatcher and notification pipeline do.
 */
export class Dispatcher {
  private readonly groups = new Map<string, Group>();
  /** Dispatch rounds so far (Group.round). */
  private round = 0;
  /** Groups per route index (overflow groups included). */
  private readonly perRoute = new Map<number, number>();
  private readonly maxGroups: number;
  readonly budget: BudgetAccount;
  /** Alerts that went to an overflow group since start (each counted once while it stays there). */
  groupLimitReached = 0;
  private readonly limitCounter: Counter | undefined;
  /** Fingerprints in an overflow group at the last round (counted once while they stay there). */
  private overflowed = new Set<string>();
  private overflowedNow = new Set<string>();
  private lastLimitLog = -Infinity;
  private readonly nflog = new Map<string, Map<string, NflogEntry>>();
  private readonly routeByIdx = new Map<number, RouteNode>();
  private readonly routing = new WeakMap<Instance, Routed[]>();

  constructor(private readonly opts: DispatcherOptions) {
    walkRoutes(opts.route, (n) => this.routeByIdx.set(n.idx, n));
    this.maxGroups = opts.maxGroups ?? DEFAULT_MAX_AGGREGATION_GROUPS;
    this.budget = opts.budget ?? memoryBudget.account('processor/alerts aggregation groups');
    this.limitCounter = opts.telemetry?.meter.createCounter('vigil_processor_aggregation_group_limit_reached', {
      description: 'Alerts put in their route\'s overflow group because the route had max_aggregation_groups groups or the memory budget was full',
    });
  }

  /** Gives the groups' bytes back to the memory budget (the processor is shut down or replaced). */
  close(): void {
    this.budget.close();
  }

  /** The route nodes a label set goes to, in tree order. */
  routesFor(labels: Readonly<Record<string, string>>): RouteNode[] {
    return matchRoute(this.opts.route, labels);
  }

  /** Whether the exporter must learn of every resolve ({@link DispatcherOptions.keepsEveryResolve}). */
  private keepsEveryResolve(exporterId: string): boolean {
    return this.opts.keepsEveryResolve?.(exporterId) ?? false;
  }

  /** Whether the exporter takes resolved alerts ({@link DispatcherOptions.sendsResolved}). */
  private sendsResolved(exporterId: string): boolean {
    return this.opts.sendsResolved?.(exporterId) ?? true;
  }

  exportersOf(route: RouteNode): readonly string[] {
    return this.opts.exportersOf(route.exporters);
  }

  private routed(labels: Readonly<Record<string, string>>): Routed[] {
    return this.routesFor(labels).map((route) => {
      const gl = groupLabelsOf(route, labels);
      const groupKey = groupKeyOf(route, gl);
      return { route, key: `${route.idx}\u0000${groupKey}`, groupKey, labels: gl };
    });
  }

  private routingOf(inst: Instance): Routed[] {
    let r = this.routing.get(inst);
    if (!r) this.routing.set(inst, (r = this.routed(inst.labels)));
    return r;
  }

  /**
   * The group of `r`, created when missing; past the route's group limit (or with the memory budget full)
   * the route's overflow group, and the alert `fp` is counted once while it stays there.
   */
  private groupFor(r: Routed, now: number, fp: string): Group {
    const g = this.groups.get(r.key);
    if (g) return g;
    const bytes = groupBytes(r.key, r.labels);
    if ((this.perRoute.get(r.route.idx) ?? 0) < this.maxGroups && this.budget.admit(bytes)) return this.addGroup(r.key, r.groupKey, r.route, r.labels, now, bytes);
    if (!this.budget.admit(bytes)) this.budget.shed(1);
    this.overflowedNow.add(fp);
    const key = overflowKey(r.route);
    return this.groups.get(key) ?? this.addGroup(key, `${r.route.key}:{group_overflow="true"}`, r.route, { ...OVERFLOW_GROUP_LABELS }, now, groupBytes(key, OVERFLOW_GROUP_LABELS));
  }

  private addGroup(key: string, groupKey: string, route: RouteNode, labels: Record<string, string>, now: number, bytes: number): Group {
    const g: Group = { key, groupKey, route, labels, createdAt: now, nextFlushAt: now + route.groupWaitMs, flushed: false, resolved: new Map(), retry: new Set(), bytes, members: [], nMembers: 0, round: -1 };
    this.groups.set(key, g);
    this.perRoute.set(route.idx, (this.perRoute.get(route.idx) ?? 0) + 1);
    this.budget.add(bytes);
    return g;
  }

  private deleteGroup(g: Group): void {
    if (!this.groups.delete(g.key)) return;
    this.nflog.delete(g.key);
    this.perRoute.set(g.route.idx, (this.perRoute.get(g.route.idx) ?? 1) - 1);
    this.budget.add(-g.bytes);
  }

  /** Counts (and logs, at most once a minute) the alerts that went to an overflow group this round. */
  private countOverflow(now: number): void {
    let fresh = 0;
    for (const fp of this.overflowedNow) if (!this.overflowed.has(fp)) fresh++;
    this.overflowed = this.overflowedNow;
    this.overflowedNow = new Set();
    if (!fresh) return;
    this.groupLimitReached += fresh;
    this.limitCounter?.add(fresh, this.opts.telemetry!.labels);
    if (now - this.lastLimitLog >= LIMIT_LOG_EVERY_MS) {
      this.lastLimitLog = now;
      this.opts.logger?.warn(
        { alerts: this.overflowed.size, max_aggregation_groups: this.maxGroups, groups: this.groups.size },
        'alerts: aggregation group limit reached (or memory budget full); further alerts go to their route\'s overflow group (logged at most once a minute)',
      );
    }
  }

  /** Whether an alert with these labels is inhibited by one of the firing alerts (Alertmanager's inhibit.go). */
  private inhibited(labels: Readonly<Record<string, string>>, firing: readonly Instance[]): boolean {
    return this.inhibitors(labels, firing, true).length > 0;
  }

  /**
   * Fingerprints of the firing alerts that inhibit an alert with these labels (the first only, when
   * `first`): a source alert matching a rule's source matchers, with the `equal` labels of the target; an
   * alert that matches both sides is not inhibited by alerts that also match both sides (inhibit.go).
   */
  inhibitors(labels: Readonly<Record<string, string>>, firing: readonly Instance[], first = false): string[] {
    const out: string[] = [];
    for (const rule of this.opts.inhibit) {
      if (!matchAll(rule.target, labels)) continue;
      const twoSided = matchAll(rule.source, labels);
      for (const src of firing) {
        if (!matchAll(rule.source, src.labels)) continue;
        if (twoSided && matchAll(rule.target as Matcher[], src.labels)) continue;
        if (rule.equal.every((l) => (src.labels[l] ?? '') === (labels[l] ?? ''))) {
          if (!out.includes(src.fingerprint)) out.push(src.fingerprint);
          if (first) return out;
        }
      }
    }
    return out;
  }

  /** An instance's group on each route it matches (route, group key, group labels). */
  groupsOf(inst: Instance): readonly { route: RouteNode; groupKey: string; labels: Record<string, string> }[] {
    return this.routingOf(inst);
  }

  /** Whether any inhibition rule is configured. */
  get inhibits(): boolean {
    return this.opts.inhibit.length > 0;
  }

  /** Whether the route's time intervals mute it at `now`. */
  timeMuted(route: RouteNode, now: number): boolean {
    if (route.muteTimeIntervals.length && inAnyInterval(this.opts.timeIntervals, route.muteTimeIntervals, now)) return true;
    if (route.activeTimeIntervals.length && !inAnyInterval(this.opts.timeIntervals, route.activeTimeIntervals, now)) return true;
    return false;
  }

  /**
   * One round: puts the firing alerts and the alerts that resolved in this round into their groups, flushes
   * the groups that are due, and returns the notifications (see {@link DispatchResult}).
   */
  dispatch(now: number, firing: readonly Instance[], resolvedNow: readonly ResolvedAlert[], silences: SilenceSet, toAlert: (i: Instance) => Alert): DispatchResult {
    const mutedFiring = new Set<string>();
    if (silences.any() || this.opts.inhibit.length)
      for (const a of firing) if (silences.silencedBy(a.labels, now) || this.inhibited(a.labels, firing)) mutedFiring.add(a.fingerprint);

    const round = ++this.round;
    // the firing alerts of each group this round: g.members[0, g.nMembers) when g.round === round
    const nMembersOf = (g: Group): number => (g.round === round ? g.nMembers : 0);
    for (let i = 0; i < firing.length; i++) {
      const inst = firing[i]!;
      const routed = this.routingOf(inst);
      for (let j = 0; j < routed.length; j++) {
        const g = this.groupFor(routed[j]!, now, inst.fingerprint);
        if (g.resolved.size) g.resolved.delete(inst.fingerprint); // fired again
        // Alertmanager's aggrGroup.insert: a group not flushed yet is flushed at once when an alert's wait
        // (startsAt + group_wait) is already over, e.g. an alert that was pending for its rule's `for`
        if (!g.flushed && g.nextFlushAt > now && inst.activeSince + g.route.groupWaitMs < now) g.nextFlushAt = now;
        if (g.round !== round) {
          g.round = round;
          g.nMembers = 0;
        }
        g.members[g.nMembers++] = inst;
      }
    }
    const immediate = new Set<string>();
    for (const r of resolvedNow)
      for (const rt of this.routed(r.alert.labels)) {
        const g = this.groupFor(rt, now, r.alert.fingerprint);
        let firesAgain = false;
        for (let i = 0, n = nMembersOf(g); i < n && !firesAgain; i++) firesAgain = g.members[i]!.fingerprint === r.alert.fingerprint;
        if (firesAgain) continue;
        g.resolved.set(r.alert.fingerprint, { alert: r.alert, pending: [...this.exportersOf(rt.route)], at: now });
        if (g.flushed) immediate.add(g.key);
      }

    this.countOverflow(now);
    const byExporter = new Map<string, AlertNotification[]>();
    const sentTo = new Set<string>();
    const groupOfNotification = new Map<AlertNotification, string>();
    const notifications: AlertNotification[] = [];
    const marks: { group: Group; exporter: string; entry: NflogEntry | undefined; flushed: boolean }[] = [];
    const alertOf = new Map<Instance, Alert>();
    for (const g of this.groups.values()) {
      const route = g.route;
      const timerDue = now >= g.nextFlushAt;
      const all = this.exportersOf(route);
      const flushFor = timerDue
        ? all
        : immediate.has(g.key)
          ? all.filter((e) => g.retry.has(e) || (route.sendResolved && this.sendsResolved(e)) || this.keepsEveryResolve(e))
          : g.retry.size
            ? all.filter((e) => g.retry.has(e))
            : NO_EXPORTERS;
      if (!flushFor.length) continue;
      const nInGroup = nMembersOf(g);
      if (timerDue) {
        if (!nInGroup && !g.resolved.size) continue; // nothing to say: dropped below
        g.nextFlushAt = now + route.groupIntervalMs;
        g.flushed = true;
      }
      if (this.timeMuted(route, now)) {
        // muted: nothing is sent and nothing recorded, except that resolved alerts are not kept for later
        // (but for an exporter that needs every resolve: it gets them once the mute ends)
        for (const e of flushFor) if (!this.keepsEveryResolve(e)) marks.push({ group: g, exporter: e, entry: undefined, flushed: true });
        continue;
      }
      const firingAlerts: Alert[] = [];
      let repeatMs = route.repeatIntervalMs;
      let override: number | undefined;
      for (let i = 0; i < nInGroup; i++) {
        const inst = g.members[i]!;
        if (mutedFiring.has(inst.fingerprint)) continue;
        let a = alertOf.get(inst);
        if (!a) alertOf.set(inst, (a = toAlert(inst)));
        firingAlerts.push(a);
        const r = this.opts.ruleRepeatMs(inst.rule);
        if (r !== undefined) override = Math.min(override ?? r, r);
      }
      if (override !== undefined) repeatMs = override;
      const firingSet = new Set(firingAlerts.map((a) => a.fingerprint));
      const resolvedShown: { alert: Alert; silenced: boolean; inhibited: boolean; pending: readonly string[] }[] = [];
      for (const r of g.resolved.values()) {
        const inhibited = this.inhibited(r.alert.labels, firing);
        resolvedShown.push({ alert: r.alert, silenced: !inhibited && silences.silencedBy(r.alert.labels, now) !== undefined, inhibited, pending: r.pending });
      }
      for (const e of flushFor) {
        const every = this.keepsEveryResolve(e);
        const keeps = every || this.opts.keepsSilencedResolves(e);
        const sendResolved = every || (route.sendResolved && this.sendsResolved(e));
        // (a resolve is news to an exporter until its first flush after it: one kept for another exporter is not shown again)
        const resolved = resolvedShown.filter((r) => r.pending.includes(e) && (every || (!r.inhibited && (!r.silenced || keeps))));
        if (!firingAlerts.length && !resolved.length) {
          // every alert muted: Alertmanager's pipeline stops after its MuteStage, before DedupStage, so the
          // notification log keeps what the exporter was told (an alert told of, muted, then unmuted is not new)
          marks.push({ group: g, exporter: e, entry: undefined, flushed: true });
          continue;
        }
        const resolvedSet = new Set(resolved.map((r) => r.alert.fingerprint));
        const entry = this.nflog.get(g.key)?.get(e);
        let need = needsUpdate(entry, firingSet, resolvedSet, sendResolved, repeatMs, now);
        if (!need && keeps && sendResolved) {
          const told = new Set(entry?.resolved ?? []);
          need = resolved.some((r) => (r.silenced || r.inhibited) && !told.has(r.alert.fingerprint));
        }
        if (!need) {
          marks.push({ group: g, exporter: e, entry: undefined, flushed: true });
          continue;
        }
        const alerts = sendResolved ? [...firingAlerts, ...resolved.map((r) => r.alert)] : [...firingAlerts];
        sortAlerts(alerts);
        marks.push({ group: g, exporter: e, entry: { firing: [...firingSet], resolved: [...resolvedSet], at: now }, flushed: true });
        if (!alerts.length) continue;
        const n: AlertNotification = {
          exporters: [e],
          groupKey: g.groupKey,
          status: firingAlerts.length ? 'firing' : 'resolved',
          groupLabels: { ...g.labels },
          commonLabels: common(alerts, (a) => a.labels),
          commonAnnotations: common(alerts, (a) => a.annotations),
          externalURL: this.opts.externalURL,
          alerts,
        };
        notifications.push(n);
        sentTo.add(`${e}\u0000${g.key}`);
        groupOfNotification.set(n, g.key);
        let list = byExporter.get(e);
        if (!list) byExporter.set(e, (list = []));
        list.push(n);
      }
    }

    return {
      notifications,
      byExporter,
      groupOf: (n) => groupOfNotification.get(n) ?? n.groupKey,
      commit: (accepted = () => true) => {
        for (const m of marks) {
          const sent = sentTo.has(`${m.exporter}\u0000${m.group.key}`);
          if (sent && !accepted(m.exporter, m.group.key)) {
            m.group.retry.add(m.exporter);
            continue;
          }
          m.group.retry.delete(m.exporter);
          if (m.entry) {
            let log = this.nflog.get(m.group.key);
            if (!log) this.nflog.set(m.group.key, (log = new Map()));
            log.set(m.exporter, m.entry);
          }
          // this exporter had its flush: resolved alerts present now are no longer kept for it
          for (const r of m.group.resolved.values()) if (r.at <= now) r.pending = r.pending.filter((x) => x !== m.exporter);
        }
        for (const g of this.groups.values()) {
          for (const [fp, r] of g.resolved) if (!r.pending.length || now - r.at > RESOLVED_RETENTION_MS) g.resolved.delete(fp);
          // (no firing alert this round, nor in a round dispatched since)
          if (g.round < round && !g.resolved.size && !g.retry.size) this.deleteGroup(g);
        }
      },
    };
  }

  // ---------------------------------------------------------------------------------------- persistence

  snapshot(): DispatcherState {
    const nflog: [string, string, NflogEntry][] = [];
    for (const [key, log] of this.nflog) for (const [e, entry] of log) nflog.push([key, e, entry]);
    return {
      groups: [...this.groups.values()].map((g) => ({
        key: g.key,
        groupKey: g.groupKey,
        route: g.route.idx,
        labels: g.labels,
        createdAt: g.createdAt,
        nextFlushAt: g.nextFlushAt,
        flushed: g.flushed,
        resolved: [...g.resolved.values()],
        retry: [...g.retry],
      })),
      nflog,
    };
  }

  /** Restores a snapshot; groups of routes that changed (another key) are dropped. */
  restore(state: Partial<DispatcherState> | undefined): void {
    for (const g of state?.groups ?? []) {
      const route = g && this.routeByIdx.get(g.route);
      if (!route || typeof g.key !== 'string' || typeof g.groupKey !== 'string' || (g.key !== `${route.idx}\u0000${g.groupKey}` && g.key !== overflowKey(route)) || !g.groupKey.startsWith(`${route.key}:`)) continue;
      const resolved = new Map<string, PendingResolve>();
      for (const r of Array.isArray(g.resolved) ? g.resolved : []) if (r?.alert?.fingerprint && Array.isArray(r.pending)) resolved.set(r.alert.fingerprint, r);
      if (this.groups.has(g.key)) continue;
      const labels = g.labels ?? {};
      const restored = this.addGroup(g.key, g.groupKey, route, labels, 0, groupBytes(g.key, labels));
      restored.createdAt = Number(g.createdAt) || 0;
      restored.nextFlushAt = Number(g.nextFlushAt) || 0;
      restored.flushed = g.flushed !== false;
      restored.resolved = resolved;
      restored.retry = new Set(Array.isArray(g.retry) ? g.retry : []);
    }
    for (const [key, e, entry] of state?.nflog ?? []) {
      if (typeof key !== 'string' || typeof e !== 'string' || !entry || !Array.isArray(entry.firing)) continue;
      let log = this.nflog.get(key);
      if (!log) this.nflog.set(key, (log = new Map()));
      log.set(e, { firing: entry.firing, resolved: Array.isArray(entry.resolved) ? entry.resolved : [], at: Number(entry.at) || 0 });
    }
  }

  /**
   * Reads version-1 state (per exporter, per alert: last notified): each firing alert's groups get a
   * notification log entry for the exporters that were told of it, so an upgrade pages no one again.
   */
  restoreV1(firing: readonly Instance[], notified: [string, string, { status: string; at: number }][], now: number): void {
    const byFp = new Map<string, Map<string, number>>();
    for (const [e, fp, n] of notified) {
      if (n?.status !== 'firing') continue;
      let m = byFp.get(fp);
      if (!m) byFp.set(fp, (m = new Map()));
      m.set(e, n.at);
    }
    for (const inst of firing) {
      const told = byFp.get(inst.fingerprint);
      if (!told) continue;
      for (const r of this.routingOf(inst)) {
        const g = this.groupFor(r, now, inst.fingerprint);
        g.flushed = true;
        g.nextFlushAt = now + r.route.groupIntervalMs;
        for (const e of this.exportersOf(r.route)) {
          const at = told.get(e);
          if (at === undefined) continue;
          let log = this.nflog.get(g.key);
          if (!log) this.nflog.set(g.key, (log = new Map()));
          const entry = log.get(e) ?? { firing: [], resolved: [], at };
          entry.firing.push(inst.fingerprint);
          entry.at = Math.min(entry.at, at);
          log.set(e, entry);
        }
      }
    }
  }

  /** The groups (for diagnostics and the rule description). */
  groupCount(): number {
    return this.groups.size;
  }
}
