/**
 * The prometheus exporter: serves the metrics (and the alerts processor's alerts) that reach it on its own
 * HTTP endpoint for Prometheus to scrape. `consume` only updates the store (metric-store.ts); a scrape
 * renders it (exposition.ts). Firing alerts are kept in `<state dir>/alerts.json` so that ALERTS survive a
 * restart.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import { readStateFile, removeStaleTemps, savedStringMap, writeFileAtomicSync } from '../../src/atomic-file.ts';
import { type CreateSettings, type Exporter, type Host, READS_NO_SPAN_FIELDS, type SpanReads } from '../../src/component.ts';
import { stateDirFor } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import type { Batch } from '../../src/model.ts';
import { ConnectionStats, answerClientErrors, clientErrorAnswer, defaultMaxConnections, listenCapped } from '../../src/otlp/connections.ts';
import { bearerMatches } from '../../src/otlp/intake.ts';
import { splitHostPort } from '../../src/endpoint.ts';
import type { PrometheusConfig } from './config.ts';
import { acceptsGzip, CONTENT_TYPES, negotiate, render } from './exposition.ts';
import { type ActiveAlert, type DropReason, MetricStore } from './metric-store.ts';

/** The warning logged the first time a point is dropped for each reason (later ones are only counted). */
const DROP_MESSAGES: Record<DropReason, string> = {
  late: 'a point overlapping or older than what its stream holds was dropped (late, or sent twice)',
  max_series: 'a point of a new stream was dropped: max_series streams are served already',
  memory_budget: "a point of a new stream was dropped: the process's memory budget is full",
  type_conflict: 'a metric was dropped: its Prometheus name is a family of another type already',
  name_conflict: "a metric was dropped: one of its series names is another family's or a reserved one",
  stream_conflict: "a point was dropped: its labels render as those of a series another OTLP stream holds (set service.instance.id or promote the resource attribute that tells them apart)",
  invalid: 'a point that cannot be served (a NaN or infinite value, a negative counter, a malformed histogram or summary) was dropped',
};

/** The exporter's instruments, created once per meter and shared by every instance (a reload makes new ones). */
interface Instruments {
  dropped: Counter;
  /** Streams removed for want of a point within `metric_expiration`. */
  removed: Counter;
  /** Live exporters whose stream count the gauge reports. */
  live: Set<{ store: MetricStore; labels: Attributes }>;
}
const instruments = new WeakMap<Meter, Instruments>();

function instrumentsFor(meter: Meter): Instruments {
  let i = instruments.get(meter);
  if (!i) {
    const live = new Set<{ store: MetricStore; labels: Attributes }>();
    i = {
      dropped: meter.createCounter('vigil_exporter_prometheus_dropped_points', {
        description: 'Points the prometheus exporter did not take, by reason (late, max_series, memory_budget, type_conflict, name_conflict, stream_conflict, invalid)',
      }),
      removed: meter.createCounter('vigil_exporter_prometheus_series_removed', {
        description: 'Streams the prometheus exporter stopped serving, by reason (idle: no point within metric_expiration)',
      }),
      live,
    };
    meter.createObservableGauge('vigil_exporter_prometheus_series', { description: 'Streams the prometheus exporter serves' }).addCallback((r) => {
      for (const e of live) r.observe(e.store.size, e.labels);
    });
    instruments.set(meter, i);
  }
  return i;
}

/**
 * The prometheus exporter (see this file's comment): `consume` updates the store; its HTTP server renders the
 * store on each scrape of `path` (optional bearer token, gzip when asked).
 */
export class PrometheusExporter implements Exporter {
  /** Takes metrics and alerts only. */
  readonly spanReads: SpanReads = READS_NO_SPAN_FIELDS;
  readonly store: MetricStore;
  private server: http.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly alertsFile: string;
  private readonly dropped: Counter;
  private readonly removed: Counter;
  private readonly removedLabels: Attributes;
  private readonly live: { store: MetricStore; labels: Attributes };
  private readonly liveSet: Set<{ store: MetricStore; labels: Attributes }>;
  private stopped = false;
  /** The last save of alerts.json failed: retried at every expiry sweep, at the next change and at shutdown. */
  private saveFailing = false;
  private host: Host | undefined;
  /** The address it listens on once started (`host:port`, the real port when 0 was asked). */
  address = '';

  constructor(
    private readonly settings: CreateSettings,
    private readonly config: PrometheusConfig,
  ) {
    this.store = new MetricStore({
      promote: config.resource_attributes,
      addSuffixes: config.add_metric_suffixes,
      summaryQuantiles: config.summary_quantiles,
      histogramScale: config.histogram_scale,
      histogramMaxBuckets: config.histogram_max_buckets,
      maxSeries: config.max_series,
      expireMs: parseDuration(config.metric_expiration),
    });
    this.alertsFile = path.join(stateDirFor(settings), 'alerts.json');
    const ins = instrumentsFor(settings.telemetry.meter);
    const labels = settings.telemetry.labels;
    this.dropped = ins.dropped;
    this.removed = ins.removed;
    this.removedLabels = { ...labels, reason: 'idle' };
    const warned = new Set<DropReason>();
    this.store.onDrop = (reason, n) => {
      this.dropped.add(n, { ...labels, reason });
      if (warned.has(reason)) return;
      warned.add(reason);
      settings.logger.warn({ reason }, `prometheus exporter: ${DROP_MESSAGES[reason]}; further cases are only counted on /metrics as vigil_exporter_prometheus_dropped_points_total{reason="${reason}"}`);
    };
    this.live = { store: this.store, labels };
    this.liveSet = ins.live;
    ins.live.add(this.live);
  }

  async start(serviceHost?: Host): Promise<void> {
    if (this.server) return;
    this.host = serviceHost;
    const prev = this.settings.previous;
    if (prev instanceof PrometheusExporter && prev.alertsFile === this.alertsFile) {
      // a reload: the firing alerts held in memory are newer than alerts.json when its saves failed
      for (const [k, a] of prev.store.alerts) this.store.alerts.set(k, a);
      if (prev.saveFailing) this.saveAlerts();
    } else this.loadAlerts();
    const { host, port } = splitHostPort(this.config.endpoint);
    // Scrapes are small: headers within 10 s (checked every second), a capped number of connections.
    const server = http.createServer({ connectionsCheckingInterval: 1000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => this.handle(req, res));
    // a request Node cannot parse is answered after those before it on its connection (pipelining)
    answerClientErrors(server, (err) => clientErrorAnswer(err, server.headersTimeout, 'the headers timeout'));
    // refused and failed connections logged at most every 10 s, as every listener's
    const stats = new ConnectionStats(this.settings.logger, undefined);
    await listenCapped(server, host, port, `prometheus ${this.config.endpoint}`, defaultMaxConnections(), stats).catch((err: Error) => {
      throw new Error(`prometheus exporter ${this.settings.id}: cannot listen on ${this.config.endpoint}: ${err.message}`, { cause: err });
    });
    this.server = server;
    const a = server.address();
    this.address = a && typeof a === 'object' ? `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : this.config.endpoint;
    const every = Math.max(1000, Math.min(60_000, parseDuration(this.config.metric_expiration) / 4));
    this.timer = setInterval(() => {
      this.expire();
      if (this.saveFailing) this.saveAlerts();
    }, every);
    this.timer.unref();
    this.settings.logger.info({ endpoint: this.address, path: this.config.path }, 'prometheus exporter listening');
  }

  async consume(batch: Batch): Promise<void> {
    if (batch.resourceMetrics?.length) {
      const n = this.store.addResourceMetrics(batch.resourceMetrics);
      if (n) this.settings.telemetry.count('sent', 'metrics', n);
    }
    if (batch.alerts?.length && this.store.addAlerts(batch.alerts)) this.saveAlerts();
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.liveSet.delete(this.live);
    if (this.saveFailing) this.saveAlerts();
    this.store.close();
    if (this.timer) clearInterval(this.timer);
    const s = this.server;
    this.server = undefined;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  /** Removes the streams idle for `metric_expiration`, counted on /metrics (`vigil_exporter_prometheus_series_removed_total{reason="idle"}`). */
  private expire(): void {
    const gone = this.store.expire();
    if (gone > 0) this.removed.add(gone, this.removedLabels);
  }

  /** The exposition as a scrape with this Accept header gets it (tests, bench). */
  scrape(accept?: string): { contentType: string; body: string } {
    this.expire();
    const format = negotiate(accept);
    return { contentType: CONTENT_TYPES[format], body: render(this.store, format, this.liveAlerts()) };
  }

  /**
   * The alerts processors' pending and firing alerts as the running service reports them (the alerts API
   * reads the same), or undefined when there is no alerts processor to ask: then ALERTS comes from the
   * notifications that passed through this exporter (firing only).
   */
  private liveAlerts(): ActiveAlert[] | undefined {
    const statuses = this.host?.alertsStatuses?.(Date.now());
    if (!statuses || statuses.length === 0) return undefined;
    const out: ActiveAlert[] = [];
    for (const s of statuses)
      for (const a of s.alerts) {
        const at = Date.parse(a.startsAt) / 1000;
        out.push({ labels: a.labels, state: a.state, activeAt: Number.isFinite(at) ? at : Date.now() / 1000 });
      }
    return out;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = (req.url ?? '/').split('?')[0];
    if (!bearerMatches(req.headers.authorization, this.config.auth.bearer_token)) {
      res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('missing or invalid bearer token\n');
      return;
    }
    if (url !== this.config.path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${this.config.path}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    try {
      const { contentType, body } = this.scrape(req.headers.accept);
      const gzip = acceptsGzip(req.headers['accept-encoding']);
      const payload = gzip ? zlib.gzipSync(body, { level: 1 }) : Buffer.from(body);
      res.writeHead(200, { 'content-type': contentType, 'content-length': payload.length, ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
      res.end(req.method === 'HEAD' ? undefined : payload);
    } catch (err) {
      this.settings.logger.error({ err: (err as Error).message }, 'prometheus exporter: rendering the exposition failed');
      res.writeHead(500, { 'content-type': 'text/plain' }).end('exposition failed\n');
    }
  }

  private loadAlerts(): void {
    removeStaleTemps(this.alertsFile);
    const { value, problem } = readStateFile(this.alertsFile, (v) => (v && typeof v === 'object' && !Array.isArray(v) ? undefined : 'expected a JSON object of alerts by fingerprint'));
    if (problem) this.settings.logger.warn({ err: problem, file: this.alertsFile }, 'cannot read the saved alerts; ALERTS starts empty');
    let skipped = 0;
    for (const [k, x] of Object.entries((value ?? {}) as Record<string, unknown>)) {
      const a = savedActiveAlert(x);
      if (a) this.store.alerts.set(k, a);
      else skipped++;
    }
    // an entry that is not a whole alert (labels null, a label that is not text, no activeAt) would be served
    // as a junk ALERTS series (a="null", key_0="1"): left out, and said so
    if (skipped) this.settings.logger.warn({ file: this.alertsFile, skipped, kept: this.store.alerts.size }, 'skipped saved alerts that are not whole alerts (labels with an alertname, all text; activeAt in seconds)');
  }

  /** Writes alerts.json; a failure (disk full) keeps the previous file, is on /readyz (`state file`) and is retried. */
  private saveAlerts(): void {
    try {
      writeFileAtomicSync(this.alertsFile, JSON.stringify(Object.fromEntries(this.store.alerts)));
    } catch (err) {
      const message = (err as Error).message;
      if (!this.saveFailing)
        this.settings.logger.error({ err: message, file: this.alertsFile }, 'cannot save the firing alerts (the previous file is kept; retried at every expiry sweep, at the next change and at shutdown)');
      this.saveFailing = true;
      this.settings.telemetry.setHealthy(false, `cannot save the firing alerts: ${message}`, 'state file');
      return;
    }
    if (!this.saveFailing) return;
    this.saveFailing = false;
    this.settings.telemetry.setHealthy(true, undefined, 'state file');
    this.settings.logger.info({ file: this.alertsFile }, 'the firing alerts are saved again');
  }
}

/**
 * A saved ALERTS entry of alerts.json as the exporter serves it, or undefined when it is not one: `labels` an
 * object of text values with a non-empty `alertname`, `activeAt` a finite number of seconds, `state` absent,
 * `pending` or `firing`.
 */
export function savedActiveAlert(x: unknown): ActiveAlert | undefined {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return undefined;
  const a = x as { labels?: unknown; activeAt?: unknown; state?: unknown };
  if (typeof a.activeAt !== 'number' || !Number.isFinite(a.activeAt)) return undefined;
  if (a.state !== undefined && a.state !== 'pending' && a.state !== 'firing') return undefined;
  const labels = savedStringMap(a.labels);
  if (!labels?.['alertname']) return undefined;
  return { labels, activeAt: a.activeAt, ...(a.state !== undefined ? { state: a.state } : {}) };
}
