/**
 * The percentiles processor: per series and per wall-clock window, mergeable distributions (./dist.ts over
 * src/sketch.ts) of span durations, numeric span attributes and configured received metrics, emitted every window as
 * OTLP exponential histograms (delta) plus summaries and a call counter.
 */
import type { Counter } from '@opentelemetry/api';
import type { Consumer, CreateSettings, Processor, SpanReads } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import type { Logger } from '../../src/logger.ts';
import {
  type Batch,
  type ExponentialHistogramDataPoint,
  type HistogramDataPoint,
  type KeyValue,
  type Metric,
  type NumberDataPoint,
  type ResourceMetrics,
  StatusCode,
} from '../../src/model.ts';
import { findNumber, findString } from '../../src/attributes.ts';
import { type BudgetAccount, memoryBudget, stringBytes } from '../../src/memory-budget.ts';
import { scaleForAccuracy } from '../../src/sketch.ts';
import { type Dist, NEW_PACKED_BYTES, SKETCH_BYTES, distAdd, distMergeDataPoint, distMergeExplicit, newDist, packedBytes } from './dist.ts';
import { MetricStreamReader, type MetricPointVisitor, type PointContext } from '../../src/streams/metric-stream-reader.ts';
import type { PercentilesConfig } from './config.ts';
import { LatencyHistory } from './latency-history.ts';
import { type RenderOptions, renderWindow } from './render.ts';
import { ABSENT, type MetricSeriesView, STATUS_NAMES, type SpanLeaf, type Trie, WindowState } from './window-state.ts';
import type { ComponentStatus } from '../../src/status.ts';
import { timerDelay } from '../../src/timer-delay.ts';

const OVERFLOW_ATTRS: KeyValue[] = [{ key: 'otel.metric.overflow', value: true }];
/** Estimated bytes of a new distribution (a packed store with room for its first buckets; growth is charged as it happens). */
const DIST_BYTES = NEW_PACKED_BYTES;
/** Estimated bytes of one trie entry besides its key string: the Map's slot and a share of its table and object. */
const TRIE_ENTRY_BYTES = 72;

/**
 * The percentiles processor (see this file's comment): distributions per series and wall-clock window, emitted
 * as delta exponential histograms, summaries and a call counter when each window closes.
 */
export class PercentilesProcessor implements Processor {
  /** What it reads of a span: the attributes of its dimensions (`span.name` is the span's name) and `span_attributes`; not the ids. */
  readonly spanReads: SpanReads;
  private readonly windowMs: number;
  /** The window in nanoseconds, for placing timestamps exactly. */
  private readonly windowNs: bigint;
  private readonly scale: number;
  private readonly dims: string[];
  private readonly serviceDim: number;
  private readonly quantiles: number[];
  /** What renderWindow reads (the config's parts and the units seen). */
  private readonly renderOptions: RenderOptions;
  private readonly metricNames: Set<string>;
  private readonly units = new Map<string, string>();
  private readonly spanAttrs: string[];
  /** Slots per status.code in a SpanLeaf: the duration and one per span attribute. */
  private readonly stride: number;
  private readonly held = new Map<number, WindowState>();
  /** Received metric points as deltas, whatever their temporality (src/streams). */
  private readonly streams: MetricStreamReader;
  private readonly wantsMetric = (m: Metric): boolean => {
    if (!this.metricNames.has(m.name)) return false;
    if (!this.units.has(m.name)) this.units.set(m.name, m.unit ?? '');
    return true;
  };
  private readonly metricVisitor: MetricPointVisitor = {
    number: (ctx, value, dp) => this.observeNumber(ctx, value, dp),
    histogram: (ctx, delta) => this.observeHistogram(ctx, delta),
    exponentialHistogram: (ctx, delta) => this.observeExponential(ctx, delta),
  };
  /** Scratch of observeMetrics: the batch's arrival time and late points. */
  private nowMs = 0;
  private late = 0;
  /** Scratch of metricTarget: the target series' distribution, the Map holding it and its key there. */
  private target: Dist | undefined;
  private targetParent: Map<string, unknown> | undefined;
  private targetKey = '';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly logger: Logger;
  private readonly emit: Consumer;
  private readonly overflowCounter: Counter;
  private readonly lateCounter: Counter;
  private readonly invalidCounter: Counter;
  private readonly counterLabels: CreateSettings['telemetry']['labels'];
  /** Scratch: the current item's dimension values (no allocation per span; one '' with no dimension). */
  private readonly vals: string[];
  private readonly resVals: (string | undefined)[];
  private lastWindow: WindowState | undefined;
  private invalidWarned = false;
  private readonly history: LatencyHistory;
  /** The held windows' share of the process's memory budget (src/memory-budget.ts). */
  readonly budget: BudgetAccount = memoryBudget.account('processor/percentiles series');

  constructor(
    private readonly config: PercentilesConfig,
    settings: CreateSettings,
  ) {
    this.windowMs = parseDuration(config.window);
    if (!(this.windowMs > 0)) throw new Error('percentiles: window must be greater than 0');
    this.windowNs = BigInt(Math.round(this.windowMs * 1e6));
    this.scale = scaleForAccuracy(config.relative_accuracy);
    this.history = new LatencyHistory(this.windowMs, this.scale);
    this.dims = config.dimensions.slice();
    this.serviceDim = this.dims.indexOf('service.name');
    this.quantiles = [...new Set([0, ...config.quantiles, 1])].sort((a, b) => a - b);
    this.metricNames = new Set(config.metrics);
    this.spanAttrs = config.span_attributes.slice();
    this.spanReads = { attributes: [...new Set([...this.dims, ...this.spanAttrs])], ids: false };
    this.stride = 1 + this.spanAttrs.length;
    this.renderOptions = { windowMs: this.windowMs, scale: this.scale, quantiles: this.quantiles, spanAttrs: this.spanAttrs, units: this.units };
    this.streams = new MetricStreamReader({
      component: 'percentiles',
      logger: settings.logger,
      telemetry: settings.telemetry,
      maxStreams: Math.max(1000, config.max_series * 4),
    });
    this.vals = new Array<string>(Math.max(1, this.dims.length)).fill('');
    this.resVals = new Array<string | undefined>(this.dims.length).fill(undefined);
    this.logger = settings.logger;
    this.emit = settings.emit;
    const meter = settings.telemetry.meter;
    this.counterLabels = settings.telemetry.labels;
    this.overflowCounter = meter.createCounter('vigil_processor_series_overflow_items', {
      description: 'Observations folded into the overflow series because max_series was reached or the memory budget was full',
    });
    this.lateCounter = meter.createCounter('vigil_processor_late_items', {
      description: 'Observations whose window was no longer held (dropped)',
    });
    this.invalidCounter = meter.createCounter('vigil_processor_invalid_items', {
      description: 'Spans or metric points that could not be read (dropped from the distributions)',
    });
  }

  async start(): Promise<void> {
    if (this.stopped || this.timer) return;
    this.arm();
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.streams.close();
    this.budget.close();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush(Infinity);
  }

  async process(batch: Batch, next: Consumer): Promise<void> {
    try {
      this.observe(batch, Date.now());
    } catch (err) {
      // observing must never stop the data: log, count, and pass the batch on
      this.invalidCounter.add(1, this.counterLabels);
      this.logger.error({ err }, 'percentiles: failed to observe a batch');
    }
    return next.consume(batch);
  }

  /** Latency and errors per service and model over the last windows (the status page's charts). */
  status(nowMs: number): ComponentStatus {
    return { latency: this.history.status(nowMs) };
  }

  /** Number of series held across all open windows (for tests and the benchmark). */
  seriesHeld(): number {
    let n = 0;
    for (const w of this.held.values()) n += w.seriesCount;
    return n;
  }

  // ------------------------------------------------------------------------------------------ timers

  private arm(): void {
    if (this.stopped) return;
    const now = Date.now();
    const next = (Math.floor(now / this.windowMs) + 1) * this.windowMs;
    // a window past Node's longest timer (24.8 days) ticks early: nothing is due then, and it waits again
    this.timer = setTimeout(() => this.tick(), timerDelay(Math.max(1, next - now)));
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    const current = Math.floor(Date.now() / this.windowMs);
    this.flush(current - this.config.late_windows).catch((err: unknown) => this.logger.error({ err }, 'percentiles: emit failed'));
    this.arm();
  }

  /** Emits and forgets every held window whose index is below `before`. */
  private async flush(before: number): Promise<void> {
    const due: WindowState[] = [];
    for (const w of this.held.values()) if (w.index < before) due.push(w);
    if (due.length === 0) return;
    due.sort((a, b) => a.index - b.index);
    for (const w of due) {
      this.budget.add(-w.bytes);
      this.held.delete(w.index);
      if (this.lastWindow === w) this.lastWindow = undefined;
    }
    const resourceMetrics: ResourceMetrics[] = [];
    for (const w of due) {
      const spans = w.spanSeries(this.dims, this.serviceDim, this.stride, OVERFLOW_ATTRS);
      const overflow = new Map<string, MetricSeriesView>();
      for (const [name, dist] of w.metricOverflow) overflow.set(name, { attrs: OVERFLOW_ATTRS, service: '', dist });
      this.history.record(w.index, spans);
      resourceMetrics.push(...renderWindow(w.index, spans, w.metricSeries(this.dims, this.serviceDim), overflow, this.renderOptions));
    }
    if (resourceMetrics.length) await this.emit.consume({ resourceMetrics });
  }

  // ----------------------------------------------------------------------------------------- observe

  private windowFor(timeNs: bigint, nowMs: number): WindowState | undefined {
    const current = Math.floor(nowMs / this.windowMs);
    // on the bigint nanoseconds: as a double, a time 1 ns before a boundary rounds onto it (and into the next window)
    let idx = timeNs > 0n ? Number(timeNs / this.windowNs) : current;
    if (idx > current) idx = current; // clock skew into the future: count it now
    const last = this.lastWindow;
    if (last && last.index === idx) return last;
    if (idx < current - this.config.late_windows && !this.held.has(idx)) return undefined;
    let w = this.held.get(idx);
    if (!w) {
      w = new WindowState(idx);
      this.held.set(idx, w);
    }
    this.lastWindow = w;
    return w;
  }

  private observe(batch: Batch, nowMs: number): void {
    if (batch.resourceSpans) this.observeSpans(batch, nowMs);
    if (batch.resourceMetrics && this.metricNames.size) this.observeMetrics(batch, nowMs);
  }

  private observeSpans(batch: Batch, nowMs: number): void {
    const dims = this.dims;
    const nd = dims.length;
    const vals = this.vals;
    const resVals = this.resVals;
    const spanAttrs = this.spanAttrs;
    const stride = this.stride;
    let late = 0;
    let overflow = 0;
    let invalid = 0;
    for (const rs of batch.resourceSpans!) {
      const rattrs = rs.resource?.attributes ?? [];
      for (let d = 0; d < nd; d++) resVals[d] = findString(rattrs, dims[d]!);
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          const end = span.endTimeUnixNano;
          const start = span.startTimeUnixNano;
          // a span that ends before it starts has no duration to observe (not 0 ms): dropped and counted
          if (typeof end !== 'bigint' || typeof start !== 'bigint' || start <= 0n || end <= 0n || end < start) {
            invalid++;
            continue;
          }
          const w = this.windowFor(end, nowMs);
          if (!w) {
            late++;
            continue;
          }
          const attrs = span.attributes;
          for (let d = 0; d < nd; d++) {
            const key = dims[d]!;
            let v: string | undefined;
            if (key === 'span.name') v = span.name;
            else v = findString(attrs, key) ?? resVals[d];
            vals[d] = v ?? '';
          }
          const code = span.status?.code;
          let slot = (code === StatusCode.Ok || code === StatusCode.Error ? code : 0) * stride;
          let leaf = this.findSpanLeaf(w);
          if (leaf?.[slot] === undefined) {
            const bytes = w.seriesCount >= this.config.max_series ? 0 : this.spanSeriesBytes(leaf === undefined);
            if (bytes === 0 || !this.budget.admit(bytes)) {
              if (bytes) this.budget.shed(1);
              leaf = w.spanOverflow;
              if (!leaf) {
                leaf = w.spanOverflow = new Array<Dist | undefined>(stride).fill(undefined);
                leaf[0] = newDist(this.scale);
                this.charge(w, leafBytes(stride) + DIST_BYTES);
              }
              slot = 0;
              overflow++;
            } else {
              this.charge(w, bytes);
              leaf ??= this.createSpanLeaf(w);
              leaf[slot] = newDist(this.scale);
              w.seriesCount++;
            }
          }
          this.addTo(w, leaf, slot, Number(end - start) / 1e6);
          for (let i = 0; i < spanAttrs.length; i++) {
            const n = findNumber(attrs, spanAttrs[i]!);
            if (n === undefined) continue;
            if (leaf[slot + 1 + i] === undefined) {
              leaf[slot + 1 + i] = newDist(this.scale);
              this.charge(w, DIST_BYTES);
            }
            this.addTo(w, leaf, slot + 1 + i, n);
          }
        }
      }
    }
    if (late) this.lateCounter.add(late, this.counterLabels);
    if (overflow) this.overflowCounter.add(overflow, this.counterLabels);
    if (invalid) this.countInvalid(invalid, 'spans without start or end time, or ending before they start');
  }

  /** Adds `bytes` to window `w`'s share of the budget (given back when the window is flushed). */
  private charge(w: WindowState, bytes: number): void {
    w.bytes += bytes;
    this.budget.add(bytes);
  }

  /**
   * Adds observation `v` to the distribution in `holder[key]` (a SpanLeaf slot), storing the Sketch a packed
   * store becomes and charging window `w` for what the store grows by.
   */
  private addTo(w: WindowState, holder: SpanLeaf, key: number, v: number): void {
    const d = holder[key]!;
    if (!Array.isArray(d)) {
      d.add(v);
      return;
    }
    const r = distAdd(d, v, this.scale);
    if (r !== d) {
      holder[key] = r;
      this.chargeGrowth(w, d, r);
    }
  }

  /** Charges window `w` for what packed store `d` grew by when it was replaced by `r`: its longer copy, or the Sketch it became. */
  private chargeGrowth(w: WindowState, d: number[], r: Dist): void {
    this.charge(w, (Array.isArray(r) ? packedBytes(r) : SKETCH_BYTES) - packedBytes(d));
  }

  /**
   * Estimated bytes of a new span series of the current values (this.vals): its distribution, and when its
   * leaf is new the leaf and its trie path (an entry and the key string per dimension).
   */
  private spanSeriesBytes(newLeaf: boolean): number {
    let n = DIST_BYTES;
    if (!newLeaf) return n;
    n += leafBytes(this.stride);
    for (let i = 0; i < this.vals.length; i++) n += stringBytes(this.vals[i]!) + TRIE_ENTRY_BYTES;
    return n;
  }

  private findSpanLeaf(w: WindowState): SpanLeaf | undefined {
    let node: Trie<SpanLeaf> | SpanLeaf | undefined = w.spanRoot;
    const vals = this.vals;
    for (let i = 0; i < vals.length; i++) {
      node = (node as Trie<SpanLeaf>).get(vals[i]!);
      if (node === undefined) return undefined;
    }
    return node as SpanLeaf;
  }

  private createSpanLeaf(w: WindowState): SpanLeaf {
    const vals = this.vals;
    let node: Trie<SpanLeaf> = w.spanRoot;
    for (let i = 0; i < vals.length - 1; i++) {
      let child = node.get(vals[i]!) as Trie<SpanLeaf> | undefined;
      if (!child) node.set(vals[i]!, (child = new Map()));
      node = child;
    }
    const leaf = new Array<Dist | undefined>(STATUS_NAMES.length * this.stride).fill(undefined);
    node.set(vals[vals.length - 1]!, leaf);
    return leaf;
  }

  private observeMetrics(batch: Batch, nowMs: number): void {
    this.nowMs = nowMs;
    this.late = 0;
    this.streams.read(batch, this.wantsMetric, this.metricVisitor);
    if (this.late) this.lateCounter.add(this.late, this.counterLabels);
  }

  /** Gauges: each value is one observation. Sums carry no distribution: counted as unsupported. */
  private observeNumber(ctx: PointContext, value: number | undefined, dp: NumberDataPoint): void {
    if (ctx.metric.data!.type !== 'gauge') {
      this.streams.skip('unsupported_type', 1, `metric ${ctx.metric.name} is a sum; percentiles summarises gauges and histograms`);
      return;
    }
    if (value === undefined) return;
    const w = this.metricTarget(ctx.metric.name, dp.attributes, ctx.resourceMetrics.resource.attributes, dp.timeUnixNano, this.nowMs);
    if (!w) {
      this.late++;
      return;
    }
    this.merged(w, distAdd(this.targetDist(), value, this.scale), ctx.metric.name);
  }

  private observeHistogram(ctx: PointContext, delta: HistogramDataPoint | undefined): void {
    if (!delta || delta.count === 0) return;
    const w = this.metricTarget(ctx.metric.name, delta.attributes, ctx.resourceMetrics.resource.attributes, delta.timeUnixNano, this.nowMs);
    if (!w) this.late++;
    else this.merged(w, distMergeExplicit(this.targetDist(), delta, this.scale), ctx.metric.name);
  }

  private observeExponential(ctx: PointContext, delta: ExponentialHistogramDataPoint | undefined): void {
    if (!delta || delta.count === 0) return;
    const w = this.metricTarget(ctx.metric.name, delta.attributes, ctx.resourceMetrics.resource.attributes, delta.timeUnixNano, this.nowMs);
    if (!w) this.late++;
    else this.merged(w, distMergeDataPoint(this.targetDist(), delta, this.scale), ctx.metric.name);
  }

  /** The distribution metricTarget found. */
  private targetDist(): Dist {
    return this.target!;
  }

  /**
   * After a received point was added or merged into the target's distribution (targetDist): stores `r`, what
   * holds it now, and charges its growth; or counts the point as having no value (`r` undefined: a histogram
   * point with nothing to place).
   */
  private merged(w: WindowState, r: Dist | undefined, metric: string): void {
    if (r === undefined) {
      this.streams.skip('no_value', 1, `metric ${metric}`);
      return;
    }
    const d = this.target!;
    if (r === d || !Array.isArray(d)) return;
    this.targetParent!.set(this.targetKey, r);
    this.chargeGrowth(w, d, r);
  }

  /**
   * Finds or creates the series of a received metric's point (folding it into the metric's overflow series
   * past max_series or the budget) and leaves its place in targetParent / targetKey; returns the point's
   * window, or undefined when that window is no longer held.
   */
  private metricTarget(name: string, attrs: KeyValue[], rattrs: KeyValue[], timeNs: bigint, nowMs: number): WindowState | undefined {
    const w = this.windowFor(typeof timeNs === 'bigint' ? timeNs : 0n, nowMs);
    if (!w) return undefined;
    const nd = this.dims.length;
    const vals = this.vals;
    for (let d = 0; d < nd; d++) {
      const v = findString(attrs, this.dims[d]!) ?? findString(rattrs, this.dims[d]!);
      vals[d] = v ?? ABSENT;
    }
    let root = w.metricRoots.get(name);
    if (!root) w.metricRoots.set(name, (root = new Map()));
    let parent: Trie<Dist> = root;
    let node: Trie<Dist> | Dist | undefined = root;
    for (let d = 0; d < nd - 1 && node; d++) node = (node as Trie<Dist>).get(vals[d]!);
    const leafKey = nd === 0 ? '' : vals[nd - 1]!;
    if (node) {
      parent = node as Trie<Dist>;
      const found = parent.get(leafKey) as Dist | undefined;
      if (found !== undefined) {
        this.target = found;
        this.targetParent = parent;
        this.targetKey = leafKey;
        return w;
      }
    }
    let bytes = 0;
    if (w.seriesCount < this.config.max_series) {
      bytes = DIST_BYTES + stringBytes(name);
      for (let d = 0; d < nd; d++) bytes += stringBytes(vals[d]!) + TRIE_ENTRY_BYTES;
      if (!this.budget.admit(bytes)) {
        this.budget.shed(1);
        bytes = 0;
      }
    }
    if (bytes === 0) {
      this.overflowCounter.add(1, this.counterLabels);
      let o = w.metricOverflow.get(name);
      if (!o) {
        w.metricOverflow.set(name, (o = newDist(this.scale)));
        this.charge(w, DIST_BYTES + TRIE_ENTRY_BYTES + stringBytes(name));
      }
      this.target = o;
      this.targetParent = w.metricOverflow;
      this.targetKey = name;
      return w;
    }
    this.charge(w, bytes);
    parent = root;
    for (let d = 0; d < nd - 1; d++) {
      let child = parent.get(vals[d]!) as Trie<Dist> | undefined;
      if (!child) parent.set(vals[d]!, (child = new Map()));
      parent = child;
    }
    const created = newDist(this.scale);
    parent.set(leafKey, created);
    this.target = created;
    w.seriesCount++;
    this.targetParent = parent;
    this.targetKey = leafKey;
    return w;
  }

  private countInvalid(n: number, what: string): void {
    this.invalidCounter.add(n, this.counterLabels);
    if (!this.invalidWarned) {
      this.invalidWarned = true;
      this.logger.warn({ items: n }, `percentiles: dropped unreadable input (${what}); further cases are only counted`);
    }
  }
}

/** Estimated bytes of a SpanLeaf of `stride` slots per status.code (the JSArray and its FixedArray). */
function leafBytes(stride: number): number {
  return 48 + 8 * STATUS_NAMES.length * stride;
}
