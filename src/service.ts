/**
 * The running daemon: self-telemetry endpoint, the pipeline graph, reload and drain.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { forgetValidators } from './config/ajv.ts';
import { ErrorCodes, systemErrorCode } from './errors.ts';
import { type LoadResult, formatConfigError, loadConfig, parseComponentId, type ServiceConfig } from './config/load.ts';
import { parseDuration } from './duration.ts';
import type { Tracer } from '@opentelemetry/api';
import { type ComponentKind, legacyStateDirName, stateDirFor, stateDirName } from './component.ts';
import { type CarriedComponent, Graph } from './graph.ts';
import type { Logger } from './logger.ts';
import type { ComponentRegistry } from './registry.ts';
import { ServiceTelemetry } from './telemetry.ts';
import { ConnectionStats } from './otlp/connections.ts';
import { AlertsApi, type ApiError, checkWrite } from './api/alertmanager.ts';
import { apiHandler } from './api/http.ts';
import { buildOverview, type Overview } from './api/overview.ts';
import { SilenceStore } from './silence-store.ts';
import { checkStateDirSync } from './atomic-file.ts';
import { DiskQueue } from './delivery/disk-queue.ts';
import type { AlertsStatus } from './status.ts';
import { timerDelay } from './timer-delay.ts';
import { VERSION } from './version.ts';

export { VERSION } from './version.ts';

/** What a {@link Service} is built with: logger, component registry, and optionally a tracer and telemetry. */
export interface ServiceOptions {
  logger: Logger;
  /** The components this service may run; reloads load their configs against it too. */
  registry: ComponentRegistry;
  /** Spans of the pipelines' work (`service.telemetry.traces`); none when undefined. */
  tracer?: Tracer;
  /** Reused across reloads so counters keep counting; one is made if not given. */
  telemetry?: ServiceTelemetry;
  /**
   * The config files `vigil run` was given: with them, `POST /-/reload` on the telemetry endpoint loads them again
   * (as SIGHUP does); without them (a service built in code) it answers 404.
   */
  configFiles?: readonly string[];
}

/**
 * The running daemon: loads the graph of a config, serves the telemetry endpoint (/metrics, health, the API and
 * status page), owns the silence store, reloads (SIGHUP) and drains on shutdown.
 */
export class Service {
  readonly telemetry: ServiceTelemetry;
  private readonly logger: Logger;
  private readonly registry: ComponentRegistry;
  private readonly tracer: Tracer | undefined;
  private graph: Graph | undefined;
  private endpoint: string | undefined;
  private reloading: Promise<boolean> | undefined;
  /** Why the last reload was refused (what `POST /-/reload` answers); cleared by one that takes effect. */
  private lastReloadError: string | undefined;
  /** The port the telemetry endpoint is bound to (useful when the config says port 0). */
  telemetryPort = 0;
  /** The daemon's silences (the API writes them, the alerts processors read them); opened at start. */
  silences: SilenceStore | undefined;
  private apiToken = '';
  readonly startedAt = Date.now();
  private readonly alertsApi: AlertsApi;

  constructor(
    private config: ServiceConfig,
    opts: ServiceOptions,
  ) {
    this.logger = opts.logger;
    this.registry = opts.registry;
    this.tracer = opts.tracer;
    this.telemetry = opts.telemetry ?? new ServiceTelemetry();
    this.telemetry.connectionStats = new ConnectionStats(this.logger, undefined);
    const self = this;
    this.alertsApi = new AlertsApi({
      alertsStatuses: (now) => this.alertsStatuses(now),
      get silences() {
        return self.silences!;
      },
      auth: () => ({ token: this.apiToken, unauthenticatedWrites: this.config.service.telemetry.api.unauthenticated_writes }),
      startedAt: this.startedAt,
      version: VERSION,
    });
    const api = apiHandler({ alerts: this.alertsApi, overview: (now) => this.overview(now) });
    const files = opts.configFiles;
    this.telemetry.setRequestHandler((req, res, url) => (url.pathname === '/-/reload' ? this.reloadRequest(req, res, files) : api(req, res, url)));
  }

  /**
   * `POST /-/reload` (or PUT), as Alertmanager's and Prometheus's lifecycle endpoint: loads the config files again
   * (see {@link reload}); 200 when the new config took effect, 500 with the reason when it was refused (the
   * running config is kept). A write: it needs the API token (`service.telemetry.api`), as silences do.
   */
  private async reloadRequest(req: http.IncomingMessage, res: http.ServerResponse, files: readonly string[] | undefined): Promise<boolean> {
    const answer = (status: number, text: string, headers: http.OutgoingHttpHeaders = {}) => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(`${text}\n`);
      return true;
    };
    if (req.method !== 'POST' && req.method !== 'PUT') return answer(405, 'use POST /-/reload', { allow: 'POST, PUT' });
    if (!files?.length) return answer(404, 'reload is not available: this service was not started by vigil run --config');
    try {
      checkWrite(req, { token: this.apiToken, unauthenticatedWrites: this.config.service.telemetry.api.unauthenticated_writes });
    } catch (e) {
      return answer((e as ApiError).status ?? 401, (e as Error).message);
    }
    this.logger.info({ files }, 'POST /-/reload: reloading config');
    const ok = await this.reload([...files]);
    return ok ? answer(200, 'config reloaded') : answer(500, `failed to reload config: ${this.lastReloadError ?? 'see the log'}; the running config is kept`);
  }

  private alertsStatuses(nowMs: number): AlertsStatus[] {
    const out: AlertsStatus[] = [];
    for (const s of this.graph?.statuses(nowMs) ?? []) if (s.status?.alerts) out.push(s.status.alerts);
    return out;
  }

  /** The overview the status page, `GET /api/overview` and `vigil status` show. */
  overview(nowMs = Date.now()): Overview {
    const api = this.config.service.telemetry.api;
    return buildOverview(
      {
        version: VERSION,
        startedAt: this.startedAt,
        notReadyReason: this.telemetry.notReadyReason(),
        pipelines: this.config.service.pipelines,
        componentIds: {
          receiver: Object.keys(this.config.receivers),
          processor: Object.keys(this.config.processors),
          exporter: Object.keys(this.config.exporters),
        },
        stats: this.telemetry.componentStats(),
        statuses: this.graph?.statuses(nowMs) ?? [],
        silences: this.silences ? this.alertsApi.silences(new URLSearchParams(), nowMs) : [],
        api: { tokenRequired: this.apiToken !== '', writable: this.apiToken !== '' || api.unauthenticated_writes },
      },
      nowMs,
    );
  }

  /** The API token of a config: `bearer_token`, or the trimmed content of `bearer_token_file` (validation refuses both). */
  private readApiToken(config: ServiceConfig): string {
    const api = config.service.telemetry.api;
    if (api.bearer_token_file) {
      try {
        return fs.readFileSync(api.bearer_token_file, 'utf8').trim();
      } catch (e) {
        throw new Error(`service.telemetry.api.bearer_token_file: cannot read ${api.bearer_token_file}: ${(e as Error).message}`);
      }
    }
    return api.bearer_token;
  }

  /**
   * Moves the state of components whose ids have characters outside `[A-Za-z0-9_.-]` from the folder versions
   * before 2026-11-30 gave them ({@link legacyStateDirName}: such characters as `_`) to the one they have now
   * ({@link stateDirName}), so that an upgrade keeps their queues, alert state and budgets. A folder that two
   * configured ids shared under the old naming (`webhook/a@b` and `webhook/a_b`) is left to the id whose name
   * it still is, or where it is, with a warning naming both: what it holds cannot be told apart.
   */
  private moveLegacyStateDirs(config: ServiceConfig): void {
    for (const kind of ['receiver', 'processor', 'exporter'] as const) {
      const ids = Object.keys((config as unknown as Record<string, Record<string, unknown> | undefined>)[`${kind}s`] ?? {});
      const root = path.join(config.service.state_dir, `${kind}s`);
      for (const id of ids) {
        const legacy = legacyStateDirName(id);
        const now = stateDirName(id);
        if (legacy === now || !fs.existsSync(path.join(root, legacy)) || fs.existsSync(path.join(root, now))) continue;
        const sharing = ids.filter((other) => other !== id && (legacyStateDirName(other) === legacy || stateDirName(other) === legacy));
        if (sharing.length > 0) {
          this.logger.warn(
            { folder: path.join(root, legacy), ids: [id, ...sharing] },
            `the state folder ${path.join(root, legacy)} was shared by ${[id, ...sharing].map((i) => `"${i}"`).join(' and ')} under an earlier version's naming; it is left in place, and ${kind} "${id}" now keeps its state in ${path.join(root, now)}`,
          );
          continue;
        }
        try {
          fs.renameSync(path.join(root, legacy), path.join(root, now));
          this.logger.info({ from: path.join(root, legacy), to: path.join(root, now) }, `moved the state of ${kind} "${id}" to its folder's new name`);
        } catch (err) {
          this.logger.warn({ folder: path.join(root, legacy), err: (err as Error).message }, `cannot move the state of ${kind} "${id}" to ${path.join(root, now)}`);
        }
      }
    }
  }

  /**
   * Warns about sending queues left in the state folder by exporters the config no longer has (removed or
   * renamed by a reload or between runs) that still hold items: nothing delivers them until an exporter with
   * that id is configured again (its queue is then replayed), so the log says where they are and how many.
   */
  private async reportOrphanQueues(config: ServiceConfig): Promise<void> {
    const root = path.join(config.service.state_dir, 'exporters');
    const configured = new Set(Object.keys(config.exporters ?? {}).map((id) => path.basename(stateDirFor({ stateDir: '', kind: 'exporter', id }))));
    let names: string[];
    try {
      names = fs.readdirSync(root);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      if (configured.has(name)) continue;
      const dir = path.join(root, name, 'queue');
      if (!fs.existsSync(dir)) continue;
      try {
        const items = await DiskQueue.countLive(dir);
        if (items > 0)
          this.logger.warn(
            { queue: dir, items },
            `the sending queue of an exporter that is no longer configured holds ${items} undelivered item(s): they stay in ${dir} and are delivered only if an exporter with that id is configured again (delete the folder to drop them)`,
          );
      } catch (err) {
        this.logger.warn({ queue: dir, err: (err as Error).message }, 'cannot read the sending queue of an exporter that is no longer configured');
      }
    }
  }

  private openSilences(stateDir: string): void {
    if (this.silences && path.dirname(this.silences.file) === path.resolve(stateDir)) return;
    this.silences = SilenceStore.open(path.resolve(stateDir), (message) => this.logger.warn({ file: path.join(stateDir, 'silences.json') }, message));
  }

  get currentConfig(): ServiceConfig {
    return this.config;
  }

  /** The running graph (tests reach components through it). */
  get pipelines(): Graph | undefined {
    return this.graph;
  }

  /**
   * Binds the telemetry endpoint and starts every pipeline; /readyz turns 200 once all started. Rejects
   * with the endpoint's error if it cannot be bound, else with the pipelines' error; either way
   * {@link shutdown} stops what did start (pipelines drain).
   */
  async start(): Promise<void> {
    this.telemetry.phase = 'starting';
    this.apiToken = this.readApiToken(this.config);
    checkStateDirSync(this.config.service.state_dir);
    this.moveLegacyStateDirs(this.config);
    this.openSilences(this.config.service.state_dir);
    // The endpoint binds while the pipelines start (either failing fails the start; /readyz says 503 until both are done).
    const [listened, started] = await Promise.allSettled([this.listenTelemetry(), this.startGraph(this.config)]);
    if (listened.status === 'rejected') throw listened.reason;
    if (started.status === 'rejected') throw started.reason;
    this.telemetry.phase = 'running';
    await this.reportOrphanQueues(this.config);
    this.logger.info(
      { pipelines: Object.keys(this.config.service.pipelines), telemetry: this.endpoint, port: this.telemetryPort },
      'everything is ready',
    );
    // written now, not with the next coalesced write (src/logger.ts): scripts and tests wait for this line
    this.logger.flush();
  }

  private async listenTelemetry(): Promise<void> {
    const read = this.config.service.telemetry.auth.bearer_token;
    this.telemetry.readTokens = read ? [read, ...(this.apiToken ? [this.apiToken] : [])] : [];
    const endpoint = this.config.service.telemetry.endpoint;
    if (this.endpoint === endpoint) return;
    await this.telemetry.closeServer().catch(() => undefined);
    // the old server is closed now: a reload that restores the running config after this fails must listen again
    this.endpoint = undefined;
    let addr;
    try {
      addr = await this.telemetry.listen(endpoint);
    } catch (err) {
      throw new Error(`service.telemetry.endpoint: cannot listen on ${endpoint}: ${(err as Error).message}`, { cause: err });
    }
    this.endpoint = endpoint;
    this.telemetryPort = addr.port;
  }

  private async startGraph(config: ServiceConfig, carry?: { reuse: Map<string, CarriedComponent>; previous: Graph }): Promise<void> {
    for (const [section, kind] of [['receivers', 'receiver'], ['processors', 'processor'], ['exporters', 'exporter']] as const) {
      for (const id of Object.keys(config[section])) await this.registry.load(kind, parseComponentId(id)!.type);
    }
    const graph = new Graph(config, {
      logger: this.logger,
      registry: this.registry,
      ...(this.tracer ? { tracer: this.tracer } : {}),
      telemetry: this.telemetry,
      ...(this.silences ? { silences: this.silences } : {}),
      host: {
        reportFatal: (id, err) => {
          this.logger.error({ component: id, err: err.message }, 'component failed');
          this.telemetry.markFailed(id, err.message);
        },
        alertsStatuses: (nowMs) => this.alertsStatuses(nowMs),
      },
      reuse: carry?.reuse,
      previous: carry?.previous,
    });
    await graph.start();
    this.graph = graph;
    // what waited at the kept components' emit during the swap now flows into the new pipelines
    for (const r of graph.carriedRelays()) r.release();
  }

  /**
   * Loads the config files again and swaps the new config in: the running pipelines drain (nothing
   * accepted is dropped), then the new ones start. A config that does not validate, or whose pipelines
   * fail to start, is refused: the running config is kept (restarted if it had to stop) and the reason
   * logged. Resolves to whether the new config took effect.
   */
  reload(paths: string[]): Promise<boolean> {
    this.reloading ??= this.doReload(paths)
      .then((ok) => {
        this.telemetry.lastReload = ok ? { ok, successAtMs: Date.now() } : { ...this.telemetry.lastReload, ok };
        if (ok) this.lastReloadError = undefined;
        return ok;
      })
      .finally(() => {
        this.reloading = undefined;
        // the config's validators ran once more: let them go again (src/config/ajv.ts, issue 21)
        forgetValidators('config');
      });
    return this.reloading;
  }

  private async doReload(paths: string[]): Promise<boolean> {
    const result: LoadResult = await loadConfig(paths, this.registry);
    if (!result.config) {
      for (const e of result.errors) this.logger.error({ code: e.code, error: formatConfigError(e) }, 'reload refused: config error');
      this.logger.error({ errors: result.errors.length }, 'reload refused: the running config is kept');
      this.lastReloadError = result.errors.map(formatConfigError).join('; ');
      return false;
    }
    const next = result.config;
    const previous = this.config;
    this.telemetry.phase = 'starting';
    const old = this.graph;
    this.graph = undefined;
    // Components whose config did not change keep running (listening sockets and keep-alive connections,
    // stored series, open windows, queues): their emit waits during the swap; the rest drains and stops.
    const keep = old ? old.keepableIn(next) : new Set<string>();
    let reuse = new Map<string, CarriedComponent>();
    const swapStart = Date.now();
    if (old) {
      reuse = await old
        .detach(keep, parseDuration(previous.service.shutdown_timeout))
        .catch((err: Error) => {
          this.logger.warn({ err: err.message }, 'while stopping the old pipelines');
          return new Map<string, CarriedComponent>([...keep].flatMap((k) => {
            const [kind, ...rest] = k.split(':');
            const c = old.get(kind as ComponentKind, rest.join(':'));
            return c ? [[k, { component: c, relay: old.relayOf(k) }] as [string, CarriedComponent]] : [];
          }));
        });
    }
    const carry = old ? { reuse, previous: old } : undefined;
    const detachedMs = Date.now() - swapStart;
    try {
      checkStateDirSync(next.service.state_dir);
      this.moveLegacyStateDirs(next);
      this.apiToken = this.readApiToken(next);
      this.openSilences(next.service.state_dir);
      this.config = next;
      await this.listenTelemetry();
      await this.startGraph(next, carry);
      this.telemetry.phase = 'running';
      await this.reportOrphanQueues(next);
      // swap_ms: how long the kept components' intake waited (the old pipelines drained, the new ones started)
      this.logger.info(
        { pipelines: Object.keys(next.service.pipelines), kept: [...keep].sort(), drain_ms: detachedMs, swap_ms: Date.now() - swapStart },
        'config reloaded',
      );
      return true;
    } catch (err) {
      // the codes a failed start logs (app/cli.ts): the catalogue's, and the system error's beside it as `cause`
      const cause = systemErrorCode(err);
      this.logger.error({ code: ErrorCodes.START_FAILED, ...(cause ? { cause } : {}), err: (err as Error).message }, 'reload refused: the new pipelines failed to start; restoring the running config');
      this.lastReloadError = `the new pipelines failed to start: ${(err as Error).message}`;
      this.config = previous;
      this.apiToken = this.readApiToken(previous);
      this.openSilences(previous.service.state_dir);
      await this.listenTelemetry().catch(() => undefined);
      try {
        await this.startGraph(previous, carry);
      } finally {
        for (const c of reuse.values()) c.relay?.release();
      }
      this.telemetry.phase = 'running';
      return false;
    }
  }

  /**
   * Drains: receivers stop first, what is in flight goes through to the exporters, within
   * `service.shutdown_timeout`. Resolves to false if the deadline passed or a component failed to stop.
   */
  async shutdown(): Promise<boolean> {
    this.telemetry.phase = 'draining';
    await this.reloading?.catch(() => undefined);
    const deadline = parseDuration(this.config.service.shutdown_timeout);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timerDelay(deadline));
      timer.unref();
    });
    let ok = true;
    const outcome = await Promise.race([
      (this.graph?.shutdown() ?? Promise.resolve()).then(
        () => 'done' as const,
        (err: Error) => {
          this.logger.error({ err: err.message }, 'shutdown error');
          ok = false;
          return 'done' as const;
        },
      ),
      timeout,
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.error({ deadline: this.config.service.shutdown_timeout }, 'shutdown deadline passed; exiting with data still in flight');
      ok = false;
    }
    await this.telemetry.close();
    return ok;
  }
}
