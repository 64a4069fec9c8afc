/**
 * The status capability: a component that can tell its live state (latency windows, spend against
 * budgets, alerts, notifications and dead letters) declares `Component.status(nowMs)` (src/component.ts),
 * returning the sections below that it knows. The service collects them for the status page (`/`), its JSON (`/api/overview`), the
 * Alertmanager-compatible API (`/api/v2/...`) and `vigil status`. The core never imports a component: it
 * only reads what components report here (as the Collector's `componentstatus` reporters do).
 *
 * Contract for implementers: `status` is called on demand (a page refresh, an API request), never on the
 * data path; it must be cheap (no I/O), must not change the component's state, and returns plain JSON-ready
 * data the caller may keep (no live references). Times are RFC 3339 strings or Unix milliseconds as named.
 */

/** One point of a latency time series: one window of the percentiles processor. */
export interface LatencyPoint {
  /** End of the window, Unix milliseconds. */
  t: number;
  /** Milliseconds; NaN-free: null when the window had no calls. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Spans seen in the window, and those with status.code error. */
  calls: number;
  errors: number;
}

/** Latency of one service or one model: a summary over the recent windows and their series. */
export interface LatencySeries {
  /** `service` (the value of service.name) or `model` (gen_ai.request.model). */
  by: 'service' | 'model';
  name: string;
  /** Over the last `summaryWindowMs` (all points below merged): milliseconds, null without calls. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  calls: number;
  errors: number;
  /** errors / calls over the same span (0 without calls). */
  errorRate: number;
  /** Oldest first, one per window. */
  points: LatencyPoint[];
}

/** What a percentiles processor reports: its window and summary span (ms) and its latency series. */
export interface LatencyStatus {
  /** The percentiles processor's window (aggregation step), milliseconds. */
  windowMs: number;
  /** The span the summaries cover, milliseconds. */
  summaryWindowMs: number;
  series: LatencySeries[];
}

/** The state of one cost budget (one group of one budget) in its current calendar period; amounts in USD. */
export interface BudgetStatus {
  name: string;
  period: 'day' | 'month';
  /** The calendar period: `2026-11-23` or `2026-11`. */
  periodLabel: string;
  timezone: string;
  limitUsd: number;
  /** The group (`{service.name: "checkout"}`), empty for an ungrouped budget. */
  group: Record<string, string>;
  spentUsd: number;
  /** spent / limit. */
  utilization: number;
  /** Linear projection of the spend at the end of the period (spent / elapsed share of the period). */
  projectedUsd: number;
  /** When the period ends, Unix milliseconds. */
  periodEndMs: number;
}

/** The spend and token counts (input/output tokens) of one model as seen by a cost processor; amounts in USD. */
export interface ModelCost {
  model: string;
  /** Spend today (UTC calendar day), USD. */
  todayUsd: number;
  /** Spend since the start of the current UTC month, as seen by this run (not persisted), USD. */
  monthUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** True when the model has no price (its calls are counted, never silently $0). */
  unpriced: boolean;
}

/** What a cost processor reports: its budgets' states and its per-model spend. */
export interface CostStatus {
  budgets: BudgetStatus[];
  models: ModelCost[];
}

/** An alert as the API and the page show it (Alertmanager's gettableAlert, plus vigil's rule and value). */
export interface AlertStatus {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** `pending` (condition holds, `for` not elapsed) or `firing`. Only firing alerts are Alertmanager alerts. */
  state: 'pending' | 'firing';
  startsAt: string;
  /** The last evaluation, RFC 3339. */
  updatedAt: string;
  /** When the alert is taken to end if no evaluation renews it (last evaluation + 4 intervals, as Prometheus sends). */
  endsAt: string;
  fingerprint: string;
  generatorURL: string;
  /** The value of the rule's expression at the last evaluation (null when absent). */
  value: number | null;
  rule: string;
  /** The receivers of the routes it matches, by name (Alertmanager's receivers; a route without a named receiver: its exporters joined by commas). */
  receivers: string[];
  /** Its alert group on each route it matches: the group labels and the receiver (the route's exporters). */
  groups: { labels: Record<string, string>; receiver: string }[];
  /** Fingerprints of the firing alerts that inhibit it. */
  inhibitedBy: string[];
  /** Ids of the silences muting it now. */
  silencedBy: string[];
}

/** A rule as the page shows it (what its generatorURL opens). */
export interface RuleStatus {
  name: string;
  /** A one-line description of the expression, `p95(span.duration{service.name="x"}[5m]) > 2000`. */
  expr: string;
  severity: string;
  forMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Firing and pending alerts of the rule. */
  firing: number;
  pending: number;
}

/** A notification the alerts processor handed on (what the exporters were given, not whether they delivered). */
export interface NotificationRecord {
  /** Unix milliseconds. */
  at: number;
  groupKey: string;
  status: 'firing' | 'resolved';
  exporters: string[];
  alertnames: string[];
  alerts: number;
}

/** A silence defined in the config file (read-only through the API). */
export interface ConfigSilence {
  id: string;
  matchers: string[];
  startsAt: string;
  endsAt: string;
  comment: string;
}

/**
 * What an alerts processor reports: its alerts, rules, recent notifications, silences, receivers and routes (the
 * alerts API and the status page read it).
 */
export interface AlertsStatus {
  /** Evaluation interval, milliseconds. */
  intervalMs: number;
  /** The last evaluation, Unix milliseconds (0 before the first). */
  lastEvaluationMs: number;
  alerts: AlertStatus[];
  rules: RuleStatus[];
  /** Newest first. */
  notifications: NotificationRecord[];
  configSilences: ConfigSilence[];
  /** The receiver name of every route (a route without a named receiver: its exporters joined by ","). */
  receivers: string[];
  /** The routes, as Alertmanager config `route.routes` entries (receiver named as in `receivers`). */
  routes: AmRoute[];
}

/** One route as Alertmanager's config writes it (for `GET /api/v2/status` `config.original`). */
export interface AmRoute {
  receiver: string;
  matchers?: string[];
  group_by?: string[];
  continue?: boolean;
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  routes?: AmRoute[];
}

/** A delivery outcome of a queued notification exporter. */
export interface DeliveryRecord {
  /** Unix milliseconds. */
  at: number;
  outcome: 'delivered' | 'dead_letter' | 'dropped';
  groupKey?: string;
  status?: string;
  alertname?: string;
  alerts: number;
  attempts: number;
  /** Why it was dead-lettered or dropped. */
  reason?: string;
}

/**
 * What a notification exporter reports about its deliveries: counts (queued, delivered, dead-lettered), where dead
 * letters go, and the most recent attempts.
 */
export interface DeliveriesStatus {
  queued: number;
  delivered: number;
  deadLettered: number;
  /** Where dead letters go. */
  deadLetterFile: string;
  /** Newest first. */
  recent: DeliveryRecord[];
}

/** What one component reports; each section is optional. */
export interface ComponentStatus {
  latency?: LatencyStatus;
  cost?: CostStatus;
  alerts?: AlertsStatus;
  deliveries?: DeliveriesStatus;
}

/** A bounded ring of recent records, newest first when read. */
export class RecentRing<T> {
  private readonly items: T[] = [];
  private head = 0;
  constructor(private readonly capacity: number) {}
  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
  }
  /** Newest first. */
  list(): T[] {
    const n = this.items.length;
    const out: T[] = [];
    for (let i = 1; i <= n; i++) out.push(this.items[(this.head - i + n * 2) % n]!);
    return out;
  }
}
