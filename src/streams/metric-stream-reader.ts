/**
 * The one way vigil reads received metric points: every processor that needs increments (percentiles,
 * cost, alerts) walks a batch through a MetricStreamReader and is handed, per point, what happened since
 * the stream's previous point, whatever the sender's temporality. Rules (docs/metric-streams.md):
 *
 * - Stream identity is the OTLP data model's: resource attributes and their values, instrumentation scope
 *   (name, version, attributes), metric name, type, unit, temporality and monotonicity, and the point's
 *   attributes (values typed: `"3"` and `3` differ).
 * - Delta points and gauges are handed over as they are (no state).
 * - Cumulative points (sums, explicit and exponential histograms, summaries) become deltas:
 *   - the first point of a stream that started before the reader could see it (start time before the
 *     reader was created, or unknown) is a baseline: nothing of it is counted, as Prometheus' `increase()`
 *     and the Collector's `cumulativetodelta` (initial_value: auto) do; a stream that started after
 *     that counts whole from its first point;
 *   - a point with a new start time at or after the previous point's time is a restart: it counts whole;
 *     a value that went down (a monotonic sum, a count, a bucket) is a reset: it counts whole too; a new
 *     start time before the previous point with no drop (two senders sharing one identity, or a clock
 *     step) cannot be placed: it becomes the new baseline and is counted as `conflicting_start_time`;
 *   - a point not newer than the previous one (duplicate, late) is skipped: `out_of_order`;
 *   - see ./cumulative.ts for changes of bounds, scale and zero threshold.
 * - Streams are bounded (`maxStreams`; the least recently used is forgotten first) and expire after `idleMs` without a
 *   point. Any forgotten stream moves the reader's horizon to its last point's time, so that its next
 *   point is a baseline again rather than counted twice.
 * - Malformed points are skipped with a reason. Every skipped or baseline point is counted on /metrics as
 *   `vigil_processor_metric_points_skipped_total{processor,reason}` and logged once per reason; live
 *   streams are `vigil_processor_metric_streams{processor}`, forgotten ones
 *   `vigil_processor_metric_streams_removed_total{processor,reason="idle"|"limit"}`.
 */
import { type BudgetAccount, memoryBudget, stringBytes } from '../memory-budget.ts';
import type { Attributes, Meter } from '@opentelemetry/api';
import type { ComponentTelemetry } from '../telemetry.ts';
import type { Logger } from '../logger.ts';
import { attributesKey } from '../attributes.ts';
import { StreamTable } from './stream-table.ts';
import {
  AggregationTemporality,
  type Batch,
  type ExponentialHistogramDataPoint,
  type HistogramDataPoint,
  type InstrumentationScope,
  type KeyValue,
  type Metric,
  type NumberDataPoint,
  type Resource,
  type ResourceMetrics,
  type ScopeMetrics,
  type SummaryDataPoint,
} from '../model.ts';
import { MAX_SCALE, MIN_SCALE } from '../sketch.ts';
import {
  RESET,
  StreamState,
  diffExponential,
  diffHistogram,
  diffNumber,
  diffSummary,
  exponentialProblem,
  histogramProblem,
  numberDropped,
  numberProblem,
  rememberExponential,
  rememberHistogram,
  rememberNumber,
  rememberSummary,
  summaryProblem,
} from './cumulative.ts';

/** Why a point was not counted (a label value of the skipped-points counter). */
export type SkipReason =
  /** The first point of a stream that started before vigil could see it (its increments are unknown). */
  | 'cumulative_baseline'
  /** A new start time before the previous point, with no drop: the point became the new baseline. */
  | 'conflicting_start_time'
  /** A cumulative point not newer than its stream's previous point. */
  | 'out_of_order'
  /** A point that breaks the OTLP data model (see the log line for which rule). */
  | 'malformed'
  /** A metric type the processor does not read (e.g. a sum given to `percentiles`). */
  | 'unsupported_type'
  /** A distribution point with nothing to place (no bucket, sum, min or max). */
  | 'no_value';

const MESSAGES: Record<SkipReason, string> = {
  cumulative_baseline: 'the first point of a cumulative stream that started before vigil could see it is its baseline: only later increments are counted',
  conflicting_start_time: 'a cumulative point restarted before its previous point without a drop (two senders with one stream identity?): taken as a new baseline',
  out_of_order: 'a cumulative point not newer than its stream\'s previous point was skipped',
  malformed: 'a metric point that breaks the OTLP data model was skipped',
  unsupported_type: 'a metric of a type this processor does not read was skipped',
  no_value: 'a histogram point with no bucket, sum, min or max has no value to place: skipped',
};

/** Where a point was found; lent for the duration of the visitor call (the reader reuses it). */
export interface PointContext {
  resourceMetrics: ResourceMetrics;
  scopeMetrics: ScopeMetrics;
  metric: Metric;
  /** Whether the metric is cumulative (so the point was turned into a delta by the reader). */
  cumulative: boolean;
}

/**
 * What a processor does with each point. A method receives the point as sent (`point`) and the increment
 * since the stream's previous point (`delta`): the point itself for delta temporality (and gauges), the
 * difference for a cumulative one, or `undefined` for a baseline (nothing new is known). Deltas of
 * cumulative histograms carry no min/max; the objects are the caller's to read during the call only.
 * A metric whose type has no method here is skipped and counted as `unsupported_type`.
 */
export interface MetricPointVisitor {
  /** Gauges and sums: `delta` is a gauge's value, a delta sum's value, or a cumulative sum's increase. */
  number?(ctx: PointContext, delta: number | undefined, point: NumberDataPoint): void;
  histogram?(ctx: PointContext, delta: HistogramDataPoint | undefined, point: HistogramDataPoint): void;
  exponentialHistogram?(ctx: PointContext, delta: ExponentialHistogramDataPoint | undefined, point: ExponentialHistogramDataPoint): void;
  /** Summaries are cumulative by definition (OTLP): `delta` has the count and sum since the previous point. */
  summary?(ctx: PointContext, delta: SummaryDataPoint | undefined, point: SummaryDataPoint): void;
  /**
   * A point flagged FLAG_NO_RECORDED_VALUE (a staleness marker: the stream has no value at that time). It
   * carries no value and leaves the stream's state as it was; without this method it is ignored.
   */
  noRecordedValue?(ctx: PointContext, point: { attributes: KeyValue[]; timeUnixNano: bigint }): void;
}

/** OTLP DataPointFlags.FLAG_NO_RECORDED_VALUE. */
export const FLAG_NO_RECORDED_VALUE = 1;

/** What a {@link MetricStreamReader} is built with; times in milliseconds. */
export interface MetricStreamReaderOptions {
  /** Component name for log lines (`percentiles`). */
  component: string;
  logger: Logger;
  /** The component's telemetry; undefined: nothing is registered on /metrics (tests, `vigil test`). */
  telemetry?: ComponentTelemetry;
  /** Most cumulative streams held; past it the least recently used is forgotten. */
  maxStreams: number;
  /** Where the streams' bytes are accounted (default: an account `processor/<component> metric streams` of the process's memory budget). */
  budget?: BudgetAccount;
  /** A stream with no point for this long (wall clock, ms) is forgotten. Default 15 minutes. */
  idleMs?: number;
  /** The clock (ms); default Date.now. */
  now?: () => number;
  /** Since when (ms) vigil could see streams; default: the reader's creation time. */
  sinceMs?: number;
}

/** How long a cumulative stream may go without a point before it is forgotten by default: 15 minutes, in ms. */
export const DEFAULT_STREAM_IDLE_MS = 15 * 60_000;

/** Estimated bytes of one stream: its state, its path in the stream table and its attributes' strings. */
function streamBytes(context: string, attrs: readonly KeyValue[]): number {
  let n = 400 + stringBytes(context) / 4;
  for (let i = 0; i < attrs.length; i++) {
    const v = attrs[i]!.value;
    n += 120 + stringBytes(attrs[i]!.key) + (typeof v === 'string' ? stringBytes(v) : 16);
  }
  return n;
}

/**
 * Reads the metric points of batches for a processor, turning cumulative points into increments per stream
 * (see cumulative.ts) and skipping unusable points with a counted, logged reason. Holds at most `maxStreams`
 * streams and forgets idle ones. Its streams are accounted in the process's memory budget
 * (src/memory-budget.ts); while the budget is full, a new stream takes the place of the least recently used one (as at
 * `maxStreams`, counted as `reason="limit"` and as shed), so the streams held do not grow.
 */
export class MetricStreamReader {
  private readonly table = new StreamTable();
  private readonly budget: BudgetAccount;
  /** Streams that started before this (sender clock, ns) started before vigil could see them. */
  private horizonNs: bigint;
  private lastSweepMs: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  /** What /metrics shows (shared with the component's earlier readers: counters go on across reloads). */
  private readonly totals: Totals;
  private readonly warned = new Set<SkipReason>();
  private readonly ctx: PointContext = { resourceMetrics: undefined!, scopeMetrics: undefined!, metric: undefined!, cumulative: false };

  constructor(private readonly opts: MetricStreamReaderOptions) {
    this.now = opts.now ?? Date.now;
    this.idleMs = opts.idleMs ?? DEFAULT_STREAM_IDLE_MS;
    const nowMs = this.now();
    this.horizonNs = BigInt(Math.floor(opts.sinceMs ?? nowMs)) * 1_000_000n;
    this.lastSweepMs = nowMs;
    this.totals = opts.telemetry ? totalsFor(opts.telemetry) : { live: () => 0, removed: { idle: 0, limit: 0 }, skipped: new Map() };
    this.totals.live = this.liveCount;
    this.budget = opts.budget ?? memoryBudget.account(`processor/${opts.component} metric streams`);
  }

  /** Cumulative streams held. */
  get size(): number {
    return this.table.size;
  }

  /** Points not counted so far, by reason (for tests and diagnostics). */
  skippedCounts(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.totals.skipped);
  }

  /** Makes this reader the one whose live streams /metrics shows for its component (one taken over at a reload). */
  claim(): void {
    this.totals.live = this.liveCount;
  }

  /** Stops reporting this reader's live streams on /metrics (call at shutdown; idempotent). */
  close(): void {
    if (this.totals.live === this.liveCount) this.totals.live = () => 0;
    this.budget.close();
  }

  private readonly liveCount = (): number => this.table.size;

  /**
   * Hands every point of the metrics `wants` accepts to `visitor` (see {@link MetricPointVisitor}), in
   * batch order. `nowMs` (default: the clock) is the arrival time. Never throws on input: malformed
   * points are skipped and counted.
   */
  read(batch: Batch, wants: (metric: Metric) => boolean, visitor: MetricPointVisitor, nowMs: number = this.now()): void {
    if (!batch.resourceMetrics) return;
    if (nowMs - this.lastSweepMs >= Math.min(60_000, this.idleMs / 2)) this.sweep(nowMs);
    const ctx = this.ctx;
    for (const rm of batch.resourceMetrics) {
      let resKey: string | undefined;
      for (const sm of rm.scopeMetrics) {
        let scopeKey: string | undefined;
        for (const m of sm.metrics) {
          const d = m.data;
          if (!d || !wants(m)) continue;
          ctx.resourceMetrics = rm;
          ctx.scopeMetrics = sm;
          ctx.metric = m;
          // summaries have no temporality field: OTLP defines them as cumulative
          const cumulative = d.type === 'summary' || (d.type !== 'gauge' && d.aggregationTemporality === AggregationTemporality.Cumulative);
          ctx.cumulative = cumulative;
          let streams: Trie | undefined;
          if (cumulative) {
            resKey ??= resourceKey(rm.resource);
            scopeKey ??= scopeKeyOf(sm.scope);
            const monotonic = d.type === 'sum' ? (d.isMonotonic ? 'm' : 'n') : '';
            const key = `${resKey}\u0002${scopeKey}\u0002${m.name.length}:${m.name}${d.type}\u0002${m.unit}\u0002${monotonic}`;
            this.context = key;
            streams = this.table.root(key);
          }
          this.readMetric(ctx, streams, nowMs, visitor);
        }
      }
    }
  }

  /** Counts points a processor could not use for its own reasons (`no_value`, `unsupported_type`...), logged once per reason. */
  skip(reason: SkipReason, n: number, detail?: string): void {
    if (n <= 0) return;
    const skipped = this.totals.skipped;
    skipped.set(reason, (skipped.get(reason) ?? 0) + n);
    if (this.warned.has(reason)) return;
    this.warned.add(reason);
    const msg = `${this.opts.component}: ${MESSAGES[reason]}${detail ? ` (${detail})` : ''}; further cases are only counted on /metrics as vigil_processor_metric_points_skipped_total{reason="${reason}"}`;
    if (reason === 'cumulative_baseline') this.opts.logger.info(msg);
    else this.opts.logger.warn(msg);
  }

  private readMetric(ctx: PointContext, streams: Trie | undefined, nowMs: number, visitor: MetricPointVisitor): void {
    const d = ctx.metric.data!;
    const name = ctx.metric.name;
    switch (d.type) {
      case 'gauge':
      case 'sum': {
        const visit = visitor.number;
        if (!visit) return this.skip('unsupported_type', d.dataPoints.length, `metric ${name} is a ${d.type}`);
        const monotonic = d.type === 'sum' && d.isMonotonic;
        for (const dp of d.dataPoints) {
          if (dp.flags & FLAG_NO_RECORDED_VALUE) {
            visitor.noRecordedValue?.(ctx, dp);
            continue;
          }
          const problem = numberProblem(dp, monotonic);
          if (problem) {
            this.skip('malformed', 1, `metric ${name}: ${problem}`);
            continue;
          }
          const v = typeof dp.value === 'bigint' ? Number(dp.value) : dp.value;
          if (!streams) {
            visit.call(visitor, ctx, v, dp);
            continue;
          }
          const s = this.stateFor(streams, dp, nowMs);
          if (s === undefined) continue;
          let delta: number | undefined;
          if (s === NEW_WHOLE) delta = v;
          else if (s === NEW_BASELINE) delta = undefined;
          else {
            const change = this.change(s, dp, nowMs, monotonic && numberDropped(s, v, dp.value) ? 1 : 0);
            if (change === OUT_OF_ORDER) continue;
            if (change === WHOLE) delta = v;
            else if (change === BASELINE) delta = undefined;
            else {
              const r = diffNumber(s, v, monotonic, dp.value);
              delta = r === RESET ? v : r;
            }
            this.advance(s, dp, nowMs);
          }
          rememberNumber(this.last!, v, dp.value);
          visit.call(visitor, ctx, delta, dp);
        }
        return;
      }
      case 'histogram':
        return this.readDistribution(ctx, streams, nowMs, visitor, visitor.histogram, d.dataPoints, 'a histogram', histogramProblem, diffHistogram, rememberHistogram);
      case 'exponentialHistogram':
        return this.readDistribution(ctx, streams, nowMs, visitor, visitor.exponentialHistogram, d.dataPoints, 'an exponential histogram', (dp) => exponentialProblem(dp, MIN_SCALE, MAX_SCALE), diffExponential, rememberExponential);
      case 'summary':
        return this.readDistribution(ctx, streams, nowMs, visitor, visitor.summary, d.dataPoints, 'a summary', summaryProblem, diffSummary, rememberSummary);
    }
  }

  /**
   * The points of a histogram, exponential histogram or summary (the same steps for each): no-recorded-value
   * points to `noRecordedValue`, malformed ones skipped and counted, then each point (delta points as they
   * are, cumulative ones through {@link cumulative}) to `visit`.
   */
  private readDistribution<T extends { flags: number; count: number; startTimeUnixNano: bigint; timeUnixNano: bigint; attributes: NumberDataPoint['attributes'] }>(
    ctx: PointContext,
    streams: Trie | undefined,
    nowMs: number,
    visitor: MetricPointVisitor,
    visit: ((ctx: PointContext, delta: T | undefined, point: T) => void) | undefined,
    points: readonly T[],
    what: string,
    problemOf: (dp: T) => string | undefined,
    diff: (s: StreamState, dp: T) => T | typeof RESET,
    remember: (s: StreamState, dp: T) => void,
  ): void {
    const name = ctx.metric.name;
    if (!visit) return this.skip('unsupported_type', points.length, `metric ${name} is ${what}`);
    for (const dp of points) {
      if (dp.flags & FLAG_NO_RECORDED_VALUE) {
        visitor.noRecordedValue?.(ctx, dp);
        continue;
      }
      const problem = problemOf(dp);
      if (problem) {
        this.skip('malformed', 1, `metric ${name}: ${problem}`);
        continue;
      }
      if (!streams) {
        visit.call(visitor, ctx, dp, dp);
        continue;
      }
      const delta = this.cumulative(streams, dp, nowMs, diff, remember);
      if (delta !== SKIP) visit.call(visitor, ctx, delta, dp);
    }
  }

  /** The delta of a cumulative histogram or summary point; undefined for a baseline; SKIP when not handed over. */
  private cumulative<T extends { count: number; startTimeUnixNano: bigint; timeUnixNano: bigint; attributes: NumberDataPoint['attributes'] }>(
    streams: Trie,
    dp: T,
    nowMs: number,
    diff: (s: StreamState, dp: T) => T | typeof RESET,
    remember: (s: StreamState, dp: T) => void,
  ): T | undefined | typeof SKIP {
    const s = this.stateFor(streams, dp, nowMs);
    if (s === undefined) return SKIP;
    let delta: T | undefined;
    if (s === NEW_WHOLE) delta = dp;
    else if (s === NEW_BASELINE) delta = undefined;
    else {
      // went down: the count, or any bucket (or the zero count) while the count grew (see diff)
      const r = diff(s, dp);
      const change = this.change(s, dp, nowMs, r === RESET ? 1 : 0);
      if (change === OUT_OF_ORDER) return SKIP;
      if (change === WHOLE) delta = dp;
      else if (change === BASELINE) delta = undefined;
      else delta = r === RESET ? dp : r;
      this.advance(s, dp, nowMs);
    }
    remember(this.last!, dp);
    return delta;
  }

  /** The state just created or found by stateFor (the one remember() fills). */
  private last: StreamState | undefined;
  /** The context key of the metric being read. */
  private context = '';

  /**
   * The stream's state, or NEW_WHOLE / NEW_BASELINE for a stream seen for the first time (its state is
   * created and left in `last`), or undefined when the point cannot be placed at all.
   */
  private stateFor(streams: Trie, dp: { startTimeUnixNano: bigint; timeUnixNano: bigint; attributes: NumberDataPoint['attributes'] }, nowMs: number): StreamState | typeof NEW_WHOLE | typeof NEW_BASELINE | undefined {
    const s = this.table.find(streams, dp.attributes);
    if (s) {
      this.table.touch(s);
      this.last = s;
      return s;
    }
    const bytes = streamBytes(this.context, dp.attributes);
    if (this.table.size >= this.opts.maxStreams) this.makeRoom(nowMs);
    else if (!this.budget.admit(bytes)) {
      this.budget.shed(1);
      this.makeRoom(nowMs, true);
    }
    const start = typeof dp.startTimeUnixNano === 'bigint' ? dp.startTimeUnixNano : 0n;
    const created = new StreamState(start, pointTime(dp, nowMs), nowMs);
    this.table.add(this.context, dp.attributes, created);
    created.bytes = bytes;
    this.budget.add(bytes);
    this.last = created;
    if (start > 0n && start >= this.horizonNs) return NEW_WHOLE;
    this.skip('cumulative_baseline', 1);
    return NEW_BASELINE;
  }

  /** How a point of a known stream relates to its previous point (`dropped`: 1 if its value went down). */
  private change(s: StreamState, dp: { startTimeUnixNano: bigint; timeUnixNano: bigint }, nowMs: number, dropped: number): number {
    const time = pointTime(dp, nowMs);
    if (time <= s.time) {
      this.skip('out_of_order', 1);
      return OUT_OF_ORDER;
    }
    const start = typeof dp.startTimeUnixNano === 'bigint' ? dp.startTimeUnixNano : 0n;
    if (start === s.start) return DIFF;
    if (start > 0n && start >= s.time) return WHOLE; // restarted after the previous point
    if (dropped) return WHOLE; // a reset, whatever the start time says
    this.skip('conflicting_start_time', 1);
    return BASELINE;
  }

  private advance(s: StreamState, dp: { startTimeUnixNano: bigint; timeUnixNano: bigint }, nowMs: number): void {
    s.start = typeof dp.startTimeUnixNano === 'bigint' ? dp.startTimeUnixNano : 0n;
    s.time = pointTime(dp, nowMs);
    s.lastSeenMs = nowMs;
  }

  /** Forgets streams idle for idleMs; moves the horizon past what they had counted. */
  private sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
    const before = nowMs - this.idleMs;
    for (const s of this.table.values()) {
      if (s.lastSeenMs >= before) continue;
      this.forget(s);
      this.totals.removed.idle++;
    }
  }

  /** At the stream limit (or with the memory budget full: `budgetFull`): forgets idle streams, else the least recently used one. */
  private makeRoom(nowMs: number, budgetFull = false): void {
    if (nowMs - this.lastSweepMs >= 1000) this.sweep(nowMs);
    if (!budgetFull && this.table.size < this.opts.maxStreams) return;
    const s = this.table.oldest();
    if (!s) return;
    this.forget(s);
    this.totals.removed.limit++;
  }

  private forget(s: StreamState): void {
    this.table.delete(s);
    this.budget.add(-s.bytes);
    if (s.time > this.horizonNs) this.horizonNs = s.time;
  }
}

/** Totals behind one component's series on /metrics. */
interface Totals {
  live: () => number;
  removed: { idle: number; limit: number };
  skipped: Map<SkipReason, number>;
}

/** Per meter, the totals of each component (by its label set), read by one batch callback per meter. */
const registry = new WeakMap<Meter, Map<string, { labels: Attributes; totals: Totals }>>();

function totalsFor(t: ComponentTelemetry): Totals {
  let byComponent = registry.get(t.meter);
  if (!byComponent) {
    const all = new Map<string, { labels: Attributes; totals: Totals }>();
    byComponent = all;
    registry.set(t.meter, all);
    const live = t.meter.createObservableGauge('vigil_processor_metric_streams', {
      description: 'Cumulative metric streams whose previous point is held (to turn the next one into a delta)',
    });
    const gone = t.meter.createObservableCounter('vigil_processor_metric_streams_removed', {
      description: 'Cumulative metric streams forgotten: idle (no point for the idle time) or limit (too many streams)',
    });
    const skip = t.meter.createObservableCounter('vigil_processor_metric_points_skipped', {
      description: 'Received metric points not counted, by reason (cumulative_baseline, out_of_order, malformed, ...)',
    });
    t.meter.addBatchObservableCallback(
      (r) => {
        for (const { labels, totals } of all.values()) {
          r.observe(live, totals.live(), labels);
          r.observe(gone, totals.removed.idle, { ...labels, reason: 'idle' });
          r.observe(gone, totals.removed.limit, { ...labels, reason: 'limit' });
          for (const [reason, n] of totals.skipped) r.observe(skip, n, { ...labels, reason });
        }
      },
      [live, gone, skip],
    );
  }
  const key = JSON.stringify(t.labels);
  let entry = byComponent.get(key);
  if (!entry) byComponent.set(key, (entry = { labels: t.labels, totals: { live: () => 0, removed: { idle: 0, limit: 0 }, skipped: new Map() } }));
  return entry.totals;
}

type Trie = ReturnType<StreamTable['root']>;

const SKIP = Symbol('skip');
const NEW_WHOLE = 1 as const;
const NEW_BASELINE = 2 as const;
const DIFF = 0;
const WHOLE = 1;
const BASELINE = 2;
const OUT_OF_ORDER = 3;

/** A point's time; the arrival time when it has none (OTLP requires it, but some senders leave it out). */
function pointTime(dp: { timeUnixNano: bigint }, nowMs: number): bigint {
  const t = dp.timeUnixNano;
  return typeof t === 'bigint' && t > 0n ? t : BigInt(Math.floor(nowMs)) * 1_000_000n;
}

function resourceKey(r: Resource | undefined): string {
  return r ? attributesKey(r.attributes) : '';
}

function scopeKeyOf(scope: InstrumentationScope | undefined): string {
  if (!scope) return '';
  const attrs = scope.attributes?.length ? attributesKey(scope.attributes) : '';
  return `${scope.name.length}:${scope.name}${scope.version.length}:${scope.version}${attrs}`;
}
