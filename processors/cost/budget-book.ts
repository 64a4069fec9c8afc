/**
 * Budget spend per calendar period (day or month, in UTC or an IANA time zone), per group, persisted in
 * the state directory with atomic writes (temp file, fsync, rename, fsync of the directory).
 */
import path from 'node:path';
import { readStateFile, removeStaleTemps, writeFileAtomic } from '../../src/atomic-file.ts';
import { type BudgetAccount, memoryBudget, stringBytes } from '../../src/memory-budget.ts';
import type { KeyValue } from '../../src/model.ts';
import type { BudgetConfig } from './config.ts';
import type { ModelCosts, SavedModelCosts } from './cost-status.ts';

/**
 * Groups kept per budget; past it, or when the process's memory budget is full (src/memory-budget.ts,
 * store `processor/cost budget groups`), spend of new groups goes to one overflow group.
 */
export const MAX_GROUPS = 1000;
const OVERFLOW_KEY = '\u0000overflow';

/** Estimated bytes of one group: its map entry, object and attributes, and its key twice (key and values). */
function groupBytes(key: string): number {
  return 300 + 2 * stringBytes(key);
}

/** The spend of one group of a budget in the current period, USD. */
export interface BudgetGroup {
  /** The group_by attributes (empty for an ungrouped budget). */
  attrs: KeyValue[];
  spent: number;
}

interface BudgetState {
  config: BudgetConfig;
  period: string;
  groups: Map<string, BudgetGroup>;
  /** The calendar of the budget's time zone; undefined for UTC (read from Date, no ICU formatter needed). */
  formatter: Intl.DateTimeFormat | undefined;
  /** The minute (ms / 60000) `period` was last computed for. */
  minute: number;
  /** The group the previous call went to, and its key (consecutive calls mostly share it). */
  lastKey: string;
  lastGroup: BudgetGroup | undefined;
}

/** The content of `budgets.json`: each budget's period, kind, time zone and spend per group. */
export interface PersistedFile {
  version: 1;
  budgets: Record<string, { period: string; kind: string; timezone: string; groups: { attrs: Record<string, string>; spent: number }[] }>;
  /** The cost per model of the status page (cost-status.ts ModelCosts), when it counted any. */
  models?: SavedModelCosts;
}

/**
 * The calendar period (`2026-11-23` or `2026-11`) that `ms` falls in, in the formatter's time zone (UTC when
 * `formatter` is undefined).
 */
export function periodOf(formatter: Intl.DateTimeFormat | undefined, kind: 'day' | 'month', ms: number): string {
  if (!formatter) return new Date(ms).toISOString().slice(0, kind === 'day' ? 10 : 7);
  let y = '';
  let m = '';
  let d = '';
  for (const part of formatter.formatToParts(ms)) {
    if (part.type === 'year') y = part.value;
    else if (part.type === 'month') m = part.value;
    else if (part.type === 'day') d = part.value;
  }
  return kind === 'day' ? `${y}-${m}-${d}` : `${y}-${m}`;
}

/**
 * A formatter giving the calendar year, month and day (2 digits) in `timezone` (an IANA name). Throws a
 * RangeError for an unknown time zone.
 */
export function calendarFormatter(timezone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
}

/**
 * True for the names of UTC itself. Budgets in UTC (the default) need no formatter: the first
 * Intl.DateTimeFormat of a process initialises ICU's time zone data, ~20-60 ms of start-up.
 */
export function isUtc(timezone: string): boolean {
  const t = timezone.toUpperCase();
  return t === 'UTC' || t === 'ETC/UTC' || t === 'GMT' || t === 'ETC/GMT';
}

/** The formatter {@link periodOf} needs for `timezone`: undefined for UTC. Throws a RangeError for an unknown zone. */
export function calendarFor(timezone: string): Intl.DateTimeFormat | undefined {
  return isUtc(timezone) ? undefined : calendarFormatter(timezone);
}

/**
 * Budget spend per calendar period and group (see this file's comment), in USD, persisted in
 * `<state dir>/budgets.json`; at most {@link MAX_GROUPS} groups per budget.
 */
export class BudgetBook {
  private readonly budgets: BudgetState[];
  private readonly file: string;
  private dirty = false;
  private writing: Promise<void> = Promise.resolve();
  /** The groups' share of the process's memory budget. */
  readonly budget: BudgetAccount = memoryBudget.account('processor/cost budget groups');
  /** Spend additions that went to a budget's overflow group (past MAX_GROUPS or the memory budget) since start. */
  overflowed = 0;

  constructor(configs: readonly BudgetConfig[], stateDir: string) {
    this.file = path.join(stateDir, 'budgets.json');
    this.budgets = configs.map((config) => ({ config, period: '', groups: new Map(), formatter: calendarFor(config.timezone), minute: NaN, lastKey: '', lastGroup: undefined }));
  }

  /** Gives the groups' bytes back to the memory budget (the processor is shut down). */
  close(): void {
    this.budget.close();
  }

  get path(): string {
    return this.file;
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /** Whether any budget is configured. */
  get active(): boolean {
    return this.budgets.length > 0;
  }

  /**
   * Restores spend from the state file: a budget whose saved period is the current one continues from
   * there; any other starts at zero. A corrupt file is moved aside (`.corrupt`) and reported.
   */
  load(nowMs: number): { restored: number; error?: string; models?: unknown } {
    removeStaleTemps(this.file);
    const { value, problem } = readStateFile(this.file, budgetFileShape);
    if (problem) return { restored: 0, error: `${problem}; budget spend starts from zero` };
    if (value === undefined) return { restored: 0 };
    const doc = value as PersistedFile;
    return { restored: this.restore(doc, nowMs), models: doc.models };
  }

  /**
   * Restores spend from a saved document (the file's content, or {@link document} of the book a reload
   * replaces); returns the groups restored. Only budgets of the same name, period, time zone and group_by,
   * in the current period, are taken.
   */
  restore(doc: PersistedFile, nowMs: number): number {
    let restored = 0;
    for (const b of this.budgets) {
      this.roll(b, nowMs);
      b.lastGroup = undefined;
      const saved = doc.budgets[b.config.name];
      if (!saved || saved.kind !== b.config.period || saved.timezone !== b.config.timezone || saved.period !== b.period) continue;
      for (const g of saved.groups ?? []) {
        if (!isRecord(g) || typeof g.spent !== 'number' || !Number.isFinite(g.spent) || !g.attrs || typeof g.attrs !== 'object') continue;
        if (Object.keys(g.attrs).join('\u0001') !== b.config.group_by.join('\u0001')) continue; // group_by changed
        const attrs: KeyValue[] = Object.entries(g.attrs).map(([key, value]) => ({ key, value: String(value) }));
        const k = groupKey(attrs);
        if (!b.groups.has(k)) this.budget.add(groupBytes(k));
        b.groups.set(k, { attrs, spent: g.spent });
        restored++;
      }
    }
    return restored;
  }

  /** Where {@link document} takes the cost per model from (the processor's). */
  models?: ModelCosts;

  /** The spend as the state file holds it (what {@link persist} writes), with the cost per model. */
  document(): PersistedFile {
    const doc: PersistedFile = { version: 1, budgets: {}, ...(this.models ? { models: this.models.document() } : {}) };
    for (const b of this.budgets) {
      doc.budgets[b.config.name] = {
        period: b.period,
        kind: b.config.period,
        timezone: b.config.timezone,
        groups: [...b.groups.values()]
          .filter((g) => !g.attrs.some((a) => a.key === 'otel.metric.overflow'))
          .map((g) => ({ attrs: Object.fromEntries(g.attrs.map((a) => [a.key, String(a.value)])), spent: g.spent })),
      };
    }
    return doc;
  }

  /** Marks the spend changed: the next {@link persist} writes it. */
  markDirty(): void {
    this.dirty = true;
  }

  /** Adds spend at `nowMs` for the call whose attributes `lookup` reads (the group_by values). */
  add(usd: number, nowMs: number, lookup: (key: string) => string | undefined): void {
    if (!(usd > 0) || !Number.isFinite(usd)) return;
    const minute = Math.floor(nowMs / 60_000);
    const budgets = this.budgets;
    for (let i = 0; i < budgets.length; i++) {
      const b = budgets[i]!;
      if (b.minute !== minute) this.roll(b, nowMs);
      const g = this.group(b, lookup);
      g.spent += usd;
      if (g === b.groups.get(OVERFLOW_KEY)) this.overflowed++;
    }
    this.dirty = true;
  }

  private group(b: BudgetState, lookup: (key: string) => string | undefined): BudgetGroup {
    const by = b.config.group_by;
    // the values joined by \u0001 (one value: the value itself, no string built)
    let key = by.length === 0 ? '' : (lookup(by[0]!) ?? '');
    for (let i = 1; i < by.length; i++) key += `\u0001${lookup(by[i]!) ?? ''}`;
    if (b.lastGroup !== undefined && key === b.lastKey) return b.lastGroup;
    let g = b.groups.get(key);
    if (!g) {
      const bytes = groupBytes(key);
      const fits = this.budget.admit(bytes);
      if (!fits) this.budget.shed(1);
      if (b.groups.size >= MAX_GROUPS || !fits) {
        g = b.groups.get(OVERFLOW_KEY);
        if (!g) {
          b.groups.set(OVERFLOW_KEY, (g = { attrs: [{ key: 'otel.metric.overflow', value: true }], spent: 0 }));
          this.budget.add(groupBytes(OVERFLOW_KEY));
        }
      } else {
        g = { attrs: by.map((k) => ({ key: k, value: lookup(k) ?? '' })), spent: 0 };
        b.groups.set(key, g);
        this.budget.add(bytes);
      }
    }
    b.lastKey = key;
    b.lastGroup = g;
    return g;
  }

  /** Starts a new period from zero when `nowMs` is past the current one. */
  private roll(b: BudgetState, nowMs: number): void {
    // every time zone's midnight falls on a whole minute: the period only needs computing once a minute
    // (Intl formatting costs microseconds; this runs for every priced call)
    const minute = Math.floor(nowMs / 60_000);
    if (minute === b.minute) return;
    b.minute = minute;
    const p = periodOf(b.formatter, b.config.period, nowMs);
    if (p !== b.period) {
      if (b.period !== '' && b.groups.size) this.dirty = true;
      b.period = p;
      for (const k of b.groups.keys()) this.budget.add(-groupBytes(k));
      b.groups.clear();
      b.lastGroup = undefined;
    }
  }

  /** Each budget's groups at `nowMs` (an ungrouped budget always has its one group, at 0 if nothing was spent). */
  snapshot(nowMs: number): { config: BudgetConfig; period: string; groups: BudgetGroup[] }[] {
    return this.budgets.map((b) => {
      this.roll(b, nowMs);
      const groups = [...b.groups.values()];
      if (b.config.group_by.length === 0 && groups.length === 0) groups.push({ attrs: [], spent: 0 });
      return { config: b.config, period: b.period, groups };
    });
  }

  /** Writes the state atomically if it changed since the last write. Serialised: never two writes at once. */
  persist(): Promise<void> {
    if (!this.dirty) return this.writing;
    this.dirty = false;
    const text = JSON.stringify(this.document());
    const write = this.writing.then(() => writeFileAtomic(this.file, text));
    this.writing = write.catch(() => {
      this.dirty = true; // try again next time
    });
    return write;
  }
}

function groupKey(attrs: readonly KeyValue[]): string {
  return attrs.map((a) => String(a.value)).join('\u0001');
}

/** What is wrong with the shape of a budgets.json document (for readStateFile), undefined when nothing is. */
function budgetFileShape(doc: unknown): string | undefined {
  if (!isRecord(doc) || doc.version !== 1 || !isRecord(doc.budgets)) return 'unexpected content: expected {"version": 1, "budgets": {...}}';
  for (const [name, saved] of Object.entries(doc.budgets)) {
    if (!isRecord(saved) || (saved.groups !== undefined && !Array.isArray(saved.groups))) return `unexpected content: budget ${JSON.stringify(name)} is not {"groups": [...], ...}`;
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
