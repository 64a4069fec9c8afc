/**
 * The overview behind the status page (`/`), its JSON (`GET /api/overview`) and `vigil status`: the
 * pipelines and each component's health and throughput, latency per service and model, spend against
 * budgets, alerts, silences, recent notifications and dead letters. Built from the service's own counters
 * and from what components report through their status capability (src/status.ts).
 */
import type { ComponentKind } from '../component.ts';
import type { AlertStatus, BudgetStatus, ComponentStatus, DeliveriesStatus, LatencySeries, ModelCost, NotificationRecord, RuleStatus } from '../status.ts';
import type { GettableSilence } from './alertmanager.ts';

/**
 * One component in the overview: its kind and ID, its health (with the reason when unhealthy), its running item
 * counts since start, and its queue (size and capacity, in items) when it has one.
 */
export interface ComponentOverview {
  kind: ComponentKind;
  id: string;
  healthy: boolean;
  /** Why it is not healthy. */
  reason?: string;
  /** Running totals since start (items): receivers accept/refuse, processors drop, exporters send/fail. */
  accepted: number;
  refused: number;
  dropped: number;
  sent: number;
  failed: number;
  queue?: { size: number; capacity?: number };
}

/**
 * The JSON of `GET /api/overview` (see this file's comment); times are RFC 3339, windows in milliseconds, spend in USD.
 */
export interface Overview {
  version: string;
  /** RFC 3339. */
  generatedAt: string;
  startedAt: string;
  ready: boolean;
  notReadyReason?: string;
  pipelines: { name: string; receivers: string[]; processors: string[]; exporters: string[] }[];
  components: ComponentOverview[];
  latency: { windowMs: number; summaryWindowMs: number; series: LatencySeries[] };
  cost: { budgets: BudgetStatus[]; models: ModelCost[] };
  alerts: {
    /**
     * Each alert with the alerts processor that evaluates it: firing first, oldest first, at most
     * {@link OVERVIEW_MAX_LISTED} (`/api/v2/alerts` has them all).
     */
    list: (AlertStatus & { processor: string })[];
    /** Alerts left out of `list` (past {@link OVERVIEW_MAX_LISTED}). */
    unlisted: number;
    rules: (RuleStatus & { processor: string })[];
    notifications: (NotificationRecord & { processor: string })[];
    firing: number;
    pending: number;
    suppressed: number;
    lastEvaluationMs: number;
  };
  /** Active and pending silences first, then expired ones, at most {@link OVERVIEW_MAX_LISTED} (`/api/v2/silences` has them all). */
  silences: GettableSilence[];
  /** Silences left out of `silences`. */
  silencesUnlisted: number;
  deliveries: (DeliveriesStatus & { exporter: string })[];
  /** Whether writes (silences) need a token, and whether they are possible at all. */
  api: { tokenRequired: boolean; writable: boolean };
}

/**
 * What {@link buildOverview} is built from: the service's version, start time (Unix ms), pipelines, component
 * IDs, telemetry counters, the components' status reports, the silences and the API's settings.
 */
export interface OverviewInputs {
  version: string;
  startedAt: number;
  notReadyReason: string | undefined;
  pipelines: Readonly<Record<string, { receivers: readonly string[]; processors: readonly string[]; exporters: readonly string[] }>>;
  componentIds: Record<ComponentKind, readonly string[]>;
  stats: Map<string, { counts: Partial<Record<'accepted' | 'refused' | 'dropped' | 'sent' | 'failed', number>>; queue?: { size: number; capacity?: number }; unhealthy?: string }>;
  statuses: { kind: ComponentKind; id: string; status?: ComponentStatus; error?: string }[];
  silences: GettableSilence[];
  api: { tokenRequired: boolean; writable: boolean };
}

/**
 * Alerts, and silences, listed at most in the overview: the page polls it every few seconds, and a storm of
 * alerts (or thousands of silences) made every poll megabytes of JSON; the counts stay exact.
 */
export const OVERVIEW_MAX_LISTED = 500;

/** Builds the {@link Overview} at `nowMs` (Unix ms) from the service's counters and the components' reports. */
export function buildOverview(inp: OverviewInputs, nowMs: number): Overview {
  const components: ComponentOverview[] = [];
  for (const kind of ['receiver', 'processor', 'exporter'] as const) {
    for (const id of inp.componentIds[kind]) {
      const st = inp.stats.get(`${kind}/${id}`);
      const bare = inp.stats.get(id)?.unhealthy;
      const failedReport = inp.statuses.find((s) => s.kind === kind && s.id === id)?.error;
      const reason = st?.unhealthy ?? bare;
      const c = st?.counts ?? {};
      components.push({
        kind,
        id,
        healthy: reason === undefined,
        ...(reason !== undefined ? { reason } : failedReport ? { reason: `status: ${failedReport}` } : {}),
        accepted: c.accepted ?? 0,
        refused: c.refused ?? 0,
        dropped: c.dropped ?? 0,
        sent: c.sent ?? 0,
        failed: c.failed ?? 0,
        ...(st?.queue ? { queue: st.queue } : {}),
      });
    }
  }
  const latency: Overview['latency'] = { windowMs: 0, summaryWindowMs: 0, series: [] };
  const cost: Overview['cost'] = { budgets: [], models: [] };
  const alerts: Overview['alerts'] = { list: [], unlisted: 0, rules: [], notifications: [], firing: 0, pending: 0, suppressed: 0, lastEvaluationMs: 0 };
  const deliveries: Overview['deliveries'] = [];
  for (const { id, status } of inp.statuses) {
    if (!status) continue;
    if (status.latency) {
      latency.windowMs ||= status.latency.windowMs;
      latency.summaryWindowMs ||= status.latency.summaryWindowMs;
      latency.series.push(...status.latency.series);
    }
    if (status.cost) {
      cost.budgets.push(...status.cost.budgets);
      cost.models.push(...status.cost.models);
    }
    if (status.alerts) {
      const a = status.alerts;
      alerts.lastEvaluationMs = Math.max(alerts.lastEvaluationMs, a.lastEvaluationMs);
      for (const x of a.alerts) {
        alerts.list.push({ ...x, processor: id });
        if (x.state === 'pending') alerts.pending++;
        else if (x.silencedBy.length || x.inhibitedBy.length) alerts.suppressed++;
        else alerts.firing++;
      }
      for (const r of a.rules) alerts.rules.push({ ...r, processor: id });
      for (const n of a.notifications) alerts.notifications.push({ ...n, processor: id });
    }
    if (status.deliveries) deliveries.push({ ...status.deliveries, exporter: id });
  }
  alerts.notifications.sort((x, y) => y.at - x.at);
  alerts.list.sort((x, y) => (x.state === y.state ? Date.parse(x.startsAt) - Date.parse(y.startsAt) : x.state === 'firing' ? -1 : 1));
  if (alerts.list.length > OVERVIEW_MAX_LISTED) {
    alerts.unlisted = alerts.list.length - OVERVIEW_MAX_LISTED;
    alerts.list.length = OVERVIEW_MAX_LISTED;
  }
  let silences = inp.silences;
  if (silences.length > OVERVIEW_MAX_LISTED) {
    // stable: the API's order within live and within expired
    silences = [...silences.filter((x) => x.status.state !== 'expired'), ...silences.filter((x) => x.status.state === 'expired')].slice(0, OVERVIEW_MAX_LISTED);
  }
  cost.models.sort((x, y) => y.todayUsd - x.todayUsd || x.model.localeCompare(y.model));
  return {
    version: inp.version,
    generatedAt: new Date(nowMs).toISOString(),
    startedAt: new Date(inp.startedAt).toISOString(),
    ready: inp.notReadyReason === undefined,
    ...(inp.notReadyReason !== undefined ? { notReadyReason: inp.notReadyReason } : {}),
    pipelines: Object.entries(inp.pipelines).map(([name, p]) => ({ name, receivers: [...p.receivers], processors: [...p.processors], exporters: [...p.exporters] })),
    components,
    latency,
    cost,
    alerts,
    silences,
    silencesUnlisted: inp.silences.length - silences.length,
    deliveries,
    api: inp.api,
  };
}
