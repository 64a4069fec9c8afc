/**
 * vigil's own metrics without the OpenTelemetry metrics SDK: an implementation of the OTel API's `Meter`
 * (counters, up-down counters, gauges, histograms and their observable forms, batch callbacks) that keeps
 * cumulative state for one reader, and the Prometheus text exposition of it for `/metrics`.
 *
 * Why not the SDK: `@opentelemetry/sdk-metrics` with `@opentelemetry/exporter-prometheus` (and the
 * semantic-conventions package the exporter pulls in) cost ~7 MiB of RSS and a third of start-up
 * (issue 21); vigil needs one cumulative reader. When vigil's own metrics are also exported over OTLP
 * (`service.telemetry.metrics.readers`), an SDK meter is given as `mirror` and every instrument and
 * measurement is forwarded to it as well, so OTLP export keeps the SDK's full semantics.
 *
 * The exposition is the one `@opentelemetry/exporter-prometheus` 0.223 writes with `withoutScopeInfo` and
 * `withoutTargetInfo` (text format 0.0.4 with `# UNIT` lines, counters suffixed `_total`, histograms as
 * `_count`, `_sum`, then cumulative `_bucket{le}`), and the values are the ones the SDK's cumulative
 * aggregation computes (opentelemetry-js `sdk-metrics`: `DeltaMetricProcessor`, `TemporalMetricProcessor`,
 * the sum, last-value and explicit-bucket-histogram aggregators), down to the order of floating-point
 * additions: src/own-meter.test.ts compares both on random sequences of measurements.
 * Rules kept from the SDK: a series is the attribute set (keys sorted); series are listed in first-seen
 * order and stay once seen; an instrument re-created with the same name, unit, kind and value type
 * shares its stream (the longer description wins), otherwise a second stream of that name is kept;
 * negative values on counters and histograms, non-numbers and NaN in histograms are dropped; INT
 * instruments truncate fractions; 2,000 series per stream and interval, then the `otel.metric.overflow`
 * series; a failing callback's observations are dropped, the others still count.
 */
import type http from 'node:http';
import {
  type Attributes,
  type BatchObservableCallback,
  type BatchObservableResult,
  type Counter,
  type Gauge,
  type Histogram,
  type Meter,
  type MetricOptions,
  type Observable,
  type ObservableCallback,
  type ObservableCounter,
  type ObservableGauge,
  type ObservableResult,
  type ObservableUpDownCounter,
  type UpDownCounter,
  ValueType,
} from '@opentelemetry/api';

/** The SDK's instrument types (InstrumentType): part of a stream's identity. */
type InstrumentKind = 'COUNTER' | 'UP_DOWN_COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'OBSERVABLE_COUNTER' | 'OBSERVABLE_UP_DOWN_COUNTER' | 'OBSERVABLE_GAUGE';

/** The SDK's default explicit bucket boundaries (ExplicitBucketHistogramAggregation's default). */
const DEFAULT_BOUNDARIES = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
/** The SDK's default aggregation cardinality limit per stream. */
const CARDINALITY_LIMIT = 2000;
const OVERFLOW: Attributes = { 'otel.metric.overflow': true };

interface SumAcc {
  v: number;
  reset: boolean;
}
interface HistAcc {
  counts: number[];
  sum: number;
  count: number;
  hasMinMax: boolean;
  min: number;
  max: number;
}
type Acc = SumAcc | HistAcc;

/** Accumulations by attribute-set hash, in first-seen order, with the attributes first seen. */
class SeriesMap<A> {
  readonly map = new Map<string, { attrs: Attributes; acc: A }>();
  get size(): number {
    return this.map.size;
  }
}

/** `JSON.stringify` of the sorted entries, as the SDK's hashAttributes. */
function hashAttributes(attrs: Attributes): string {
  const keys = Object.keys(attrs);
  if (keys.length === 0) return '';
  keys.sort();
  return JSON.stringify(keys.map((k) => [k, attrs[k]]));
}

/** One metric stream: descriptor and cumulative state for the one reader (`/metrics`). */
class Stream {
  description: string;
  readonly kind: 'sum' | 'last' | 'histogram';
  readonly monotonic: boolean;
  readonly boundaries: number[];
  /** Recorded since the last collection (DeltaMetricProcessor's active storage). */
  private active = new SeriesMap<Acc>();
  /** Last observed cumulative value per series (asynchronous instruments only). */
  private readonly memo = new SeriesMap<Acc>();
  /** What the reader reported last (TemporalMetricProcessor's report history); undefined before the first collection. */
  private cumulative: SeriesMap<Acc> | undefined;
  private readonly overflowHash = hashAttributes(OVERFLOW);

  constructor(
    readonly name: string,
    readonly type: InstrumentKind,
    readonly unit: string,
    readonly valueType: ValueType,
    description: string,
    boundaries: number[] | undefined,
  ) {
    this.description = description;
    this.kind = type === 'HISTOGRAM' ? 'histogram' : type === 'GAUGE' || type === 'OBSERVABLE_GAUGE' ? 'last' : 'sum';
    this.monotonic = type === 'COUNTER' || type === 'OBSERVABLE_COUNTER' || type === 'HISTOGRAM';
    this.boundaries = boundaries ?? DEFAULT_BOUNDARIES;
  }

  private create(): Acc {
    if (this.kind !== 'histogram') return { v: 0, reset: false };
    return { counts: new Array<number>(this.boundaries.length + 1).fill(0), sum: 0, count: 0, hasMinMax: false, min: Infinity, max: -Infinity };
  }

  private recordInto(acc: Acc, value: number): void {
    if ('v' in acc) {
      if (this.kind === 'last') acc.v = value;
      else if (!(this.monotonic && value < 0)) acc.v += value;
      return;
    }
    if (Number.isNaN(value)) return;
    acc.count += 1;
    acc.sum += value;
    acc.min = Math.min(value, acc.min);
    acc.max = Math.max(value, acc.max);
    acc.hasMinMax = true;
    // first boundary >= value (le semantics)
    let lo = 0;
    let hi = this.boundaries.length - 1;
    let idx = this.boundaries.length;
    while (hi >= lo) {
      const mid = lo + Math.trunc((hi - lo) / 2);
      if (this.boundaries[mid]! < value) lo = mid + 1;
      else {
        idx = mid;
        hi = mid - 1;
      }
    }
    acc.counts[idx]! += 1;
  }

  /** The aggregator's merge(previous, delta). */
  private merge(prev: Acc, delta: Acc): Acc {
    if ('v' in prev && 'v' in delta) {
      if (this.kind === 'last') return delta;
      if (delta.reset) return { v: delta.v, reset: true };
      return { v: prev.v + delta.v, reset: false };
    }
    const p = prev as HistAcc;
    const d = delta as HistAcc;
    const counts = new Array<number>(p.counts.length);
    for (let i = 0; i < p.counts.length; i++) counts[i] = p.counts[i]! + d.counts[i]!;
    let min = Infinity;
    let max = -Infinity;
    if (p.hasMinMax && d.hasMinMax) {
      min = Math.min(p.min, d.min);
      max = Math.max(p.max, d.max);
    } else if (p.hasMinMax) {
      min = p.min;
      max = p.max;
    } else if (d.hasMinMax) {
      min = d.min;
      max = d.max;
    }
    return { counts, count: p.count + d.count, sum: p.sum + d.sum, hasMinMax: p.hasMinMax || d.hasMinMax, min, max };
  }

  /** The aggregator's diff(previous, current): a delta from two cumulative observations. */
  private diff(prev: Acc, cur: Acc): Acc {
    if ('v' in prev && 'v' in cur) {
      if (this.kind === 'last') return cur;
      if (this.monotonic && prev.v > cur.v) return { v: cur.v, reset: true };
      return { v: cur.v - prev.v, reset: false };
    }
    const p = prev as HistAcc;
    const c = cur as HistAcc;
    const counts = new Array<number>(p.counts.length);
    for (let i = 0; i < p.counts.length; i++) counts[i] = c.counts[i]! - p.counts[i]!;
    return { counts, count: c.count - p.count, sum: c.sum - p.sum, hasMinMax: false, min: Infinity, max: -Infinity };
  }

  /** A synchronous measurement (already validated by the instrument). */
  record(value: number, attrs: Attributes): void {
    const hash = hashAttributes(attrs);
    let e = this.active.map.get(hash);
    if (!e) {
      if (this.active.size >= CARDINALITY_LIMIT - 1) {
        let o = this.active.map.get(this.overflowHash);
        if (!o) this.active.map.set(this.overflowHash, (o = { attrs: OVERFLOW, acc: this.create() }));
        this.recordInto(o.acc, value);
        return;
      }
      this.active.map.set(hash, (e = { attrs, acc: this.create() }));
    }
    this.recordInto(e.acc, value);
  }

  /** One callback's observations (DeltaMetricProcessor.batchCumulate). */
  observe(buffer: Map<string, { attrs: Attributes; value: number }>): void {
    for (const [originalHash, { attrs: originalAttrs, value }] of buffer) {
      let attrs = originalAttrs;
      let hash = originalHash;
      const acc = this.create();
      this.recordInto(acc, value);
      let delta = acc;
      const prev = this.memo.map.get(hash);
      if (prev) delta = this.diff(prev.acc, acc);
      else if (this.memo.size >= CARDINALITY_LIMIT - 1) {
        attrs = OVERFLOW;
        hash = this.overflowHash;
        const p = this.memo.map.get(hash);
        if (p) delta = this.diff(p.acc, acc);
      }
      const active = this.active.map.get(hash);
      if (active) delta = this.merge(active.acc, delta);
      const m = this.memo.map.get(hash);
      if (m) m.acc = acc;
      else this.memo.map.set(hash, { attrs, acc });
      if (active) active.acc = delta;
      else this.active.map.set(hash, { attrs, acc: delta });
    }
  }

  /** Folds what was recorded since the last collection into the cumulative state; returns it. */
  collect(): SeriesMap<Acc> {
    const unreported = this.active;
    this.active = new SeriesMap<Acc>();
    const last = this.cumulative;
    if (!last) return (this.cumulative = unreported);
    for (const [hash, e] of unreported.map) {
      const l = last.map.get(hash);
      if (l) l.acc = this.merge(l.acc, e.acc);
      else last.map.set(hash, e);
    }
    return last;
  }
}

interface Mirrored {
  /** The same instrument on the mirror meter (SDK), when there is one. */
  readonly twin: unknown;
}

class SyncInstrument implements Mirrored {
  constructor(
    private readonly stream: Stream,
    readonly twin: { add?(v: number, a?: Attributes): void; record?(v: number, a?: Attributes): void } | undefined,
  ) {}

  protected measure(value: number, attrs: Attributes | undefined, dropNegative: boolean): void {
    if (typeof value !== 'number') return;
    if (dropNegative && value < 0) return;
    if (this.stream.valueType === ValueType.INT && !Number.isInteger(value)) {
      value = Math.trunc(value);
      if (!Number.isInteger(value)) return;
    }
    this.stream.record(value, attrs ?? {});
  }
}

class CounterImpl extends SyncInstrument implements Counter, UpDownCounter {
  constructor(
    stream: Stream,
    twin: { add(v: number, a?: Attributes): void } | undefined,
    private readonly monotonic: boolean,
  ) {
    super(stream, twin);
  }
  add(value: number, attributes?: Attributes): void {
    this.twin?.add?.(value, attributes);
    this.measure(value, attributes, this.monotonic);
  }
}

class RecordImpl extends SyncInstrument implements Histogram, Gauge {
  constructor(
    stream: Stream,
    twin: { record(v: number, a?: Attributes): void } | undefined,
    private readonly dropNegative: boolean,
  ) {
    super(stream, twin);
  }
  record(value: number, attributes?: Attributes): void {
    this.twin?.record?.(value, attributes);
    this.measure(value, attributes, this.dropNegative);
  }
}

type TwinObservable = Observable & { addCallback(cb: ObservableCallback): void; removeCallback(cb: ObservableCallback): void };

class ObservableImpl implements ObservableCounter, ObservableGauge, ObservableUpDownCounter, Mirrored {
  constructor(
    readonly stream: Stream,
    private readonly meter: OwnMeter,
    readonly twin: TwinObservable | undefined,
  ) {}
  addCallback(callback: ObservableCallback): void {
    this.twin?.addCallback(callback);
    this.meter.addCallback(callback, this);
  }
  removeCallback(callback: ObservableCallback): void {
    this.twin?.removeCallback(callback);
    this.meter.removeCallback(callback, this);
  }
}

/** Collects observations of one callback: by attribute-set hash, the last value observed wins. */
class Observations {
  readonly byInstrument = new Map<ObservableImpl, Map<string, { attrs: Attributes; value: number }>>();

  add(instrument: ObservableImpl, value: number, attributes: Attributes | undefined): void {
    if (typeof value !== 'number') return;
    if (instrument.stream.valueType === ValueType.INT && !Number.isInteger(value)) {
      value = Math.trunc(value);
      if (!Number.isInteger(value)) return;
    }
    let m = this.byInstrument.get(instrument);
    if (!m) this.byInstrument.set(instrument, (m = new Map()));
    const attrs = attributes ?? {};
    const hash = hashAttributes(attrs);
    const e = m.get(hash);
    // the SDK's AttributeHashMap.set keeps the first attributes object and replaces the value
    if (e) e.value = value;
    else m.set(hash, { attrs, value });
  }
}

/** One stream as {@link OwnMeter.read} returns it. */
export interface MetricPoints {
  /** The instrument's name as created (no `_total`). */
  name: string;
  /** The OTel SDK's instrument type: `COUNTER`, `OBSERVABLE_GAUGE`, `HISTOGRAM`... */
  type: string;
  points: { attributes: Attributes; value: number | { count: number; sum: number; counts: number[] } }[];
}

/** A metric stream's data at one collection, as the serializer reads it. */
interface Collected {
  stream: Stream;
  series: SeriesMap<Acc>;
}

/** The `Meter` behind `/metrics` (see the file's comment); `mirror`: an SDK meter that gets everything too. */
export class OwnMeter implements Meter {
  /** Streams by exact name, each name's streams in registration order (MetricStorageRegistry). */
  private readonly streams = new Map<string, Stream[]>();
  private readonly callbacks: { cb: ObservableCallback; instrument: ObservableImpl }[] = [];
  private readonly batchCallbacks: { cb: BatchObservableCallback; instruments: Set<ObservableImpl>; twinCb?: BatchObservableCallback }[] = [];

  constructor(private readonly mirror?: Meter) {}

  private stream(name: string, type: InstrumentKind, options: MetricOptions | undefined): Stream {
    const unit = options?.unit ?? '';
    const valueType = options?.valueType ?? ValueType.DOUBLE;
    const description = options?.description ?? '';
    const list = this.streams.get(name);
    const lower = name.toLowerCase();
    for (const s of list ?? []) {
      if (s.name.toLowerCase() === lower && s.unit === unit && s.type === type && s.valueType === valueType) {
        if (description.length > s.description.length) s.description = description;
        return s;
      }
    }
    const s = new Stream(name, type, unit, valueType, description, type === 'HISTOGRAM' ? boundariesOf(options) : undefined);
    if (list) list.push(s);
    else this.streams.set(name, [s]);
    return s;
  }

  createCounter(name: string, options?: MetricOptions): Counter {
    return new CounterImpl(this.stream(name, 'COUNTER', options), this.mirror?.createCounter(name, options), true);
  }
  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    return new CounterImpl(this.stream(name, 'UP_DOWN_COUNTER', options), this.mirror?.createUpDownCounter(name, options), false);
  }
  createHistogram(name: string, options?: MetricOptions): Histogram {
    return new RecordImpl(this.stream(name, 'HISTOGRAM', options), this.mirror?.createHistogram(name, options), true);
  }
  createGauge(name: string, options?: MetricOptions): Gauge {
    return new RecordImpl(this.stream(name, 'GAUGE', options), this.mirror?.createGauge(name, options), false);
  }
  createObservableCounter(name: string, options?: MetricOptions): ObservableCounter {
    return new ObservableImpl(this.stream(name, 'OBSERVABLE_COUNTER', options), this, this.mirror?.createObservableCounter(name, options) as TwinObservable | undefined);
  }
  createObservableUpDownCounter(name: string, options?: MetricOptions): ObservableUpDownCounter {
    return new ObservableImpl(this.stream(name, 'OBSERVABLE_UP_DOWN_COUNTER', options), this, this.mirror?.createObservableUpDownCounter(name, options) as TwinObservable | undefined);
  }
  createObservableGauge(name: string, options?: MetricOptions): ObservableGauge {
    return new ObservableImpl(this.stream(name, 'OBSERVABLE_GAUGE', options), this, this.mirror?.createObservableGauge(name, options) as TwinObservable | undefined);
  }

  /** @internal ObservableImpl.addCallback: registered once per (callback, instrument). */
  addCallback(cb: ObservableCallback, instrument: ObservableImpl): void {
    if (this.callbacks.some((c) => c.cb === cb && c.instrument === instrument)) return;
    this.callbacks.push({ cb, instrument });
  }
  /** @internal */
  removeCallback(cb: ObservableCallback, instrument: ObservableImpl): void {
    const i = this.callbacks.findIndex((c) => c.cb === cb && c.instrument === instrument);
    if (i >= 0) this.callbacks.splice(i, 1);
  }

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    const instruments = new Set(observables.filter((o): o is ObservableImpl => o instanceof ObservableImpl));
    if (instruments.size === 0 || this.findBatch(callback, instruments) >= 0) return;
    let twinCb: BatchObservableCallback | undefined;
    if (this.mirror) {
      // the SDK's result wants the SDK's instruments: observations of ours are handed over as their twins
      twinCb = (r) => callback({ observe: (o: Observable, v: number, a?: Attributes) => r.observe(o instanceof ObservableImpl && o.twin ? o.twin : o, v, a) } as BatchObservableResult);
      this.mirror.addBatchObservableCallback(twinCb, [...instruments].map((i) => i.twin!));
    }
    this.batchCallbacks.push({ cb: callback, instruments, ...(twinCb ? { twinCb } : {}) });
  }

  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    const instruments = new Set(observables.filter((o): o is ObservableImpl => o instanceof ObservableImpl));
    const i = this.findBatch(callback, instruments);
    if (i < 0) return;
    const [b] = this.batchCallbacks.splice(i, 1);
    if (b?.twinCb) this.mirror?.removeBatchObservableCallback(b.twinCb, [...instruments].map((x) => x.twin!));
  }

  private findBatch(cb: BatchObservableCallback, instruments: Set<ObservableImpl>): number {
    return this.batchCallbacks.findIndex((b) => b.cb === cb && b.instruments.size === instruments.size && [...b.instruments].every((i) => instruments.has(i)));
  }

  /**
   * Runs every callback (a failing one's observations are dropped), then folds each stream into its
   * cumulative state. Streams without any series are left out.
   */
  private async collect(): Promise<Collected[]> {
    const runs: Promise<void>[] = [];
    for (const { cb, instrument } of this.callbacks) {
      const obs = new Observations();
      const result: ObservableResult = { observe: (value: number, attributes?: Attributes) => obs.add(instrument, value, attributes) };
      runs.push(
        (async () => {
          await cb(result);
          const m = obs.byInstrument.get(instrument);
          if (m) instrument.stream.observe(m);
        })(),
      );
    }
    for (const { cb, instruments } of this.batchCallbacks) {
      const obs = new Observations();
      const result: BatchObservableResult = {
        observe: (o: Observable, value: number, attributes?: Attributes) => {
          if (o instanceof ObservableImpl) obs.add(o, value, attributes);
        },
      };
      runs.push(
        (async () => {
          await cb(result);
          for (const i of instruments) {
            const m = obs.byInstrument.get(i);
            if (m) i.stream.observe(m);
          }
        })(),
      );
    }
    await Promise.allSettled(runs);
    const out: Collected[] = [];
    for (const list of this.streams.values()) {
      for (const stream of list) {
        const series = stream.collect();
        if (series.size) out.push({ stream, series });
      }
    }
    return out;
  }

  /**
   * Collects (as a scrape does) and returns every stream with its cumulative points: a number for sums
   * and gauges, `{count, sum, counts}` for histograms (`counts` per bucket, not cumulative, `+Inf` last).
   */
  async read(): Promise<MetricPoints[]> {
    return (await this.collect()).map(({ stream, series }) => ({
      name: stream.name,
      type: stream.type,
      points: [...series.map.values()].map(({ attrs, acc }) => ({ attributes: attrs, value: 'v' in acc ? acc.v : { count: acc.count, sum: acc.sum, counts: [...acc.counts] } })),
    }));
  }

  /** Collects and writes the Prometheus text exposition (see the file's comment). */
  async exposition(): Promise<string> {
    let str = '';
    for (const c of await this.collect()) {
      const s = serializeStream(c);
      if (s) str += s + '\n';
    }
    return str === '' ? '# no registered metrics' : str;
  }

  /** Answers a scrape as exporter-prometheus's request handler does: 200, `text/plain`, the exposition. */
  serve(res: http.ServerResponse): void {
    res.statusCode = 200;
    res.setHeader('content-type', 'text/plain');
    this.exposition().then(
      (body) => res.end(body),
      (err: unknown) => res.end(`# failed to export metrics: ${String(err)}`),
    );
  }
}

function boundariesOf(options: MetricOptions | undefined): number[] | undefined {
  const b = options?.advice?.explicitBucketBoundaries;
  if (!b) return undefined;
  const sorted = [...b].sort((x, y) => x - y);
  const minusInf = sorted.lastIndexOf(-Infinity);
  const inf = sorted.indexOf(Infinity);
  return sorted.slice(minusInf + 1, inf === -1 ? undefined : inf);
}

function escapeString(str: string): string {
  return str.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(v: unknown = ''): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return escapeString(s).replace(/"/g, '\\"');
}

function sanitizeName(name: string): string {
  return name.replace(/[^a-z0-9_]/gi, '_').replace(/_{2,}/g, '_');
}

function valueString(v: number): string {
  return v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : `${v}`;
}

function sample(name: string, attrs: Attributes, value: number, le?: string): string {
  let labels = '';
  for (const [k, v] of Object.entries(attrs)) labels += `${labels.length > 0 ? ',' : ''}${sanitizeName(k)}="${escapeLabelValue(v)}"`;
  if (le !== undefined) labels += `${labels.length > 0 ? ',' : ''}le="${le}"`;
  return `${labels ? `${name}{${labels}}` : name} ${valueString(value)}\n`;
}

function serializeStream({ stream, series }: Collected): string {
  let name = sanitizeName(escapeString(stream.name));
  if (name === '' || name === '_') return '';
  if (name[0]! >= '0' && name[0]! <= '9') name = `_${name}`;
  const isCounter = stream.kind === 'sum' && stream.monotonic;
  if (isCounter && !name.endsWith('_total')) name += '_total';
  const help = `# HELP ${name} ${escapeString(stream.description || 'description missing')}`;
  const unit = stream.unit ? `\n# UNIT ${name} ${escapeString(stream.unit)}` : '';
  const type = `# TYPE ${name} ${stream.kind === 'histogram' ? 'histogram' : isCounter ? 'counter' : 'gauge'}`;
  let results = '';
  for (const { attrs, acc } of series.map.values()) {
    if ('v' in acc) {
      results += sample(name, attrs, acc.v);
      continue;
    }
    results += sample(`${name}_count`, attrs, acc.count);
    results += sample(`${name}_sum`, attrs, acc.sum);
    let cumulative = 0;
    for (let i = 0; i < acc.counts.length; i++) {
      cumulative += acc.counts[i]!;
      const bound = stream.boundaries[i];
      results += sample(`${name}_bucket`, attrs, cumulative, bound === undefined || bound === Infinity ? '+Inf' : String(bound));
    }
  }
  return `${help}${unit}\n${type}\n${results}`.trim();
}
