/**
 * One memory budget for the whole process: every store that grows with its input (the alerts processor's
 * series, the percentiles processor's window series, the cost processor's usage series and budget groups,
 * the prometheus exporter's streams, the batch processor's buffers, request bodies in flight at the
 * receivers, the alert dispatcher's notification groups) holds a {@link BudgetAccount} and keeps on it an
 * estimate of the bytes it holds, in bytes, updated when an entry is added or removed.
 *
 * Before a store creates a new entry (a series, a group) it asks {@link BudgetAccount.admit}; when the
 * process-wide total would pass the budget's limit the answer is no, and the store folds the data into its
 * overflow entry (the OTel SDK's `otel.metric.overflow` series, as `percentiles` does past `max_series`) or
 * sheds it, and counts that with {@link BudgetAccount.shed} (`vigil_memory_budget_shed_items_total{store}`).
 * Entries that exist keep being updated: the budget stops growth, it never drops what is held. Stores
 * still have their own count bounds (`max_series` and so on); the budget bounds their sum in bytes.
 *
 * The limit is {@link DEFAULT_BUDGET_FRACTION} of V8's heap limit (`--max-old-space-size`), lowered by the
 * `memory_limiter` processor to half of its soft limit: the retained data then leaves the other half for
 * garbage, batches in flight and the runtime, so the heap can always fall back under the soft limit once
 * the input stops (after at most one window or retention), and the limiter stops refusing in seconds. The
 * limiter also reads the accounted growth since its last measurement beside the heap it measured (see
 * processors/memory_limiter), so that it refuses within a request, not a `check_interval`, after a burst.
 *
 * The estimates are deliberately coarse (a constant per entry plus the UTF-16 length of its keys and label
 * values, measured against V8's heap with `node --expose-gc`: see test/memory-budget.test.ts); they are kept
 * above the real size rather than below it.
 *
 * Exposed on vigil's own /metrics: `vigil_memory_budget_used_bytes{store}` (per store),
 * `vigil_memory_budget_limit_bytes` and `vigil_memory_budget_shed_items_total{store}`.
 */
import v8 from 'node:v8';

/** Share of V8's heap limit that the accounted stores may hold together when no memory_limiter sets it. */
export const DEFAULT_BUDGET_FRACTION = 0.4;
/** Share of memory_limiter's soft limit given to the accounted stores. */
export const LIMITER_BUDGET_FRACTION = 0.5;

/** Estimated bytes of a JS string of `s.length` UTF-16 units (V8: header + one or two bytes per unit). */
export function stringBytes(s: string): number {
  return 16 + s.length * 2;
}

/** Estimated bytes of a label record / attribute list: per entry an object or map slot plus both strings. */
export function labelsBytes(labels: Readonly<Record<string, string>>): number {
  let n = 32;
  for (const k in labels) n += 48 + stringBytes(k) + stringBytes(labels[k]!);
  return n;
}

/** One store's share of the {@link MemoryBudget}: bytes it holds now and items it shed. */
export class BudgetAccount {
  /** Bytes this store holds now (estimate). */
  bytes = 0;
  /** Items (points, spans, alerts) folded into an overflow entry or shed because the budget was full. */
  shedItems = 0;
  closed = false;

  constructor(
    private readonly budget: MemoryBudget,
    /** The store's name on /metrics (`processor/alerts series`). */
    readonly store: string,
  ) {}

  /** The store holds `n` more bytes (negative: fewer). */
  add(n: number): void {
    if (this.closed) return;
    this.bytes += n;
    this.budget.total += n;
  }

  /** The store holds `n` bytes in all now (recomputed, e.g. at a prune). */
  set(n: number): void {
    this.add(n - this.bytes);
  }

  /**
   * Whether `n` more bytes fit in the process-wide budget; when they do not, the caller folds or sheds
   * (and calls {@link shed}). A no never comes from this store alone: it is the sum of every store.
   */
  admit(n: number): boolean {
    return this.budget.total + n <= this.budget.limitBytes;
  }

  /** Counts `items` folded into an overflow entry or shed because the budget was full. */
  shed(items = 1): void {
    this.shedItems += items;
    this.budget.shedTotal += items;
  }

  /** The store is gone (shut down): its bytes leave the budget; its shed count stays on /metrics. */
  close(): void {
    if (this.closed) return;
    this.budget.total -= this.bytes;
    this.bytes = 0;
    this.closed = true;
  }
}

/** The process-wide accountant (see this file's comment). */
export class MemoryBudget {
  /** Bytes every open account holds together. */
  total = 0;
  /** Items shed by every account since start. */
  shedTotal = 0;
  /** The limit, in bytes. */
  limitBytes: number;
  private readonly accounts = new Set<BudgetAccount>();
  private readonly defaultLimit: number;
  /** Limits set by memory_limiter instances (the lowest wins), by owner. */
  private readonly limits = new Map<object, number>();

  constructor(limitBytes = Math.floor(v8.getHeapStatistics().heap_size_limit * DEFAULT_BUDGET_FRACTION)) {
    this.defaultLimit = limitBytes;
    this.limitBytes = limitBytes;
  }

  /** A new account for `store` (one per store instance; close it at shutdown). */
  account(store: string): BudgetAccount {
    const a = new BudgetAccount(this, store);
    this.accounts.add(a);
    return a;
  }

  /** Sets a limit for `owner` (a memory_limiter) until {@link clearLimit}; the lowest of all is used. */
  setLimit(owner: object, bytes: number): void {
    this.limits.set(owner, bytes);
    this.refreshLimit();
  }

  clearLimit(owner: object): void {
    this.limits.delete(owner);
    this.refreshLimit();
  }

  private refreshLimit(): void {
    let l = this.defaultLimit;
    for (const v of this.limits.values()) l = Math.min(l, v);
    this.limitBytes = l;
  }

  /** Whether the accounted stores hold the whole budget (new entries are folded or shed). */
  get exhausted(): boolean {
    return this.total >= this.limitBytes;
  }

  /** Per store name, the bytes held and items shed (closed accounts: shed only; they are then forgotten). */
  byStore(): Map<string, { bytes: number; shed: number }> {
    const out = new Map<string, { bytes: number; shed: number }>();
    for (const a of this.accounts) {
      const e = out.get(a.store) ?? { bytes: 0, shed: 0 };
      e.bytes += a.bytes;
      e.shed += a.shedItems;
      out.set(a.store, e);
    }
    return out;
  }

  /**
   * Drops closed accounts whose shed count is zero (nothing left to show); a closed account that shed
   * keeps its count (a counter never goes down) folded into one per store.
   */
  compact(): void {
    const keep = new Map<string, BudgetAccount>();
    for (const a of this.accounts) {
      if (!a.closed) continue;
      this.accounts.delete(a);
      if (!a.shedItems) continue;
      const k = keep.get(a.store);
      if (k) k.shedItems += a.shedItems;
      else keep.set(a.store, a);
    }
    for (const a of keep.values()) this.accounts.add(a);
  }
}

/** The process's budget, shared by every component of every service in it. */
export const memoryBudget = new MemoryBudget();
