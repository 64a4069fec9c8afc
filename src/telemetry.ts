/**
 * vigil's own telemetry: OpenTelemetry metrics instruments, served in the Prometheus text format on
 * `service.telemetry.endpoint` `/metrics` by vigil's own meter (src/own-meter.ts: the exposition of
 * exporter-prometheus without loading the OTel metrics SDK), with `/healthz` and `/readyz` beside it.
 *
 * Names follow the Collector's `otelcol_*` metrics with a `vigil_` prefix, labelled by component ID and
 * signal: `vigil_receiver_accepted_items_total{receiver="otlp",signal="traces"}` and so on.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Attributes, type Histogram, type Meter, ValueType } from '@opentelemetry/api';
import { OwnMeter } from './own-meter.ts';
import type { ComponentKind } from './component.ts';
import type { SignalName } from './model.ts';
import { ConnectionStats, answerClientErrors, clientErrorAnswer, defaultMaxConnections, listenCapped, yieldTurn } from './otlp/connections.ts';
import { silentLogger } from './logger.ts';
import { basicPasswordMatches, bearerMatches } from './otlp/intake.ts';
import { splitHostPort } from './endpoint.ts';
import { memoryBudget } from './memory-budget.ts';

/** Answers a request on the telemetry endpoint; resolves to false when it does not know the path. */
export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => Promise<boolean>;

/** What a component counts. Receivers: accepted / refused; processors: dropped; exporters: sent / failed. */
export type CountEvent = 'accepted' | 'refused' | 'dropped' | 'sent' | 'failed';

/** A running total of one counter series. */
interface Tally {
  readonly attrs: Attributes;
  value: number;
}

/** One component's handle on /metrics. */
export interface ComponentTelemetry {
  /** The OTel meter for instruments of the component's own (name them `vigil_<kind>_<what>`). */
  readonly meter: Meter;
  /** The label set that identifies the component (`{exporter: "slack/oncall"}`), for own instruments. */
  readonly labels: Attributes;
  /** Adds `n` items of `signal` to the component's counter for `event`. */
  count(event: CountEvent, signal: SignalName, n: number): void;
  /** Registers the size (and, when known, the capacity) of a queue, read at every scrape. */
  queue(size: () => number, capacity?: () => number): void;
  /**
   * Marks the component failed (readiness turns 503, `/readyz` names it with `reason`) or healthy again.
   * `part` tells apart independent conditions of one component (`sending queue`, `state file`): each is
   * set and cleared on its own.
   */
  setHealthy(healthy: boolean, reason?: string, part?: string): void;
  /**
   * Serves JSON below `prefix` (e.g. `/api/v1/rules/`) on the telemetry endpoint: `lookup` gets the rest of
   * the path (URI-decoded) and returns what it knows of it, or undefined. A GET answers
   * `{"status":"success","data":[...]}` with every component's answer (404 when none knew the name).
   * Optional: test doubles may leave it out.
   */
  serveJson?(prefix: string, lookup: (name: string) => unknown): void;
}

const EVENT_METRIC: Record<CountEvent, { name: string; help: string }> = {
  accepted: { name: 'accepted_items', help: 'Items a receiver accepted into the pipelines' },
  refused: { name: 'refused_items', help: 'Items a receiver refused (bad input, overload)' },
  dropped: { name: 'dropped_items', help: 'Items a processor dropped' },
  sent: { name: 'sent_items', help: 'Items an exporter delivered' },
  failed: { name: 'send_failed_items', help: 'Items an exporter failed to deliver for good' },
};

/** The process-wide registry behind /metrics, /healthz and /readyz. */
export class ServiceTelemetry {
  /** The meter behind /metrics (and, with `mirror`, behind OTLP export too). */
  readonly meter: OwnMeter;
  /**
   * `vigil_pipeline_duration_seconds{receiver}`: how long a receiver's batch takes through the pipelines
   * until every exporter accepted it (queued it, for exporters with a queue). Recorded once per batch.
   */
  readonly pipelineDuration: Histogram;
  /** Per `kind:event`, the totals of each component and signal behind its observable counter. */
  private readonly counters = new Map<string, Map<string, Tally>>();
  private readonly unhealthy = new Map<string, string>();
  /** JSON lookups served on the endpoint (see ComponentTelemetry.serveJson), by owner. */
  private readonly jsonRoutes: { key: string; prefix: string; lookup: (name: string) => unknown }[] = [];
  private readonly queues: { key: string; labels: Attributes; size: () => number; capacity?: () => number }[] = [];
  private server: http.Server | undefined;
  private extra: RequestHandler | undefined;
  /** `starting` until every pipeline started; `draining` once shutdown begins. */
  phase: 'starting' | 'running' | 'draining' = 'starting';
  /**
   * The last config load: whether it took effect, and when one last did (Unix ms; the start counts). Served as
   * `vigil_config_last_reload_successful` and `vigil_config_last_reload_success_timestamp_seconds`, as Prometheus
   * and Alertmanager serve `*_config_last_reload_successful`: a refused reload keeps the running config, and
   * this is how a monitor sees it.
   */
  lastReload = { ok: true, successAtMs: Date.now() };

  /**
   * `mirror`: a meter of the OTel metrics SDK whose readers export vigil's own metrics over OTLP
   * (`service.telemetry.metrics.readers`, src/self-export.ts); every instrument and measurement goes to it
   * too. Without it, the SDK is not loaded.
   */
  constructor(opts: { mirror?: Meter } = {}) {
    this.meter = new OwnMeter(opts.mirror);
    this.registerProcessMetrics();
    this.pipelineDuration = this.meter.createHistogram('vigil_pipeline_duration_seconds', {
      description: 'Time a received batch takes through the pipelines until every exporter accepted it',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    });
    const queueSize = this.meter.createObservableGauge('vigil_exporter_queue_size', {
      description: 'Items waiting in an exporter queue',
      valueType: ValueType.INT,
    });
    const queueCap = this.meter.createObservableGauge('vigil_exporter_queue_capacity', {
      description: 'Capacity of an exporter queue',
      valueType: ValueType.INT,
    });
    this.meter.addBatchObservableCallback(
      (r) => {
        for (const q of this.queues) {
          r.observe(queueSize, q.size(), q.labels);
          if (q.capacity) r.observe(queueCap, q.capacity(), q.labels);
        }
      },
      [queueSize, queueCap],
    );
  }

  /** The telemetry handle for one component. */
  forComponent(kind: ComponentKind, id: string): ComponentTelemetry {
    const labels: Attributes = { [kind]: id };
    const tallies = new Map<CountEvent, Map<SignalName, Tally>>();
    const key = `${kind}/${id}`;
    return {
      meter: this.meter,
      labels,
      count: (event, signal, n) => {
        if (n <= 0) return;
        let bySignal = tallies.get(event);
        if (!bySignal) tallies.set(event, (bySignal = new Map()));
        let t = bySignal.get(signal);
        if (!t) bySignal.set(signal, (t = this.tally(kind, event, id, { ...labels, signal })));
        t.value += n;
      },
      queue: (size, capacity) => {
        this.queues.push({ key, labels, size, capacity });
      },
      serveJson: (prefix, lookup) => {
        this.jsonRoutes.push({ key, prefix, lookup });
      },
      setHealthy: (healthy, reason, part) => {
        const k = part ? `${key} (${part})` : key;
        if (healthy) this.unhealthy.delete(k);
        else this.unhealthy.set(k, reason ?? 'failed');
      },
    };
  }

  /** Marks a component failed (readiness turns 503) until it is forgotten at shutdown or reload. */
  markFailed(id: string, reason: string): void {
    this.unhealthy.set(id, reason);
  }

  /** Drops what a component registered (its queue gauges, its health) once it is shut down. */
  forget(kind: ComponentKind, id: string): void {
    const key = `${kind}/${id}`;
    this.unhealthy.delete(key);
    this.unhealthy.delete(id);
    for (const k of [...this.unhealthy.keys()]) if (k.startsWith(`${key} (`)) this.unhealthy.delete(k);
    for (let i = this.queues.length - 1; i >= 0; i--) if (this.queues[i]!.key === key) this.queues.splice(i, 1);
    for (let i = this.jsonRoutes.length - 1; i >= 0; i--) if (this.jsonRoutes[i]!.key === key) this.jsonRoutes.splice(i, 1);
  }

  /** Answers a path served by a component's serveJson; false when no route has that prefix. */
  private serveJsonRoute(path: string, res: http.ServerResponse): boolean {
    const routes = this.jsonRoutes.filter((r) => path.startsWith(r.prefix) && path.length > r.prefix.length);
    if (!routes.length) return false;
    let name: string;
    try {
      name = decodeURIComponent(path.slice(routes[0]!.prefix.length));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', error: 'bad URI encoding' }));
      return true;
    }
    const data: unknown[] = [];
    for (const r of routes) {
      try {
        const v = r.lookup(name);
        if (v !== undefined) data.push(v);
      } catch {
        // one component's failure does not hide the others' answers
      }
    }
    const body = data.length ? { status: 'success', data } : { status: 'error', error: `nothing named ${JSON.stringify(name)} here` };
    res.writeHead(data.length ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return true;
  }

  /**
   * The running total behind one series of a component counter (kept across reloads, as a counter's series
   * is). Counting is a plain addition on the hot path; an observable counter reads the totals at a scrape.
   * (The SDK's synchronous Counter.add hashed the attribute set on every call: measured as about 4% of the
   * receiver's CPU at 10,000 spans/s.)
   */
  private tally(kind: ComponentKind, event: CountEvent, id: string, attrs: Attributes): Tally {
    const k = `${kind}:${event}`;
    let c = this.counters.get(k);
    if (!c) {
      const m = EVENT_METRIC[event];
      const counter = this.meter.createObservableCounter(`vigil_${kind}_${m.name}`, { description: m.help, valueType: ValueType.INT });
      const tallies = new Map<string, Tally>();
      counter.addCallback((r) => {
        for (const t of tallies.values()) r.observe(t.value, t.attrs);
      });
      this.counters.set(k, (c = tallies));
    }
    const key = `${id}\u0000${String(attrs.signal)}`;
    let t = c.get(key);
    if (!t) c.set(key, (t = { attrs, value: 0 }));
    return t;
  }

  private registerProcessMetrics(): void {
    const reloadOk = this.meter.createObservableGauge('vigil_config_last_reload_successful', { description: 'Whether the last config reload took effect (1) or was refused and the running config kept (0)' });
    const reloadAt = this.meter.createObservableGauge('vigil_config_last_reload_success_timestamp_seconds', { unit: 's', description: 'When the config last loaded: the start or the last reload that took effect (Unix time)' });
    this.meter.addBatchObservableCallback(
      (r) => {
        r.observe(reloadOk, this.lastReload.ok ? 1 : 0);
        r.observe(reloadAt, this.lastReload.successAtMs / 1000);
      },
      [reloadOk, reloadAt],
    );
    const started = Date.now();
    const rss = this.meter.createObservableGauge('vigil_process_memory_rss', { unit: 'By', description: 'Resident set size' });
    const heap = this.meter.createObservableGauge('vigil_process_runtime_heap_alloc', { unit: 'By', description: 'V8 heap in use' });
    const cpu = this.meter.createObservableCounter('vigil_process_cpu_seconds', { unit: 's', description: 'CPU time (user + system)' });
    const uptime = this.meter.createObservableCounter('vigil_process_uptime', { unit: 's', description: 'Seconds since start' });
    this.meter.addBatchObservableCallback(
      (r) => {
        const mem = process.memoryUsage();
        r.observe(rss, mem.rss);
        r.observe(heap, mem.heapUsed);
        const u = process.cpuUsage();
        r.observe(cpu, (u.user + u.system) / 1e6);
        r.observe(uptime, (Date.now() - started) / 1000);
      },
      [rss, heap, cpu, uptime],
    );
    // the process-wide memory budget (src/memory-budget.ts): bytes accounted per store, its limit, and
    // items folded or shed because it was full
    const used = this.meter.createObservableGauge('vigil_memory_budget_used_bytes', { unit: 'By', description: 'Bytes held by a store that grows with its input, as accounted in the memory budget (estimate)' });
    const limit = this.meter.createObservableGauge('vigil_memory_budget_limit_bytes', { unit: 'By', description: 'Limit of the process-wide memory budget: past it, stores fold new series into overflow series or shed them' });
    const shed = this.meter.createObservableCounter('vigil_memory_budget_shed_items', { description: 'Items folded into an overflow series or shed because the memory budget was full, by store' });
    this.meter.addBatchObservableCallback(
      (r) => {
        memoryBudget.compact();
        r.observe(limit, memoryBudget.limitBytes);
        for (const [store, e] of memoryBudget.byStore()) {
          r.observe(used, e.bytes, { store });
          r.observe(shed, e.shed, { store });
        }
      },
      [used, limit, shed],
    );
  }

  /**
   * Per component (`receiver/otlp`), its running totals per counted event (summed over signals), the
   * items in its queues (and their capacity when known) and, when it failed, why. Read for the status page.
   */
  componentStats(): Map<string, { counts: Partial<Record<CountEvent, number>>; queue?: { size: number; capacity?: number }; unhealthy?: string }> {
    const out = new Map<string, { counts: Partial<Record<CountEvent, number>>; queue?: { size: number; capacity?: number }; unhealthy?: string }>();
    const entry = (key: string) => {
      let e = out.get(key);
      if (!e) out.set(key, (e = { counts: {} }));
      return e;
    };
    for (const [k, tallies] of this.counters) {
      const [kind, event] = k.split(':') as [ComponentKind, CountEvent];
      for (const t of tallies.values()) {
        const e = entry(`${kind}/${String(t.attrs[kind])}`);
        e.counts[event] = (e.counts[event] ?? 0) + t.value;
      }
    }
    for (const q of this.queues) {
      const e = entry(q.key);
      let size = 0;
      let capacity: number | undefined;
      try {
        size = q.size();
        capacity = q.capacity?.();
      } catch {
        // a queue being closed reads as empty
      }
      e.queue = { size: (e.queue?.size ?? 0) + size, ...(capacity !== undefined ? { capacity: (e.queue?.capacity ?? 0) + capacity } : {}) };
    }
    // keys are `kind/id`, or a bare id for failures reported through the host (markFailed)
    for (const [k, reason] of this.unhealthy) entry(k).unhealthy = reason;
    return out;
  }

  /**
   * Serves everything but /metrics, /healthz and /readyz through `handler` (the API and the status page);
   * it resolves to false for a path it does not know (404).
   */
  setRequestHandler(handler: RequestHandler | undefined): void {
    this.extra = handler;
  }

  /** Why the service is not ready, or undefined when it is. */
  notReadyReason(): string | undefined {
    if (this.phase !== 'running') return this.phase;
    if (this.unhealthy.size) return [...this.unhealthy].map(([k, v]) => `${k}: ${v}`).join('; ');
    return undefined;
  }

  /**
   * Starts the HTTP endpoint (`host:port`) on this thread; resolves with the bound address, rejects with the
   * listen error (`code` EADDRINUSE, EACCES, ...).
   *
   * Probes stay fast at saturation without a thread of their own: intake work runs one request per turn of
   * the event loop (src/otlp/connections.ts `intakeTurn`), and a connection accepted here makes the next turn
   * yield (`yieldTurn`), so that its request, read at the loop's next poll, waits for at most the intake turn
   * already running, not for one more (issue 11: `/healthz` under 50 ms at 2x saturation; measured 31-38 ms
   * p99 in chaos/overload.chaos.ts). A loop that is stuck does not answer at all, and the probe times out:
   * a liveness failure, as it should be.
   */
  async listen(endpoint: string): Promise<AddressInfo> {
    const { host, port } = splitHostPort(endpoint);
    // Probes must keep answering when clients misbehave: headers within 10 s (checked every second), a
    // whole request within 30 s, idle keep-alive connections closed after 5 s, and a connection cap so that
    // idle sockets cannot take every descriptor.
    const server = http.createServer({ connectionsCheckingInterval: 1000, headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => this.handle(req, res));
    server.keepAliveTimeout = 5000;
    server.on('connection', yieldTurn);
    // a request Node cannot parse is answered after those before it on its connection (pipelining)
    answerClientErrors(server, (err) => clientErrorAnswer(err, server.headersTimeout, 'the headers timeout'));
    // without the service's stats (a ServiceTelemetry of its own, in tests and benches), a silent count
    await listenCapped(server, host, port, `telemetry ${endpoint}`, defaultMaxConnections(), this.connectionStats ?? new ConnectionStats(silentLogger(), undefined));
    server.unref();
    this.server = server;
    return server.address() as AddressInfo;
  }

  /**
   * Tokens that may read the endpoint (`service.telemetry.auth.bearer_token`, and the API's write token);
   * empty: open. /healthz and /readyz stay open for probes.
   */
  readTokens: string[] = [];

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const auth = req.headers.authorization;
    if (this.readTokens.length && path !== '/healthz' && path !== '/readyz' && !this.readTokens.some((t) => bearerMatches(auth, t) || basicPasswordMatches(auth, t))) {
      // a browser asks for a user name and password on the Basic challenge: any user name, the token as password
      res.setHeader('www-authenticate', ['Basic realm="vigil", charset="UTF-8"', 'Bearer']);
      res.writeHead(401, { 'content-type': 'text/plain' }).end('missing or invalid bearer token (service.telemetry.auth)\n');
      return;
    }
    // components' JSON lookups (/api/v1/rules/NAME) come before the API and the page, except for a browser
    // (Accept: text/html) when the page is served: an alert's generatorURL opens the rule on the status page
    const wantsPage = this.extra !== undefined && /\btext\/html\b/.test(req.headers.accept ?? '');
    if ((req.method === 'GET' || req.method === 'HEAD') && !wantsPage && this.serveJsonRoute(path ?? '', res)) return;
    if (this.extra && path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
      const handler = this.extra;
      void (async () => {
        let url: URL;
        try {
          url = new URL(req.url ?? '/', 'http://vigil.invalid');
        } catch {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request URL\n');
          return;
        }
        if (await handler(req, res, url)) return;
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /, /metrics, /healthz, /readyz, /api/v2/alerts, /api/overview\n');
      })().catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`internal error: ${(e as Error)?.message ?? String(e)}\n`);
        else res.destroy();
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      this.meter.serve(res);
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('ok\n');
    } else if (path === '/readyz') {
      const reason = this.notReadyReason();
      if (reason === undefined) res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${reason}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz, /readyz\n');
    }
  }

  /** Where the endpoint counts and logs its refused and failed connections (the service's logger; src/otlp/connections.ts). */
  connectionStats: ConnectionStats | undefined;

  /** Stops serving (the mirror's SDK provider, if any, is shut down by whoever made it: src/self-export.ts). */
  async close(): Promise<void> {
    await this.closeServer();
  }

  /** Stops serving the HTTP endpoint (the metrics keep counting; `listen` may be called again). */
  async closeServer(): Promise<void> {
    const current = this.server;
    this.server = undefined;
    if (current) {
      current.closeAllConnections();
      await new Promise<void>((resolve) => current.close(() => resolve()));
    }
  }
}

export { splitHostPort } from './endpoint.ts';
