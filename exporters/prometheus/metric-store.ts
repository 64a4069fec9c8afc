/**
 * What the prometheus exporter serves: the metrics that reached it, turned into Prometheus series and kept
 * between scrapes.
 *
 * Temporality (delta -> cumulative, as the Collector's `deltatocumulative` processor does it): every stream
 * (metric + resource + scope + point attributes, the OTLP identity) keeps a running total from its first
 * point; a series is the first stream's whose labels render as its own (another such stream's points are
 * dropped: `stream_conflict`, see streamFor):
 * - a delta point is added when it comes after what the stream holds (its start >= the stream's last
 *   time, its time > it); a point that overlaps or precedes it is a late point: dropped and counted
 *   (`vigil_exporter_prometheus_dropped_points_total{reason="late"}`), never added twice;
 * - a cumulative point replaces the stream's value when newer; a lower value or a new start time is a
 *   reset (the producer restarted): the value starts over and so does the stream's start (`_created`),
 *   which Prometheus's `rate()` reads as a counter reset;
 * - an explicit-bucket histogram whose bounds change starts over the same way (a reset); a point without
 *   bucket counts is bucketless whatever bounds it carries: it has only the +Inf bucket (its `le` buckets
 *   are not served as 0 while `_count` grows), a change of bounds like any other;
 * - gauges keep the newest point; a non-monotonic delta sum (an up-down counter) is accumulated and
 *   exposed as a gauge;
 * - a NaN or infinite value or sum to be added to a running total is dropped (`invalid`): added, it would
 *   poison the total for the stream's life; so is a NaN or negative value of a monotonic sum (the stream
 *   reader's `malformed`: a counter that went down would read as a reset, one at NaN hides its resets); a
 *   FLAG_NO_RECORDED_VALUE point leaves the stream as it was;
 * - a histogram point the stream reader calls malformed (src/streams/cumulative.ts `histogramProblem`,
 *   `exponentialProblem`: bucket counts that do not match the bounds or add up to the count, negative or
 *   fractional counts, bounds not increasing, a scale or bucket index out of range, a non-finite sum) is
 *   dropped (`invalid`): served, its `le` buckets would not be monotonic or would exceed `+Inf`; so is a
 *   summary point it calls malformed (`summaryProblem`: a bad count, a non-finite sum or quantile value).
 * Exponential histograms are accumulated exactly (src/sketch.ts) and exposed as classic histograms
 * (exp-buckets.ts), plus a summary of the quantiles of the last point (the last window) named as the metric
 * `<name>.summary` would be, unless that metric itself is received (the percentiles processor sends it).
 *
 * Bounds: at most `maxSeries` streams (a histogram with all its buckets is one); points of further new
 * streams are dropped and counted (`reason="max_series"`); `target_info` (one series per resource) is bounded
 * by the same number apart. A stream or target not updated for `expireMs` is removed.
 */
import { type BudgetAccount, memoryBudget, stringBytes } from '../../src/memory-budget.ts';
import type { AlertNotification, AnyValue, KeyValue, Metric, Resource, ResourceMetrics, InstrumentationScope } from '../../src/model.ts';
import { AggregationTemporality, attrToString, getAttr } from '../../src/model.ts';
import { attributesKey } from '../../src/attributes.ts';
import { MAX_SCALE, MIN_SCALE, Sketch } from '../../src/sketch.ts';
import { exponentialProblem, histogramProblem, summaryProblem } from '../../src/streams/cumulative.ts';
import { FLAG_NO_RECORDED_VALUE } from '../../src/streams/metric-stream-reader.ts';
import { boundOf, type ClassicRange, coverRange, cumulativeCounts } from './exp-buckets.ts';
import { type PromType, prometheusNames, sanitizeLabelName } from './naming.ts';

/**
 * What a {@link MetricStore} is built with: promoted resource attributes, suffix rule, summary quantiles,
 * classic bucket scale and count, the bound on streams, the expiry (ms) and the clock (ms, default Date.now).
 */
export interface StoreOptions {
  /** Resource attributes added as labels to every series of the resource. */
  promote: readonly string[];
  addSuffixes: boolean;
  summaryQuantiles: readonly number[];
  histogramScale: number;
  histogramMaxBuckets: number;
  maxSeries: number;
  expireMs: number;
  now?: () => number;
  /** Where the streams' bytes are accounted (default: a new account in the process's memory budget). */
  budget?: BudgetAccount;
}

/** Estimated bytes of one stream of these rendered labels: the stream, its map entries, labels and index key. */
function streamBytes(labels: string): number {
  return 600 + 3 * stringBytes(labels);
}

/**
 * Why a point was dropped, the `reason` label of `vigil_exporter_prometheus_dropped_points_total`: `late`
 * (overlaps what the stream holds), `max_series` (a new stream past the bound), `type_conflict` (the name is
 * already a family of another type), `name_conflict` (a series name of the family is already one of another
 * family's, or one the exporter serves itself: `target_info`, `ALERTS`), `invalid` (an unusable point),
 * `stream_conflict` (a point of another OTLP stream whose labels render as those of a series held: see
 * streamFor), `memory_budget` (a new stream while the process's memory budget is full: src/memory-budget.ts).
 */
export type DropReason = 'late' | 'max_series' | 'type_conflict' | 'name_conflict' | 'stream_conflict' | 'invalid' | 'memory_budget';

/** Names the exporter serves itself (target_info, an `info` family `target` in OpenMetrics, and the alerts). */
const RESERVED_NAMES = ['target', 'target_info', 'ALERTS', 'ALERTS_FOR_STATE'];

/**
 * Every name a family shows in either format: its family name, its sample names, and `_created` for the
 * types OpenMetrics gives one (counters, histograms, summaries).
 */
export function familyNames(f: Pick<Family, 'type' | 'family' | 'sample'>): string[] {
  switch (f.type) {
    case 'gauge':
      return [f.family];
    case 'counter':
      return [...new Set([f.family, f.sample, `${f.family}_created`])];
    case 'histogram':
      return [f.family, `${f.family}_bucket`, `${f.family}_sum`, `${f.family}_count`, `${f.family}_created`];
    case 'summary':
      return [f.family, `${f.family}_sum`, `${f.family}_count`, `${f.family}_created`];
  }
}

interface StreamBase {
  /** Rendered `k="v",...` (no braces), labels sorted by name. */
  labels: string;
  /** Start of the accumulation (ns), for `_created`. */
  startNs: bigint;
  /** Time of the newest point taken (ns). */
  lastNs: bigint;
  /** When it was last updated (ms, the exporter's clock), for expiry. */
  seenAt: number;
  /** Rendered sample lines, cached until the stream changes. */
  text: string | undefined;
  /**
   * The OTLP stream the series holds (resource attributes and values, scope, point attributes with their
   * value types; see streamFor): another one whose labels render the same is refused (`stream_conflict`).
   */
  owner?: string;
}

interface NumberStream extends StreamBase {
  kind: 'number';
  value: number;
}

interface HistogramStream extends StreamBase {
  kind: 'histogram';
  bounds: number[];
  counts: number[];
  sum: number;
  count: number;
}

interface ExpStream extends StreamBase {
  kind: 'exp';
  sketch: Sketch;
  range: ClassicRange | undefined;
  /**
   * Whether what the stream holds came from bucketless points (count and sum only): the sketch places them
   * at their mean (for the derived summary), but no `le` bucket is served, as for an explicit histogram.
   */
  bucketless: boolean;
}

interface SummaryStream extends StreamBase {
  kind: 'summary';
  quantiles: [number, number][];
  sum: number;
  count: number;
}

type Stream = NumberStream | HistogramStream | ExpStream | SummaryStream;

/**
 * One metric family: its Prometheus type, names (family, sample base), unit, help and streams by rendered labels.
 */
export interface Family {
  type: PromType;
  /** OpenMetrics family name (no `_total`). */
  family: string;
  /** Base of the series names (`_total` for counters). */
  sample: string;
  unit: string;
  help: string;
  streams: Map<string, Stream>;
  /** Streams by the raw form of the point attributes that reached them (see streamFor). */
  index: Map<string, Stream>;
}

/** What the points of one scope share. */
interface Context {
  resource: Resource;
  scope: InstrumentationScope;
  job: string;
  instance: string;
  /** Resource and scope part of a stream's OTLP identity: every resource attribute with its value, the scope's name, version and attributes. */
  key: string;
  /**
   * The same as a short id (see MetricStore.contextId): what the per-point index key starts with. The whole
   * resource of a Kubernetes pod is hundreds of characters; concatenated into the key of every point, and so
   * hashed for every lookup, it doubled the cost of a point.
   */
  short: string;
  /** The metric being read: its OTLP name and unit (two metrics may share a family: `a.b` and `a_b`, or units without suffixes). */
  metric: string;
}

/** An alert as ALERTS shows it. */
export interface ActiveAlert {
  labels: Record<string, string>;
  /** Seconds since the epoch. */
  activeAt: number;
  /** `firing` when absent (alerts known from notifications). */
  state?: 'pending' | 'firing';
}

const escapeValue = (v: string) => (/[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v);

/** `k="v",...` of sorted label pairs; empty values are left out (Prometheus treats them as absent). */
export function renderLabels(labels: Map<string, string>): string {
  const keys = [...labels.keys()].sort();
  let out = '';
  for (const k of keys) {
    const v = labels.get(k)!;
    if (v === '') continue;
    if (out) out += ',';
    out += `${k}="${escapeValue(v)}"`;
  }
  return out;
}

/** Adds attributes as labels; names that collide once sanitised are joined with `;` in key order. */
function addAttributes(into: Map<string, string>, attrs: readonly KeyValue[], only?: readonly string[]): void {
  const pairs: [string, string][] = [];
  for (const kv of attrs) {
    if (only && !only.includes(kv.key)) continue;
    pairs.push([kv.key, attrToString(kv.value)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const local = new Map<string, string>();
  for (const [k, v] of pairs) {
    const name = sanitizeLabelName(k);
    const prev = local.get(name);
    local.set(name, prev === undefined ? v : `${prev};${v}`);
  }
  for (const [k, v] of local) if (!into.has(k)) into.set(k, v);
}

/** Label names the exposition formats give histogram and summary samples themselves. */
const FORMAT_LABELS = ['le', 'quantile'] as const;

/** Moves label `name` to `exported_<name>` (joined with `;` to one already there). */
function exportLabel(labels: Map<string, string>, name: string): void {
  const v = labels.get(name);
  if (v === undefined) return;
  labels.delete(name);
  const to = `exported_${name}`;
  const prev = labels.get(to);
  labels.set(to, prev === undefined ? v : `${prev};${v}`);
}

const str = (v: AnyValue | undefined) => (v === undefined ? '' : attrToString(v));

/** `job` and `instance` of a resource, as the compatibility spec derives them. */
export function jobAndInstance(resource: Resource): { job: string; instance: string } {
  const name = str(getAttr(resource.attributes, 'service.name'));
  const ns = str(getAttr(resource.attributes, 'service.namespace'));
  return { job: name ? (ns ? `${ns}/${name}` : name) : '', instance: str(getAttr(resource.attributes, 'service.instance.id')) };
}

const TARGET_EXCLUDED = new Set(['service.name', 'service.namespace', 'service.instance.id']);

/** A sample value as the exposition formats write it: `NaN`, `+Inf`, `-Inf`, else JavaScript's shortest decimal. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The bounds of a bucketless histogram point: only the +Inf bucket. */
const NO_BOUNDS: readonly number[] = [];
const toNum = (v: number | bigint) => (typeof v === 'bigint' ? Number(v) : v);
const nsToSeconds = (ns: bigint) => Number(ns / 1_000_000n) / 1000;

/**
 * The prometheus exporter's series (see this file's comment): OTLP points turned into Prometheus streams,
 * kept between scrapes, bounded by `maxSeries` and expired after `expireMs`.
 */
export class MetricStore {
  readonly families = new Map<string, Family>();
  /**
   * Every name a family shows (familyNames) -> that family, and the reserved names: two families whose series
   * share a name would give the exposition a second `# TYPE` line for it, which fails the whole scrape.
   */
  private readonly names = new Map<string, Family | null>(RESERVED_NAMES.map((n) => [n, null]));
  /** target_info series by rendered labels. */
  readonly targets = new Map<string, { labels: string; seenAt: number }>();
  readonly alerts = new Map<string, ActiveAlert>();
  private series = 0;
  /** Short ids of the resource and scope keys seen (Context.short); cleared past its bound, as the index. */
  private readonly contextIds = new Map<string, string>();
  private nextContextId = 0;
  /** Names of the summary metrics received so far. */
  private readonly receivedSummaries = new Set<string>();
  private readonly now: () => number;
  /** Called for every dropped point. */
  onDrop: (reason: DropReason, n: number) => void = () => undefined;
  /** The streams' share of the process's memory budget (src/memory-budget.ts). */
  readonly budget: BudgetAccount;
  /** Why the last stream was not found or created (`max_series`, `memory_budget` or `stream_conflict`). */
  private refusal: DropReason = 'max_series';

  constructor(private readonly o: StoreOptions) {
    this.now = o.now ?? Date.now;
    this.budget = o.budget ?? memoryBudget.account('exporter/prometheus streams');
  }

  /** Gives the streams' bytes back to the memory budget (the exporter is shut down). */
  close(): void {
    this.budget.close();
  }

  /** Streams held (a histogram with its buckets is one). */
  get size(): number {
    return this.series;
  }

  /** Takes every metric of the batch; returns the number of points taken. */
  addResourceMetrics(rms: readonly ResourceMetrics[]): number {
    // Summaries received under `<name>.summary` (in this batch or any earlier one) win over the ones this
    // exporter derives for `<name>`; for `<m>.distribution`, the percentiles processor's twin is `<m>.summary`.
    const received = this.receivedSummaries;
    for (const rm of rms) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.data?.type === 'summary' && received.size < 10_000) received.add(m.name);
    let taken = 0;
    for (const rm of rms) {
      const { job, instance } = jobAndInstance(rm.resource);
      this.noteTarget(rm.resource, job, instance);
      // the whole resource, not only what the labels show: two replicas whose labels render the same are
      // two OTLP streams (docs/metric-streams.md), not one stream whose value jumps between theirs
      const resKey = attributesKey(rm.resource.attributes);
      for (const sm of rm.scopeMetrics) {
        const scope = sm.scope;
        const scopeKey = `${scope.name.length}:${scope.name}${scope.version.length}:${scope.version}${scope.attributes?.length ? attributesKey(scope.attributes) : ''}`;
        const key = `${resKey}\u0002${scopeKey}\u0002`;
        const ctx: Context = { resource: rm.resource, scope, job, instance, key, short: this.contextId(key), metric: '' };
        for (const m of sm.metrics) taken += this.addMetric(m, ctx, received);
      }
    }
    return taken;
  }

  private noteTarget(resource: Resource, job: string, instance: string): void {
    if (!resource.attributes.length) return;
    const labels = new Map<string, string>([
      ['job', job],
      ['instance', instance],
    ]);
    addAttributes(
      labels,
      resource.attributes.filter((kv) => !TARGET_EXCLUDED.has(kv.key)),
    );
    const rendered = renderLabels(labels);
    const t = this.targets.get(rendered);
    if (t) {
      t.seenAt = this.now();
      return;
    }
    // one target_info series per distinct resource: bounded as streams are (a resource attribute unique per
    // process or request would grow it without end), and its bytes are in the memory budget
    if (this.targets.size >= this.o.maxSeries) return this.onDrop('max_series', 1);
    const bytes = streamBytes(rendered);
    if (!this.budget.admit(bytes)) {
      this.budget.shed(1);
      return this.onDrop('memory_budget', 1);
    }
    this.budget.add(bytes);
    this.targets.set(rendered, { labels: rendered, seenAt: this.now() });
  }

  private labelsFor(type: PromType, attrs: readonly KeyValue[], resource: Resource, scope: InstrumentationScope, job: string, instance: string): Map<string, string> {
    const labels = new Map<string, string>();
    addAttributes(labels, attrs);
    addAttributes(labels, resource.attributes, this.o.promote);
    // `le` (a histogram's buckets) and `quantile` (a summary's, also the one derived from an exponential
    // histogram) are the format's own: an attribute of that name beside them gives a sample with a label
    // name twice, which fails the whole scrape; it is served as `exported_<name>`, as Prometheus renames
    // a scraped label that meets a target label
    if (type === 'histogram' || type === 'summary') for (const name of FORMAT_LABELS) exportLabel(labels, name);
    if (!labels.has('job')) labels.set('job', job);
    if (!labels.has('instance')) labels.set('instance', instance);
    if (scope.name && !labels.has('otel_scope_name')) labels.set('otel_scope_name', scope.name);
    if (scope.version && !labels.has('otel_scope_version')) labels.set('otel_scope_version', scope.version);
    return labels;
  }

  /**
   * The family of a metric, made on first use; a DropReason when the name is another type's family
   * (`type_conflict`) or one of its series names is another family's or reserved (`name_conflict`).
   */
  private family(otelName: string, unit: string, help: string, type: PromType): Family | DropReason {
    const names = prometheusNames(otelName, unit, type, this.o.addSuffixes);
    let f = this.families.get(names.family);
    if (!f) {
      const made: Family = { type, family: names.family, sample: names.sample, unit: names.unit, help, streams: new Map(), index: new Map() };
      const shown = familyNames(made);
      if (shown.some((n) => this.names.has(n))) return 'name_conflict';
      for (const n of shown) this.names.set(n, made);
      this.families.set(names.family, (f = made));
    } else if (f.type !== type) return 'type_conflict';
    if (!f.help && help) f.help = help;
    return f;
  }

  /**
   * The stream of a point: found by the point's attributes as they came (no sorting, no escaping: the hot
   * path; values typed, as the OTLP identity has them); only a point never seen in this form has its labels
   * built, sanitised and rendered. A series belongs to the first OTLP stream (resource, scope, metric name
   * and unit, point attributes and their types) that rendered its labels: a point of another one whose
   * labels render the same (two replicas without `service.instance.id`, a resource attribute that is not
   * promoted, `"200"` and `200`, metrics `a.b` and `a_b`, or `ms` and `s` without unit suffixes) is refused (`stream_conflict`) rather than mixed in, where a cumulative value jumping
   * between two streams' totals would read as a reset at every scrape, and delta points would be dropped as
   * late or added to another stream's total.
   */
  private streamFor<S extends Stream>(f: Family, attrs: readonly KeyValue[], ctx: Context, make: (labels: string) => S): S | undefined {
    let raw = ctx.short + ctx.metric;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs[i]!;
      const v = a.value;
      raw += typeof v === 'string' ? `${a.key}\u0001${v}\u0002` : `${a.key}\u0001${typeof v}\u0003${attrToString(v)}\u0002`;
    }
    const hit = f.index.get(raw);
    if (hit) return hit as S;
    // The index is a cache: points whose attributes come in ever new orders must not grow it without end.
    if (f.index.size >= 4 * this.o.maxSeries) f.index.clear();
    const labels = renderLabels(this.labelsFor(f.type, attrs, ctx.resource, ctx.scope, ctx.job, ctx.instance));
    const owner = ctx.key + ctx.metric + attributesKey(attrs);
    const s = this.stream(f, labels, () => {
      const made = make(labels);
      made.owner = owner;
      return made;
    });
    if (s && s.owner !== owner) {
      this.refusal = 'stream_conflict';
      return undefined;
    }
    if (s) f.index.set(raw, s);
    return s;
  }

  /**
   * A short id for a resource and scope key, stable while it is in the map: the index keys made with an id that
   * was cleared away only miss (and are rebuilt from the labels and the full key, which decides ownership).
   */
  private contextId(key: string): string {
    let id = this.contextIds.get(key);
    if (id === undefined) {
      if (this.contextIds.size >= 4 * this.o.maxSeries) this.contextIds.clear();
      id = `${(this.nextContextId++).toString(36)}\u0002`;
      this.contextIds.set(key, id);
    }
    return id;
  }

  /** The stream for `labels` in `f`, created when there is room. */
  private stream<S extends Stream>(f: Family, labels: string, make: () => S): S | undefined {
    const s = f.streams.get(labels);
    if (s) return s as S;
    if (this.series >= this.o.maxSeries) {
      this.refusal = 'max_series';
      return undefined;
    }
    const bytes = streamBytes(labels);
    if (!this.budget.admit(bytes)) {
      this.refusal = 'memory_budget';
      this.budget.shed(1);
      return undefined;
    }
    const created = make();
    f.streams.set(labels, created);
    this.budget.add(bytes);
    this.series++;
    return created;
  }

  private addMetric(m: Metric, ctx: Context, received: Set<string>): number {
    const d = m.data;
    if (!d) return 0;
    ctx.metric = `${m.name.length}:${m.name}${m.unit.length}:${m.unit}\u0002`;
    const now = this.now();
    let taken = 0;
    const fail = (reason: DropReason, n = 1) => this.onDrop(reason, n);
    switch (d.type) {
      case 'gauge':
      case 'sum': {
        const type: PromType = d.type === 'sum' && d.isMonotonic ? 'counter' : 'gauge';
        const f = this.family(m.name, m.unit, m.description, type);
        if (typeof f === 'string') return fail(f, d.dataPoints.length), 0;
        const delta = d.type === 'sum' && d.aggregationTemporality === AggregationTemporality.Delta;
        for (const p of d.dataPoints) {
          if (p.flags & FLAG_NO_RECORDED_VALUE) continue; // no value: the stream stays as it was
          const v = toNum(p.value);
          // an infinite value is never usable; NaN is a gauge's (or an up-down counter's) to show, but added
          // to a delta sum's running total it would be NaN for ever after, and a counter at NaN hides its
          // resets from rate() (NaN is never lower than the last value) and is no count (the stream
          // reader's rule: src/streams/cumulative.ts numberProblem)
          if (!Number.isFinite(v) && (delta || type === 'counter' || !Number.isNaN(v))) {
            fail('invalid');
            continue;
          }
          // a monotonic sum only grows (the stream reader's rule, src/streams/cumulative.ts numberProblem): a
          // negative delta would make the counter go down (a reset to rate()), a negative total is no total
          if (type === 'counter' && v < 0) {
            fail('invalid');
            continue;
          }
          const s = this.streamFor<NumberStream>(f, p.attributes, ctx, (labels) => ({ kind: 'number', labels, startNs: p.startTimeUnixNano || p.timeUnixNano, lastNs: -1n, seenAt: now, text: undefined, value: 0 }));
          if (!s) {
            fail(this.refusal);
            continue;
          }
          if (d.type === 'gauge') {
            if (p.timeUnixNano < s.lastNs) {
              fail('late');
              continue;
            }
            s.value = v;
          } else if (delta) {
            if (!this.inOrderDelta(s, p.startTimeUnixNano, p.timeUnixNano)) {
              fail('late');
              continue;
            }
            s.value += v;
          } else {
            if (p.timeUnixNano <= s.lastNs) {
              fail('late');
              continue;
            }
            const reset = type === 'counter' && (v < s.value || (p.startTimeUnixNano !== 0n && s.lastNs >= 0n && p.startTimeUnixNano !== s.startNs));
            if (reset || s.lastNs < 0n) s.startNs = p.startTimeUnixNano || p.timeUnixNano;
            s.value = v;
          }
          s.lastNs = p.timeUnixNano;
          s.seenAt = now;
          s.text = undefined;
          taken++;
        }
        return taken;
      }
      case 'histogram': {
        const f = this.family(m.name, m.unit, m.description, 'histogram');
        if (typeof f === 'string') return fail(f, d.dataPoints.length), 0;
        const delta = d.aggregationTemporality === AggregationTemporality.Delta;
        for (const p of d.dataPoints) {
          if (p.flags & FLAG_NO_RECORDED_VALUE) continue;
          // the stream reader's rule (counts, bounds, bucket counts adding up to the count, finite sum):
          // served, a malformed point gives `le` buckets that are not monotonic or exceed `+Inf`
          if (histogramProblem(p) !== undefined) {
            fail('invalid');
            continue;
          }
          // A point without bucket counts is bucketless (count and sum only; docs/metric-streams.md): bounds it
          // may carry locate none of its observations, so it has no `le` bucket but +Inf. Served with the
          // stream's earlier bounds, they would read 0 while `_count` grows (a reset to rate()).
          const bounds = p.bucketCounts.length ? p.explicitBounds : NO_BOUNDS;
          const s = this.histogramStreamFor<HistogramStream>(f, p, delta, ctx, (labels) => ({ kind: 'histogram', labels, startNs: p.startTimeUnixNano || p.timeUnixNano, lastNs: -1n, seenAt: now, text: undefined, bounds: [...bounds], counts: new Array(bounds.length + 1).fill(0), sum: 0, count: 0 }));
          if (!s) continue;
          const sameBounds = s.bounds.length === bounds.length && s.bounds.every((b, i) => b === bounds[i]);
          // cumulative: a reset as the stream reader sees one (src/streams/cumulative.ts): the count, a bucket or
          // the sum went down (the sum unless the point shows negative values), or a new start time
          const reset =
            !sameBounds ||
            (!delta &&
              (p.count < s.count ||
                (p.startTimeUnixNano !== 0n && s.lastNs >= 0n && p.startTimeUnixNano !== s.startNs) ||
                p.bucketCounts.some((c, i) => c < s.counts[i]!) ||
                (p.sum !== undefined && p.sum < s.sum && !(p.min !== undefined && p.min < 0))));
          if (reset) {
            s.bounds = [...bounds];
            s.counts = new Array(bounds.length + 1).fill(0);
            s.sum = 0;
            s.count = 0;
            s.startNs = p.startTimeUnixNano || p.timeUnixNano;
          }
          if (delta) {
            for (let i = 0; i < p.bucketCounts.length && i < s.counts.length; i++) s.counts[i]! += p.bucketCounts[i]!;
            s.sum += p.sum ?? 0;
            s.count += p.count;
          } else {
            s.counts = s.counts.map((_, i) => p.bucketCounts[i] ?? 0);
            s.sum = p.sum ?? 0;
            s.count = p.count;
          }
          s.lastNs = p.timeUnixNano;
          s.seenAt = now;
          s.text = undefined;
          taken++;
        }
        return taken;
      }
      case 'exponentialHistogram': {
        const f = this.family(m.name, m.unit, m.description, 'histogram');
        if (typeof f === 'string') return fail(f, d.dataPoints.length), 0;
        const twin = summaryTwins(m.name).some((n) => received.has(n)) ? undefined : this.family(`${m.name}.summary`, m.unit, m.description ? `${m.description} (quantiles of the last window)` : '', 'summary');
        // a derived summary whose names are taken is left out (the histogram is still served)
        const sf = typeof twin === 'string' ? undefined : twin;
        const delta = d.aggregationTemporality === AggregationTemporality.Delta;
        for (const p of d.dataPoints) {
          if (p.flags & FLAG_NO_RECORDED_VALUE) continue;
          // the stream reader's rule, as for explicit buckets (and the sketch's scale range)
          if (exponentialProblem(p, MIN_SCALE, MAX_SCALE) !== undefined) {
            fail('invalid');
            continue;
          }
          const s = this.histogramStreamFor<ExpStream>(f, p, delta, ctx, (labels) => ({ kind: 'exp', labels, startNs: p.startTimeUnixNano || p.timeUnixNano, lastNs: -1n, seenAt: now, text: undefined, sketch: new Sketch(p.scale), range: undefined, bucketless: false }));
          if (!s) continue;
          const window = Sketch.fromDataPoint(p);
          // a point with observations but no bucket (count and sum only): its observations are in no bucket
          const bucketless = p.count > 0 && p.zeroCount === 0 && !hasCounts(p.positive.bucketCounts) && !hasCounts(p.negative.bucketCounts);
          if (delta) {
            // bucketless observations added to bucketed ones (or the other way round) would give `le` buckets
            // that locate only some of `_count`: the stream starts over, as an explicit one on new bounds
            if (p.count > 0 && s.sketch.count > 0 && bucketless !== s.bucketless) {
              s.sketch = new Sketch(p.scale);
              s.startNs = p.startTimeUnixNano || p.timeUnixNano;
            }
            s.sketch.mergeDataPoint(p);
          } else {
            // a reset as the stream reader reads one: the count or the sum (without negative values) went down, or a new start time
            const sumDown = p.sum !== undefined && s.lastNs >= 0n && p.sum < s.sketch.sum && !hasCounts(p.negative.bucketCounts) && !(p.min !== undefined && p.min < 0);
            if (p.count < s.sketch.count || sumDown || (p.startTimeUnixNano !== 0n && s.lastNs >= 0n && p.startTimeUnixNano !== s.startNs)) s.startNs = p.startTimeUnixNano || p.timeUnixNano;
            s.sketch = window.clone();
          }
          if (p.count > 0) s.bucketless = bucketless;
          if (!s.bucketless) s.range = coverRange(s.range, s.sketch, this.o.histogramScale, this.o.histogramMaxBuckets);
          s.lastNs = p.timeUnixNano;
          s.seenAt = now;
          s.text = undefined;
          taken++;
          if (sf) {
            const labels = s.labels;
            const ss = this.stream<SummaryStream>(sf, labels, () => ({ kind: 'summary', labels, startNs: s.startNs, lastNs: -1n, seenAt: now, text: undefined, quantiles: [], sum: 0, count: 0 }));
            if (!ss) continue;
            ss.quantiles = this.o.summaryQuantiles.map((q) => [q, window.count ? window.quantile(q) : NaN]);
            ss.sum = s.sketch.sum;
            ss.count = s.sketch.count;
            ss.startNs = s.startNs;
            ss.lastNs = p.timeUnixNano;
            ss.seenAt = now;
            ss.text = undefined;
          }
        }
        return taken;
      }
      case 'summary': {
        const f = this.family(m.name, m.unit, m.description, 'summary');
        if (typeof f === 'string') return fail(f, d.dataPoints.length), 0;
        for (const p of d.dataPoints) {
          if (p.flags & FLAG_NO_RECORDED_VALUE) continue;
          // the stream reader's rule (src/streams/cumulative.ts summaryProblem): a count that is not a
          // non-negative integer, a non-finite sum, a quantile outside [0, 1] or a non-finite quantile value
          if (summaryProblem(p) !== undefined) {
            fail('invalid');
            continue;
          }
          const s = this.streamFor<SummaryStream>(f, p.attributes, ctx, (labels) => ({ kind: 'summary', labels, startNs: p.startTimeUnixNano || p.timeUnixNano, lastNs: -1n, seenAt: now, text: undefined, quantiles: [], sum: 0, count: 0 }));
          if (!s) {
            fail(this.refusal);
            continue;
          }
          if (p.timeUnixNano <= s.lastNs) {
            fail('late');
            continue;
          }
          // A point whose interval follows the last one is a window of its own (the percentiles processor's
          // summaries): its count and sum add up. One with the stream's start is cumulative: it replaces them.
          const windowed = s.lastNs >= 0n && p.startTimeUnixNano >= s.lastNs;
          if (windowed) {
            s.count += p.count;
            s.sum += p.sum;
          } else {
            // a reset (the stream reader's rule): the count or the sum went down, or a new start time (0 is
            // unknown, not a new one)
            if (s.lastNs >= 0n && (p.count < s.count || p.sum < s.sum || (p.startTimeUnixNano !== 0n && p.startTimeUnixNano !== s.startNs))) s.startNs = p.startTimeUnixNano || p.timeUnixNano;
            s.count = p.count;
            s.sum = p.sum;
          }
          s.quantiles = p.quantileValues.map((q) => [q.quantile, q.value]);
          s.lastNs = p.timeUnixNano;
          s.seenAt = now;
          s.text = undefined;
          taken++;
        }
        return taken;
      }
    }
    return taken;
  }

  /**
   * The stream of a (classic or exponential) histogram point, or undefined when the point is dropped and
   * counted: no room for a new stream (`max_series`), or a point late for the stream (`late`).
   */
  private histogramStreamFor<S extends Stream>(f: Family, p: { attributes: readonly KeyValue[]; startTimeUnixNano: bigint; timeUnixNano: bigint }, delta: boolean, ctx: Context, make: (labels: string) => S): S | undefined {
    const s = this.streamFor<S>(f, p.attributes, ctx, make);
    if (!s) return this.onDrop(this.refusal, 1), undefined;
    if (delta ? !this.inOrderDelta(s, p.startTimeUnixNano, p.timeUnixNano) : p.timeUnixNano <= s.lastNs) return this.onDrop('late', 1), undefined;
    return s;
  }

  /** A delta point follows what the stream holds: not before its last time, and newer. */
  private inOrderDelta(s: StreamBase, start: bigint, time: bigint): boolean {
    if (s.lastNs < 0n) return true;
    if (time <= s.lastNs) return false;
    return start === 0n || start >= s.lastNs;
  }

  /** Takes the alert notifications (every one, whichever exporters it names): firing alerts are kept, resolved ones forgotten. */
  addAlerts(ns: readonly AlertNotification[]): boolean {
    let changed = false;
    for (const n of ns)
      for (const a of n.alerts ?? []) {
        const key = a.fingerprint || JSON.stringify(a.labels);
        if (a.status === 'firing') {
          const activeAt = Date.parse(a.startsAt) / 1000;
          const prev = this.alerts.get(key);
          if (!prev || prev.activeAt !== activeAt) {
            if (!prev && this.alerts.size >= this.o.maxSeries) {
              this.onDrop('max_series', 1);
              continue;
            }
            this.alerts.set(key, { labels: { ...a.labels }, activeAt: Number.isFinite(activeAt) ? activeAt : this.now() / 1000 });
            changed = true;
          }
        } else if (this.alerts.delete(key)) changed = true;
      }
    return changed;
  }

  /** Removes streams and targets not updated for the expiry time; returns how many streams went. */
  expire(): number {
    const cutoff = this.now() - this.o.expireMs;
    let gone = 0;
    for (const [name, f] of this.families) {
      for (const [k, s] of f.streams)
        if (s.seenAt < cutoff) {
          f.streams.delete(k);
          this.budget.add(-streamBytes(k));
          gone++;
        }
      for (const [k, s] of f.index) if (s.seenAt < cutoff) f.index.delete(k);
      if (!f.streams.size) {
        this.families.delete(name);
        for (const n of familyNames(f)) if (this.names.get(n) === f) this.names.delete(n);
      }
    }
    for (const [k, t] of this.targets)
      if (t.seenAt < cutoff) {
        this.targets.delete(k);
        this.budget.add(-streamBytes(k));
      }
    this.series -= gone;
    return gone;
  }

  /** The sample lines of a stream (cached until it changes). */
  sampleLines(f: Family, s: Stream): string {
    if (s.text !== undefined) return s.text;
    const l = s.labels;
    const brace = (extra: string) => (l ? (extra ? `{${l},${extra}}` : `{${l}}`) : extra ? `{${extra}}` : '');
    let out = '';
    switch (s.kind) {
      case 'number':
        out = `${f.sample}${brace('')} ${formatValue(s.value)}\n`;
        break;
      case 'histogram': {
        let run = 0;
        for (let i = 0; i < s.bounds.length; i++) {
          run += s.counts[i] ?? 0;
          out += `${f.sample}_bucket${brace(`le="${formatValue(s.bounds[i]!)}"`)} ${run}\n`;
        }
        out += `${f.sample}_bucket${brace('le="+Inf"')} ${s.count}\n${f.sample}_sum${brace('')} ${formatValue(s.sum)}\n${f.sample}_count${brace('')} ${s.count}\n`;
        break;
      }
      case 'exp': {
        if (s.range && !s.bucketless) {
          const counts = cumulativeCounts(s.sketch, s.range);
          // a bound past a double (2^1024 and up: bucket indices near the top of coarse scales, down to
          // -10) is +Inf, which the +Inf bucket below serves: written too it would be a second series with
          // the same labels; one that underflows to the next one's value (0) is left out for the same reason
          for (let i = 0; i < counts.length; i++) {
            const bound = boundOf(s.range.lo + i, s.range.scale);
            if (bound === Infinity) break;
            if (i + 1 < counts.length && !(boundOf(s.range.lo + i + 1, s.range.scale) > bound)) continue;
            out += `${f.sample}_bucket${brace(`le="${formatValue(bound)}"`)} ${counts[i]}\n`;
          }
        }
        out += `${f.sample}_bucket${brace('le="+Inf"')} ${s.sketch.count}\n${f.sample}_sum${brace('')} ${formatValue(s.sketch.sum)}\n${f.sample}_count${brace('')} ${s.sketch.count}\n`;
        break;
      }
      case 'summary':
        for (const [q, v] of s.quantiles) out += `${f.sample}${brace(`quantile="${formatValue(q)}"`)} ${formatValue(v)}\n`;
        out += `${f.sample}_sum${brace('')} ${formatValue(s.sum)}\n${f.sample}_count${brace('')} ${s.count}\n`;
        break;
    }
    s.text = out;
    return out;
  }

  /** `_created` (seconds) of a stream, for OpenMetrics. */
  createdSeconds(s: Stream): number {
    return nsToSeconds(s.startNs);
  }
}

/** Whether any count of `counts` is not 0. */
function hasCounts(counts: readonly number[]): boolean {
  for (let i = 0; i < counts.length; i++) if (counts[i]) return true;
  return false;
}

/**
 * The names under which a received summary stands in for the derived one of an exponential histogram
 * `<name>`: `<name>.summary` (the name the derived summary takes), and for a `<m>.distribution` (span
 * attributes, received metrics) also `<m>.summary`, the name the percentiles processor gives it
 * (processors/percentiles/render.ts), not `<m>.distribution.summary`.
 */
function summaryTwins(histogramName: string): string[] {
  const own = `${histogramName}.summary`;
  return histogramName.endsWith('.distribution') ? [own, `${histogramName.slice(0, -'.distribution'.length)}.summary`] : [own];
}
