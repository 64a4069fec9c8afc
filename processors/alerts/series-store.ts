/**
 * What the rules read: per metric name and attribute set, a time-ordered series of points, kept for the
 * longest window a rule needs on that metric (plus slack). Only metrics some rule names are stored.
 *
 * Points enter through the shared metric stream reader (src/streams, docs/metric-streams.md), which
 * turns cumulative points into increments the same way for every processor. Point kinds: `gauge` (gauges,
 * and cumulative non-monotonic sums: an up-down counter's value) and `delta` (delta sums) keep their
 * values; `counter` (cumulative monotonic sums) keeps the value and, beside it, the increment since the
 * stream's previous point, which rate/increase add up; `dist` keeps each point's buckets compactly (see
 * DistPoints: exponential histograms as they come, explicit histograms folded with
 * mergeExplicitHistogram; cumulative ones as increments), and per window length a merged histogram
 * updated incrementally (WindowHist); `summary` keeps count and sum increments and the latest quantiles.
 *
 * Selections are cheap to rebuild (Prometheus's inverted index, tsdb/index/postings.go): the series of each
 * metric are kept with postings lists (label value -> series), built for a label the first time a rule's
 * equality matcher names it and kept up to date as series come and go, so that a selection visits only the
 * series of its smallest equality posting list (its other matchers, regexes and negations, filter those).
 * A selection, once built, is kept up to date as series come and go rather than rebuilt: each metric
 * indexes the cached selections over it by the label value of their first equality matcher, so that a
 * new or removed series is checked against the selections that could hold it (work proportional to the
 * series that came or went, not to the series selected). Where an in-place change could not keep the
 * order a rebuild gives (a group's first series removed while the group stays, a selection over several
 * metrics), the selection is dropped and rebuilt on its next use.
 *
 * Memory is bounded twice: at most `maxSeries` series (further new series are dropped and counted), and
 * at most `maxPointsPerSeries` points per series (beyond it the older half is merged pairwise: deltas
 * and sketches add up, gauges and counters keep the later point, so windows lose time resolution at
 * their old end, never data). Its bytes are accounted in the process-wide memory budget
 * (src/memory-budget.ts, store `processor/alerts series`): an estimate per series added with the series,
 * removed with it, and the estimate of every series with its points (kept up to date as points come and
 * go) set at every prune; when the budget is full a new series is not
 * created (its points are dropped and counted, as past `maxSeries`), the series held keep their points.
 */
import type { Logger } from '../../src/logger.ts';
import { silentLogger } from '../../src/logger.ts';
import { attributesKey } from '../../src/attributes.ts';
import { type Batch, type KeyValue, type Metric, type ResourceMetrics, attrToString } from '../../src/model.ts';
import { type BudgetAccount, labelsBytes, memoryBudget, stringBytes } from '../../src/memory-budget.ts';
import { MAX_SCALE, Sketch } from '../../src/sketch.ts';
import { MetricStreamReader, type MetricPointVisitor, type PointContext } from '../../src/streams/metric-stream-reader.ts';
import type { ComponentTelemetry } from '../../src/telemetry.ts';
import { type Matcher, matchAll } from '../../src/matchers.ts';
import { EXPLICIT_SCALE, Series, type SeriesKind } from './series.ts';

export { Series, type SeriesKind, type SummaryPoint } from './series.ts';
export { type Stat, WindowAccumulator, parseStat } from './window-accumulator.ts';

/** One selection: metric names plus matchers, compiled once per rule. */
export interface Selector {
  /** Unique per distinct (metrics, matchers); used as a cache key. */
  id: string;
  metrics: readonly string[];
  matchers: readonly Matcher[];
}

/** The series of one group of a rule's selection (its `group_by` values). */
export interface SeriesGroup {
  /** The group key (the group_by values, each followed by \u0000). */
  key: string;
  /** Index of the group in its GroupSet's list. */
  i: number;
  labels: Record<string, string>;
  series: Series[];
}

/**
 * The groups of one selection and group_by, as a map by key and as a list (iterated without allocating),
 * kept up to date in place as series come and go (see this file's comment).
 */
export interface GroupSet {
  /** The store's change count when the set was built. */
  gen: number;
  map: Map<string, SeriesGroup>;
  list: SeriesGroup[];
  /** Bumped at every change in place (a series or group added or removed): values computed per group for an older version are stale. */
  version: number;
  sel: Selector;
  groupBy: readonly string[];
  /** Its key in the store's selection cache. */
  cacheKey: string;
}

/**
 * The series of one metric (see this file's comment): by series key, and per indexed label name, the
 * series per value, each list in the order the series were added (as `byKey` iterates).
 */
class MetricSeries {
  readonly byKey = new Map<string, Series>();
  /**
   * The cached selections over this metric (see this file's comment), by the label name and value of
   * their first equality matcher with a non-empty value; `watchAll`: those without one.
   */
  readonly watchByLabel = new Map<string, Map<string, GroupSet[]>>();
  readonly watchAll: GroupSet[] = [];
  /** Label name -> value -> series (only labels some equality matcher asked for; a missing label is not indexed). */
  private readonly postings = new Map<string, Map<string, Set<Series>>>();

  add(s: Series): void {
    this.byKey.set(s.key, s);
    for (const [label, byValue] of this.postings) {
      const v = s.attrs[label];
      if (v === undefined) continue;
      let set = byValue.get(v);
      if (!set) byValue.set(v, (set = new Set()));
      set.add(s);
    }
  }

  delete(s: Series): void {
    this.byKey.delete(s.key);
    for (const [label, byValue] of this.postings) {
      const v = s.attrs[label];
      if (v === undefined) continue;
      const set = byValue.get(v);
      if (!set) continue;
      set.delete(s);
      if (set.size === 0) byValue.delete(v);
    }
  }

  /** The series whose label `label` is `value` (built on first use for that label, then maintained). */
  postingsFor(label: string, value: string): ReadonlySet<Series> | undefined {
    let byValue = this.postings.get(label);
    if (!byValue) {
      this.postings.set(label, (byValue = new Map()));
      for (const s of this.byKey.values()) {
        const v = s.attrs[label];
        if (v === undefined) continue;
        let set = byValue.get(v);
        if (!set) byValue.set(v, (set = new Set()));
        set.add(s);
      }
    }
    return byValue.get(value);
  }

  /**
   * The series a selection needs to look at: the smallest posting list of its equality matchers with a
   * non-empty value (`k: ""` also matches a missing label, which no posting list holds), else every series.
   * The caller still checks every matcher on each.
   */
  candidates(matchers: readonly Matcher[]): Iterable<Series> {
    let best: ReadonlySet<Series> | undefined;
    for (const m of matchers) {
      if (m.op !== '=' || m.value === '') continue;
      const set = this.postingsFor(m.name, m.value);
      if (!set) return NO_SERIES;
      if (!best || set.size < best.size) best = set;
    }
    return best ?? this.byKey.values();
  }
}

const NO_SERIES: readonly Series[] = [];

/** The least a series' first point outlives its retention before the series is due for a prune, ms. */
const PRUNE_SLACK_MS = 30_000;
/** Prune slots: a series' turn comes once a minute, in the slot of its sequence number (SeriesStore.prune). */
const PRUNE_SLOTS = 6;
const PRUNE_CYCLE_MS = 60_000;

/**
 * When a series that is not a counter is due for a prune, Unix ms (see SeriesStore.prune): the first time in
 * its slot of the minute (one of six, 10 s apart, by a hash of `seq`) once its first point is `keep` + 30 s
 * old, so 30 to 90 s after that point left the retention.
 */
export function pruneDueAt(s: Series, keep: number): number {
  const base = s.t[0]! + keep + PRUNE_SLACK_MS;
  // the slot from a hash of seq, not seq itself: series created in a pattern (a histogram and a counter of each
  // span name, alternately) would otherwise fill the even slots with one kind and the odd ones with the other
  const slot = (((Math.imul(s.seq, 0x9e3779b1) >>> 0) % PRUNE_SLOTS) * PRUNE_CYCLE_MS) / PRUNE_SLOTS;
  return base + ((((slot - base) % PRUNE_CYCLE_MS) + PRUNE_CYCLE_MS) % PRUNE_CYCLE_MS);
}

/**
 * What a {@link SeriesStore} is built with: its bounds, the retention per metric (ms), logging, telemetry,
 * and since when (Unix ms) streams and windows are observed.
 */
export interface StoreOptions {
  maxSeries: number;
  maxPointsPerSeries: number;
  /** Retention per metric name, milliseconds. Metrics not listed are not stored. */
  retention: ReadonlyMap<string, number>;
  /** For the stream reader: where it logs and counts skipped points (default: silent, not counted). */
  logger?: Logger;
  telemetry?: ComponentTelemetry;
  /** Since when (ms) vigil could see metric streams (default: now): see src/streams. */
  sinceMs?: number;
  /** Since when (ms) the store holds data for the rules' windows (default: its creation); see observedSince. */
  observedFrom?: number;
  /** Where its bytes are accounted (default: a new account in the process's memory budget). */
  budget?: BudgetAccount;
}

/**
 * Estimated bytes of one stored series: the object and its arrays (measured: about 750 bytes for a series
 * of two labels with up to 10 points, 1,500 with one histogram point), its key and labels, and per point
 * its time, value and increment (a histogram point: its sketch).
 */
export function seriesBytes(s: Series): number {
  if (s.baseBytes === 0) s.baseBytes = newSeriesBytes(s.key, s.attrs);
  return s.baseBytes + s.length * (s.kind === 'dist' ? 900 : s.kind === 'summary' ? 200 : 32);
}

/** {@link seriesBytes} of a series without points: the object, key, labels and its entries in the label postings. */
function newSeriesBytes(key: string, labels: Readonly<Record<string, string>>): number {
  let postings = 0;
  for (const _ in labels) postings += 64;
  return 600 + stringBytes(key) + labelsBytes(labels) + postings;
}

/**
 * What the rules read (see this file's comment): bounded series per metric and attributes, fed by the metric
 * stream reader.
 */
export class SeriesStore {
  /** Per stored metric (an entry stays when its series are gone: metric names are bounded by the rules'). */
  private readonly byMetric = new Map<string, MetricSeries>();
  private seriesCount = 0;
  /** Bumped whenever a series is added or removed. */
  private generation = 0;
  /**
   * Series looked at to build selections or keep them up to date since the store began (a cost count for
   * tests and benches, not timing): a build counts each candidate series, a series that came or went
   * counts once per cached selection it was checked against.
   */
  seriesScanned = 0;
  private readonly groupCache = new Map<string, GroupSet>();
  /** {@link seriesBytes} summed over the series held, kept up to date as series and points come and go. */
  private bytes = 0;
  /**
   * When each series is next due for pruning (see prune): per second (Unix ms / 1000), the series filed
   * there (an entry is stale when the series has moved since: Series.pruneBucket); counters, pruned every
   * round, apart. A prune visits the series due, not all of them.
   */
  private readonly pruneDue = new Map<number, Series[]>();
  private readonly counters = new Set<Series>();
  /** Points refused because the series cap was reached or the memory budget was full (since start). */
  droppedPoints = 0;
  /** This store's share of the process's memory budget. */
  readonly budget: BudgetAccount;
  /** Received points as deltas, whatever their temporality (src/streams). */
  private streams: MetricStreamReader;
  /** Scratch of ingest(): the batch's arrival time, points stored, the current resource's attributes. */
  private nowMs = 0;
  private stored = 0;
  private resOf: ResourceMetrics | undefined;
  private resAttrs: Record<string, string> = {};
  /** The metric whose stream part of the series key is in `streamPart`. */
  private streamOf: PointContext['metric'] | undefined;
  private streamScope: PointContext['scopeMetrics'] | undefined;
  private streamPart = '';

  /** Per metric, since when it has been observed, when earlier or later than the store's start (see {@link adopt}). */
  private readonly observedFrom = new Map<string, number>();
  private readonly startedAt: number;

  constructor(private readonly opts: StoreOptions) {
    this.startedAt = opts.observedFrom ?? Date.now();
    this.budget = opts.budget ?? memoryBudget.account('processor/alerts series');
    this.streams = new MetricStreamReader({
      component: 'alerts',
      logger: opts.logger ?? silentLogger(),
      telemetry: opts.telemetry,
      maxStreams: opts.maxSeries * 2,
      sinceMs: opts.sinceMs,
    });
  }

  /**
   * Since when (ms) the points of `metric` have been observed: the store's start, or for series a reload
   * carried over, the earliest time their data can cover. A window reaching before this is not fully
   * observed (the rules treat it as no data for clearing: a restart must not resolve an alert).
   */
  observedSince(metric: string): number {
    return this.observedFrom.get(metric) ?? this.startedAt;
  }

  /**
   * Takes over the series of `old` (a store the alerts processor had before a reload changed its config)
   * for every metric this store keeps: no window restarts empty because of the reload. A metric's points
   * cover at most the old retention back, so it counts as observed from `max(old start, now - old
   * retention)`. Series beyond `maxSeries` are left behind. Returns the number of series taken.
   */
  adopt(old: SeriesStore, now: number): number {
    let taken = 0;
    for (const [metric, perMetric] of old.byMetric) {
      if (!this.opts.retention.has(metric)) continue;
      const mine = this.metricSeries(metric);
      for (const [key, series] of perMetric.byKey) {
        if (mine.byKey.has(key) || this.seriesCount >= this.opts.maxSeries) continue;
        mine.add(series);
        ++this.generation;
        this.seriesCount++;
        this.budget.add(seriesBytes(series));
        this.bytes += seriesBytes(series);
        series.pruneBucket = -1;
        this.fileForPrune(series, now);
        taken++;
      }
      const oldKeep = old.opts.retention.get(metric) ?? 0;
      this.observedFrom.set(metric, Math.max(old.observedSince(metric), now - oldKeep));
    }
    // the stream reader's baselines too, so the first cumulative point after the reload is an increment;
    // the old store gets this one's unused reader, so that its close() does not stop the adopted one's
    // figures on /metrics
    const unused = this.streams;
    this.streams = old.streams;
    old.streams = unused;
    this.streams.claim();
    this.dropSelections();
    return taken;
  }

  get size(): number {
    return this.seriesCount;
  }

  /** Whether any rule reads this metric. */
  wants(metric: string): boolean {
    return this.opts.retention.has(metric);
  }

  /**
   * Stores the points of every wanted metric in the batch. `nowMs` replaces missing or far-future times.
   * Points come through the shared stream reader (src/streams): cumulative histograms and summaries are
   * stored as the increments since their stream's previous point (a baseline stores nothing), cumulative
   * monotonic sums keep their value and the increment beside it.
   */
  ingest(batch: Batch, nowMs: number): number {
    if (!batch.resourceMetrics) return 0;
    this.stored = 0;
    this.nowMs = nowMs;
    this.resOf = undefined;
    this.streams.read(batch, this.wantsMetric, this.visitor, nowMs);
    return this.stored;
  }

  /** Forgets what the stream reader registered on /metrics (call when the store is dropped). */
  close(): void {
    this.streams.close();
    this.budget.close();
  }

  private readonly wantsMetric = (m: Metric): boolean => this.opts.retention.has(m.name);
  private readonly visitor: MetricPointVisitor = {
    number: (ctx, delta, dp) => {
      const d = ctx.metric.data!;
      // a cumulative monotonic sum is a counter (its value, and the increment beside it); a cumulative
      // non-monotonic one (an up-down counter) is a gauge of its current value, as Prometheus maps it
      const counter = ctx.cumulative && d.type === 'sum' && d.isMonotonic;
      const kind: SeriesKind = counter ? 'counter' : ctx.cumulative || d.type === 'gauge' ? 'gauge' : 'delta';
      const value = typeof dp.value === 'bigint' ? Number(dp.value) : dp.value;
      const s = this.pointSeries(ctx, dp, kind);
      if (!s) return;
      const before = seriesBytes(s);
      const first = s.length ? s.t[0]! : Infinity;
      s.insert(pointTime(dp.timeUnixNano, this.nowMs), value, undefined, undefined, counter ? (delta ?? 0) : 0);
      this.afterInsert(s, before, first);
    },
    // a point with no new observation is stored too (count 0): `count` and `rate` over a window of such
    // points are 0, not "no data"
    histogram: (ctx, delta) => {
      if (!delta) return;
      const sk = new Sketch(EXPLICIT_SCALE);
      if (!sk.mergeExplicitHistogram(delta)) return this.streams.skip('no_value', 1, `metric ${ctx.metric.name}`);
      this.storeDist(ctx, delta, sk);
    },
    exponentialHistogram: (ctx, delta) => {
      if (!delta) return;
      const sk = new Sketch(Math.min(MAX_SCALE, delta.scale));
      if (!sk.mergeDataPoint(delta)) return this.streams.skip('no_value', 1, `metric ${ctx.metric.name}`);
      this.storeDist(ctx, delta, sk);
    },
    // a staleness marker (Prometheus) / FLAG_NO_RECORDED_VALUE point (OTLP): never creates a series
    noRecordedValue: (ctx, dp) => {
      this.existingSeries(ctx.metric.name, this.resourceAttrs(ctx), dp.attributes, this.streamKeyOf(ctx))?.markStale(pointTime(dp.timeUnixNano, this.nowMs));
    },
    summary: (ctx, delta) => {
      if (!delta) return;
      const s = this.pointSeries(ctx, delta, 'summary');
      if (!s) return;
      const before = seriesBytes(s);
      const first = s.length ? s.t[0]! : Infinity;
      s.insert(pointTime(delta.timeUnixNano, this.nowMs), delta.count, undefined, {
        count: delta.count,
        sum: delta.sum,
        quantiles: delta.quantileValues.map((q) => ({ quantile: q.quantile, value: q.value })),
      });
      this.afterInsert(s, before, first);
    },
  };

  private storeDist(ctx: PointContext, dp: { attributes: KeyValue[]; timeUnixNano: bigint }, sk: Sketch): void {
    const s = this.pointSeries(ctx, dp, 'dist');
    if (!s) return;
    const before = seriesBytes(s);
    const first = s.length ? s.t[0]! : Infinity;
    s.insert(pointTime(dp.timeUnixNano, this.nowMs), sk.count, sk);
    this.afterInsert(s, before, first);
  }

  /** The current resource's attributes as a record (built once per resource of a batch). */
  private resourceAttrs(ctx: PointContext): Record<string, string> {
    if (this.resOf !== ctx.resourceMetrics) {
      this.resOf = ctx.resourceMetrics;
      this.resAttrs = attrsToRecord(ctx.resourceMetrics.resource.attributes, {});
    }
    return this.resAttrs;
  }

  private pointSeries(ctx: PointContext, dp: { attributes: KeyValue[] }, kind: SeriesKind): Series | undefined {
    const s = this.seriesFor(ctx.metric.name, this.resourceAttrs(ctx), dp.attributes, kind, this.streamKeyOf(ctx));
    if (!s) this.droppedPoints++;
    return s;
  }

  /** After a point went into `s` (which held `before` bytes and had its first point at `first`). */
  private afterInsert(s: Series, before: number, first: number): void {
    if (s.length > this.opts.maxPointsPerSeries) s.compact();
    this.bytes += seriesBytes(s) - before;
    // a point older than the first one: the series may be due earlier than it was filed for
    if (s.t[0]! < first && s.kind !== 'counter') {
      s.pruneBucket = -1;
      this.fileForPrune(s, this.nowMs);
    }
    this.stored++;
  }

  /**
   * Files `s` for the prune at or after `at` (Unix ms) when it is due then (see prune): counters every round,
   * others once their first point is old enough.
   */
  private fileForPrune(s: Series, at: number): void {
    if (s.kind === 'counter') {
      this.counters.add(s);
      s.pruneBucket = -1;
      return;
    }
    this.counters.delete(s);
    const keep = this.opts.retention.get(s.metric) ?? 0;
    const due = s.length ? Math.max(at, pruneDueAt(s, keep)) : at;
    const bucket = Math.floor(due / 1000);
    if (s.pruneBucket !== -1 && s.pruneBucket <= bucket) return; // filed for an earlier prune already
    s.pruneBucket = bucket;
    let list = this.pruneDue.get(bucket);
    if (!list) this.pruneDue.set(bucket, (list = []));
    list.push(s);
  }

  /**
   * The part of a series key that its labels do not show but the OTLP stream identity has (the stream
   * reader's, docs/metric-streams.md): the scope (name, version, attributes), the unit, and which resource
   * attributes are not strings. Two streams whose labels are the same (two instrumentation scopes, `ms` and
   * `s`, `"200"` and `200`) are two series: read as one, a gauge jumping between their values would make
   * `increase` count a reset at every point and `last` the value of whichever came last.
   */
  private streamKeyOf(ctx: PointContext): string {
    if (this.streamOf !== ctx.metric || this.streamScope !== ctx.scopeMetrics) {
      this.streamOf = ctx.metric;
      this.streamScope = ctx.scopeMetrics;
      const sc = ctx.scopeMetrics.scope;
      const scope = sc ? `${sc.name.length}:${sc.name}${sc.version.length}:${sc.version}${sc.attributes?.length ? attributesKey(sc.attributes) : ''}` : '';
      this.streamPart = `\u0002${scope}\u0002${ctx.metric.unit}\u0002${typesOf(ctx.resourceMetrics.resource.attributes)}`;
    }
    return this.streamPart;
  }

  /** The series of these attributes if it exists (a staleness marker never creates one). */
  private existingSeries(metric: string, res: Record<string, string>, attrs: readonly KeyValue[], stream: string): Series | undefined {
    const merged = attrs.length ? attrsToRecord(attrs, { ...res }) : res;
    return this.byMetric.get(metric)?.byKey.get(seriesKey(merged) + stream + typesOf(attrs));
  }

  private metricSeries(metric: string): MetricSeries {
    let m = this.byMetric.get(metric);
    if (!m) this.byMetric.set(metric, (m = new MetricSeries()));
    return m;
  }

  private seriesFor(metric: string, res: Record<string, string>, attrs: readonly KeyValue[], kind: SeriesKind, stream: string): Series | undefined {
    const merged = attrs.length ? attrsToRecord(attrs, { ...res }) : res;
    const key = seriesKey(merged) + stream + typesOf(attrs);
    const perMetric = this.metricSeries(metric);
    let s = perMetric.byKey.get(key);
    if (s) {
      // the metric changed type: start over rather than mix kinds
      if (s.kind !== kind) {
        this.bytes -= seriesBytes(s);
        s.resetAs(kind);
        this.bytes += seriesBytes(s);
        s.pruneBucket = -1;
        this.fileForPrune(s, this.nowMs);
      }
      return s;
    }
    if (this.seriesCount >= this.opts.maxSeries) return undefined;
    const labels = merged === res ? { ...res } : merged;
    const base = newSeriesBytes(key, labels);
    const estimate = base + 32;
    if (!this.budget.admit(estimate)) {
      this.budget.shed(1);
      return undefined;
    }
    s = new Series(metric, key, labels, kind);
    s.baseBytes = base;
    perMetric.add(s);
    ++this.generation;
    this.seriesCame(perMetric, s, true);
    this.budget.add(estimate);
    this.bytes += seriesBytes(s);
    this.fileForPrune(s, this.nowMs);
    this.seriesCount++;
    return s;
  }

  /**
   * Drops points older than each metric's retention, and series left empty. Points go in steps of about a
   * minute rather than one at a time: a few stale points cost nothing (windows are cut by time), shifting
   * arrays every round does. A series is visited when it is due ({@link pruneDueAt}: its first point 30 to
   * 90 s past the retention, in its slot of six in the minute), so that each round prunes about a sixth of
   * the series, each by a minute of points; before, with a slack of 30 to 60 s by `seq` mod 4, series that
   * started together all shifted in four rounds out of six, a quarter of them at once (up to 7.7 ms of a
   * 20 ms round of the alerts bench), and none in the other two. Counters are visited every round (they
   * keep one point before the retention and go when their newest point is that old).
   */
  prune(nowMs: number): void {
    const now = Math.floor(nowMs / 1000);
    for (const [bucket, list] of this.pruneDue) {
      if (bucket > now) continue;
      let kept = 0;
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (s.pruneBucket !== bucket) continue; // moved since it was filed here
        const keep = this.opts.retention.get(s.metric) ?? 0;
        const due = s.length ? pruneDueAt(s, keep) : nowMs;
        if (due > nowMs) {
          // not due yet (its first point moved on, a compaction): due later within this second, or filed anew
          if (Math.floor(due / 1000) <= now) list[kept++] = s;
          else {
            s.pruneBucket = -1;
            this.fileForPrune(s, nowMs);
          }
          continue;
        }
        s.pruneBucket = -1;
        this.pruneSeries(s, nowMs, keep);
      }
      if (kept) list.length = kept;
      else this.pruneDue.delete(bucket);
    }
    for (const s of this.counters) this.pruneSeries(s, nowMs, this.opts.retention.get(s.metric) ?? 0);
    this.budget.set(this.bytes);
  }

  private pruneSeries(s: Series, nowMs: number, keep: number): void {
    const perMetric = this.byMetric.get(s.metric);
    if (perMetric?.byKey.get(s.key) !== s) {
      this.counters.delete(s);
      return; // no longer held
    }
    const before = seriesBytes(s);
    s.prune(nowMs - keep);
    if (s.length === 0 || (s.kind === 'counter' && s.t[s.t.length - 1]! <= nowMs - keep)) {
      perMetric.delete(s);
      this.counters.delete(s);
      ++this.generation;
      this.seriesCame(perMetric, s, false);
      this.seriesCount--;
      this.bytes -= before;
    } else {
      this.bytes += seriesBytes(s) - before;
      this.fileForPrune(s, nowMs + 1);
    }
  }

  /** The series a selector picks, grouped by the values of `groupBy` (cached until the series set changes). */
  groups(sel: Selector, groupBy: readonly string[]): Map<string, SeriesGroup> {
    return this.groupSet(sel, groupBy).map;
  }

  /**
   * As {@link groups}, with the list too; `cacheKey` (selector id and group_by) can be given precomputed.
   * Built once, visiting only the candidates of its equality matchers (MetricSeries.candidates), then kept
   * up to date as series come and go (see this file's comment). Groups and their series are in the order
   * the series were added.
   */
  groupSet(sel: Selector, groupBy: readonly string[], cacheKey: string = groupCacheKey(sel, groupBy)): GroupSet {
    const hit = this.groupCache.get(cacheKey);
    if (hit) return hit;
    const set: GroupSet = { gen: this.generation, map: new Map(), list: [], version: 0, sel, groupBy, cacheKey };
    for (const metric of sel.metrics) {
      const perMetric = this.byMetric.get(metric);
      if (!perMetric) continue;
      for (const s of perMetric.candidates(sel.matchers)) {
        this.seriesScanned++;
        if (matchAll(sel.matchers, s.attrs)) addToGroup(set, s);
      }
    }
    this.groupCache.set(cacheKey, set);
    this.watch(set, true);
    return set;
  }

  /** Registers (or unregisters) a cached selection with the metrics it reads (see MetricSeries.watchByLabel). */
  private watch(set: GroupSet, on: boolean): void {
    const eq = set.sel.matchers.find((m) => m.op === '=' && m.value !== '');
    for (const metric of set.sel.metrics) {
      const perMetric = this.metricSeries(metric);
      let list: GroupSet[] | undefined = perMetric.watchAll;
      if (eq) {
        let byValue = perMetric.watchByLabel.get(eq.name);
        if (!byValue && on) perMetric.watchByLabel.set(eq.name, (byValue = new Map()));
        list = byValue?.get(eq.value);
        if (!list && on) byValue!.set(eq.value, (list = []));
        if (!list) continue;
        if (!on) {
          const i = list.indexOf(set);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) byValue!.delete(eq.value);
          if (byValue!.size === 0) perMetric.watchByLabel.delete(eq.name);
          continue;
        }
      }
      if (on) list.push(set);
      else {
        const i = list.indexOf(set);
        if (i >= 0) list.splice(i, 1);
      }
    }
  }

  /** Forgets every cached selection (they are rebuilt on their next use). */
  private dropSelections(): void {
    this.groupCache.clear();
    for (const perMetric of this.byMetric.values()) {
      perMetric.watchByLabel.clear();
      perMetric.watchAll.length = 0;
    }
  }

  /** Drops one cached selection: rebuilt on its next use. */
  private dropSelection(set: GroupSet): void {
    if (this.groupCache.get(set.cacheKey) === set) this.groupCache.delete(set.cacheKey);
    this.watch(set, false);
  }

  /** Series `s` of `perMetric` was added (`came`) or removed: updates the cached selections that may hold it. */
  private seriesCame(perMetric: MetricSeries, s: Series, came: boolean): void {
    let drop: GroupSet[] | undefined;
    const visit = (sets: readonly GroupSet[]) => {
      for (let i = 0; i < sets.length; i++) {
        const set = sets[i]!;
        this.seriesScanned++;
        if (!matchAll(set.sel.matchers, s.attrs)) continue;
        if (!(came ? addInPlace(set, s) : removeInPlace(set, s))) (drop ??= []).push(set);
      }
    };
    for (const [label, byValue] of perMetric.watchByLabel) {
      const v = s.attrs[label];
      if (v === undefined) continue;
      const sets = byValue.get(v);
      if (sets) visit(sets);
    }
    visit(perMetric.watchAll);
    if (drop) for (const set of drop) this.dropSelection(set);
  }
}

/** Adds `s` to its group of `set` (a new group at the end of the list). */
function addToGroup(set: GroupSet, s: Series): void {
  const labels: Record<string, string> = {};
  let key = '';
  for (const g of set.groupBy) {
    const v = s.attrs[g] ?? '';
    if (v !== '') labels[g] = v;
    key += `${v}\u0000`;
  }
  let grp = set.map.get(key);
  if (!grp) {
    set.map.set(key, (grp = { key, i: set.list.length, labels, series: [] }));
    set.list.push(grp);
  }
  grp.series.push(s);
}

/** The group key of `s` in `set`. */
function groupKeyIn(set: GroupSet, s: Series): string {
  let key = '';
  for (const g of set.groupBy) key += `${s.attrs[g] ?? ''}\u0000`;
  return key;
}

/**
 * A new series `s` (matching the selection) goes last, where a rebuild would put it: false when it would
 * not (a selection over several metrics: the series of the earlier metrics come first).
 */
function addInPlace(set: GroupSet, s: Series): boolean {
  const metrics = set.sel.metrics;
  if (metrics.length > 1) return false;
  addToGroup(set, s);
  set.version++;
  return true;
}

/**
 * Removes series `s` (matching the selection) in place, keeping the order a rebuild gives: false when it
 * cannot (the first series of a group that stays: the group's place could change; several metrics).
 */
function removeInPlace(set: GroupSet, s: Series): boolean {
  if (set.sel.metrics.length > 1) return false;
  const key = groupKeyIn(set, s);
  const grp = set.map.get(key);
  if (!grp) return false;
  const i = grp.series.indexOf(s);
  if (i < 0) return false;
  if (grp.series.length === 1) {
    set.map.delete(key);
    const list = set.list;
    list.splice(grp.i, 1);
    for (let j = grp.i; j < list.length; j++) list[j]!.i = j;
  } else if (i === 0) return false;
  else grp.series.splice(i, 1);
  set.version++;
  return true;
}

/** The group cache key of a selection and group_by. */
export function groupCacheKey(sel: Selector, groupBy: readonly string[]): string {
  return `${sel.id}\u0000${groupBy.join('\u0000')}`;
}

function attrsToRecord(attrs: readonly KeyValue[], into: Record<string, string>): Record<string, string> {
  for (let i = 0; i < attrs.length; i++) into[attrs[i]!.key] = attrToString(attrs[i]!.value);
  return into;
}

/** Which attributes are not strings, and their types (order-independent; '' when all are strings, the common case). */
function typesOf(attrs: readonly KeyValue[]): string {
  let out: string[] | undefined;
  for (let i = 0; i < attrs.length; i++) {
    const v = attrs[i]!.value;
    if (typeof v !== 'string') (out ??= []).push(`${attrs[i]!.key}\u0001${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}`);
  }
  return out ? out.sort().join('\u0000') : '';
}

function seriesKey(attrs: Record<string, string>): string {
  const keys = Object.keys(attrs).sort();
  let k = '';
  for (const name of keys) k += `${name}\u0001${attrs[name]}\u0000`;
  return k;
}

function pointTime(ns: bigint, nowMs: number): number {
  if (ns <= 0n) return nowMs;
  const ms = Number(ns / 1_000_000n);
  return ms > nowMs + 300_000 ? nowMs : ms;
}
