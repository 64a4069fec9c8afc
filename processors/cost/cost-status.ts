/**
 * What the cost processor reports to the status page: each budget's spend in the current period against
 * its limit, with a linear projection to the end of the period, and the cost per model today and this
 * month (UTC calendar; counted from the emitted usage, and saved with the budget spend, so that a restart or a
 * reload keeps the month's figures).
 */
import type { KeyValue } from '../../src/model.ts';
import type { BudgetStatus, ModelCost } from '../../src/status.ts';
import { isUtc } from './budget-book.ts';
import type { BudgetConfig } from './config.ts';

const DAY_MS = 86_400_000;
const MAX_MODELS = 500;

/** Start and end (Unix ms) of the calendar period holding `nowMs` in `timezone` (DST shifts within it ignored). */
export function periodBounds(kind: 'day' | 'month', timezone: string, nowMs: number): { start: number; end: number } {
  let y, mo, d, h, mi, s;
  if (isUtc(timezone)) {
    // UTC's fields from Date itself: no ICU time zone data loaded (budget-book.ts)
    const t = new Date(nowMs);
    [y, mo, d, h, mi, s] = [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes(), t.getUTCSeconds()];
  } else {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', hourCycle: 'h23' }).formatToParts(nowMs);
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
    [y, mo, d, h, mi, s] = [get('year'), get('month'), get('day'), get('hour'), get('minute'), get('second')];
  }
  const midnight = nowMs - ((h * 60 + mi) * 60 + s) * 1000 - (nowMs % 1000);
  if (kind === 'day') return { start: midnight, end: midnight + DAY_MS };
  const start = midnight - (d - 1) * DAY_MS;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return { start, end: start + days * DAY_MS };
}

/**
 * The status of each group of one budget at `nowMs` (Unix ms): spend, utilization, and spend projected linearly
 * to the end of the period (USD), elapsed time counted as at least one minute.
 */
export function budgetStatus(b: { config: BudgetConfig; period: string; groups: { attrs: KeyValue[]; spent: number }[] }, nowMs: number): BudgetStatus[] {
  const { start, end } = periodBounds(b.config.period, b.config.timezone, nowMs);
  const elapsed = Math.max(nowMs - start, 60_000); // the first minute of a period projects nothing wild
  return b.groups.map((g) => ({
    name: b.config.name,
    period: b.config.period,
    periodLabel: b.period,
    timezone: b.config.timezone,
    limitUsd: b.config.limit_usd,
    group: Object.fromEntries(g.attrs.map((a) => [a.key, String(a.value)])),
    spentUsd: g.spent,
    utilization: g.spent / b.config.limit_usd,
    projectedUsd: (g.spent * (end - start)) / elapsed,
    periodEndMs: end,
  }));
}

/** {@link ModelCosts} as the cost processor's state file keeps it (budgets.json `models`). */
export interface SavedModelCosts {
  /** The UTC day (`2026-11-30`) and month (`2026-11`) the figures are of. */
  day: string;
  month: string;
  rows: ModelCost[];
}

/** Cost and tokens per model, today and this month (UTC). */
export class ModelCosts {
  private day = '';
  private month = '';
  private readonly models = new Map<string, ModelCost>();

  /** `changed`: called at each change (the processor marks its state file for the next save). */
  constructor(private readonly changed: () => void = () => {}) {}

  /** Adds the usage of one emission at `nowMs`. */
  add(model: string, usd: number, priced: boolean, input: number, output: number, nowMs: number): void {
    this.roll(nowMs);
    this.changed();
    let m = this.models.get(model);
    if (!m) {
      if (this.models.size >= MAX_MODELS) return;
      this.models.set(model, (m = { model, todayUsd: 0, monthUsd: 0, inputTokens: 0, outputTokens: 0, unpriced: false }));
    }
    m.todayUsd += usd;
    m.monthUsd += usd;
    m.inputTokens += input;
    m.outputTokens += output;
    if (!priced && (input || output)) m.unpriced = true;
  }

  private roll(nowMs: number): void {
    const iso = new Date(nowMs).toISOString();
    const day = iso.slice(0, 10);
    const month = iso.slice(0, 7);
    if (month !== this.month) this.models.clear();
    else if (day !== this.day) for (const m of this.models.values()) m.todayUsd = 0;
    this.day = day;
    this.month = month;
  }

  list(nowMs: number): ModelCost[] {
    this.roll(nowMs);
    return [...this.models.values()].map((m) => ({ ...m }));
  }

  /** The figures as the state file keeps them. */
  document(): SavedModelCosts {
    return { day: this.day, month: this.month, rows: [...this.models.values()].map((m) => ({ ...m })) };
  }

  /**
   * Takes saved figures (`saved`, as read from the state file: checked here) when they are of the month of
   * `nowMs` (today's only when of its day too), added to any counted since; rows that are not whole (a model
   * name, finite amounts >= 0) are skipped. Returns how many rows were taken.
   */
  restore(saved: unknown, nowMs: number): number {
    this.roll(nowMs);
    if (!saved || typeof saved !== 'object') return 0;
    const { day, month, rows } = saved as Partial<SavedModelCosts>;
    if (month !== this.month || !Array.isArray(rows)) return 0;
    const amount = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
    let taken = 0;
    for (const r of rows as unknown[]) {
      if (!r || typeof r !== 'object') continue;
      const x = r as Record<string, unknown>;
      const [today, monthUsd, input, output] = [amount(x.todayUsd), amount(x.monthUsd), amount(x.inputTokens), amount(x.outputTokens)];
      if (typeof x.model !== 'string' || today === undefined || monthUsd === undefined || input === undefined || output === undefined) continue;
      let m = this.models.get(x.model);
      if (!m) {
        if (this.models.size >= MAX_MODELS) continue;
        this.models.set(x.model, (m = { model: x.model, todayUsd: 0, monthUsd: 0, inputTokens: 0, outputTokens: 0, unpriced: false }));
      }
      if (day === this.day) m.todayUsd += today;
      m.monthUsd += monthUsd;
      m.inputTokens += input;
      m.outputTokens += output;
      if (x.unpriced === true) m.unpriced = true;
      taken++;
    }
    return taken;
  }
}
