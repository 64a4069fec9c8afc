/**
 * The `alerts` processor: stores the metrics flowing through it for the rules, evaluates every `interval`
 * (timer unref'd), emits routed notifications on `settings.emit`, and persists its state after every
 * evaluation that changed something (atomic write), so that a restart or a kill -9 neither pages twice
 * inside a repeat interval nor loses a resolve.
 *
 * Delivery is at-least-once and tracked per exporter and notification: each notification is emitted on
 * its own (a batch holding one notification that names one exporter) and recorded as sent for that
 * exporter once `emit` accepted it (the notification exporters queue on disk before accepting); a crash between the two
 * can repeat a notification, never lose one. A refusal is retried at the next evaluation for the refusing
 * exporter only: the others are never given the same notification again because one refused.
 */
import path from 'node:path';
import { type CreateSettings, type Host, type Processor, type Consumer, READS_NO_SPAN_FIELDS, type SpanReads } from '../../src/component.ts';
import { stateDirFor } from '../../src/component.ts';
import { parseDuration } from '../../src/duration.ts';
import type { Batch } from '../../src/model.ts';
import { AlertEngine, type EngineState } from './alert-engine.ts';
import { readJsonSync, removeStaleTemps, setAsideCorrupt, writeFileAtomicSync } from '../../src/atomic-file.ts';
import type { AlertsConfig } from './config.ts';
import type { CompiledConfig } from './rules.ts';
import { RecentRing, type ComponentStatus, type NotificationRecord, type RuleStatus } from '../../src/status.ts';
import { describeRule } from './describe.ts';
import { alertReceivers } from './wiring.ts';
import { timerDelay } from '../../src/timer-delay.ts';

/**
 * The `alerts` processor (see this file's comment): stores the metrics the rules read, evaluates every
 * `interval`, emits one notification per batch, and persists its state in `<state dir>`.
 */
export class AlertsProcessor implements Processor {
  /** Passes spans on unread (its rules read the metrics that other processors derive from them). */
  readonly spanReads: SpanReads = READS_NO_SPAN_FIELDS;
  /** Replaced only at start, when the saved state could not be restored into it (see {@link restoreState}). */
  engine: AlertEngine;
  private readonly newEngine: () => AlertEngine;
  private readonly intervalMs: number;
  private readonly stateFile: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastWritten = '';
  private started = false;
  private stopped = false;
  /** Exporters whose last emit was refused (logged once per refusal spell). */
  private readonly refusing = new Set<string>();
  private warnedSeriesCap = false;
  private saveFailing = false;
  private readonly recent = new RecentRing<NotificationRecord>(50);
  private readonly rules: Omit<RuleStatus, 'firing' | 'pending'>[];
  private readonly configSilences: { matchers: string[]; comment: string }[];

  constructor(
    private readonly settings: CreateSettings,
    config: AlertsConfig,
    compiled: CompiledConfig,
  ) {
    this.intervalMs = parseDuration(config.interval);
    const dir = stateDirFor(settings);
    this.stateFile = path.join(dir, 'state.json');
    const caps = settings.service.exporterCapabilities;
    this.newEngine = () =>
      new AlertEngine({
        config,
        compiled,
        startedAt: Date.now(),
        keepsSilencedResolves: (id) => caps?.[id]?.keepsSilencedResolves ?? false,
        sendsResolved: (id) => caps?.[id]?.sendsResolved ?? true,
        keepsEveryResolve: (id) => caps?.[id]?.keepsEveryResolve ?? false,
        defaultExporters: alertReceivers(settings.id, settings.service.pipelines, caps),
        silences: settings.silences,
        telemetryEndpoint: settings.service.telemetryEndpoint,
        logger: settings.logger,
        telemetry: settings.telemetry,
      });
    this.engine = this.newEngine();
    this.rules = config.rules.map((r) => describeRule(r));
    this.configSilences = config.silences.map((s) => ({ matchers: [...s.matchers], comment: s.comment }));
  }

  /** Alerts (pending and firing, with silences and inhibitions), rules and the last notifications. */
  status(nowMs: number): ComponentStatus {
    const alerts = this.engine.statusAlerts(nowMs, 4 * this.intervalMs);
    const count = new Map<string, { firing: number; pending: number }>();
    for (const a of alerts) {
      const c = count.get(a.rule) ?? { firing: 0, pending: 0 };
      c[a.state]++;
      count.set(a.rule, c);
    }
    return {
      alerts: {
        intervalMs: this.intervalMs,
        lastEvaluationMs: this.engine.lastEvaluationMs,
        alerts,
        rules: this.rules.map((r) => ({ ...r, labels: { ...r.labels }, annotations: { ...r.annotations }, ...(count.get(r.name) ?? { firing: 0, pending: 0 }) })),
        notifications: this.recent.list(),
        receivers: this.engine.receiverNames(),
        routes: this.engine.amRoutes(),
        configSilences: this.engine.configSilences().map((c, i) => ({
          id: c.id,
          matchers: [...(this.configSilences[i]?.matchers ?? [])],
          startsAt: new Date(c.startsMs).toISOString(),
          endsAt: Number.isFinite(c.endsMs) ? new Date(c.endsMs).toISOString() : '',
          comment: this.configSilences[i]?.comment ?? '',
        })),
      },
    };
  }

  /**
   * Restores the saved state. A file that is not JSON, of a version this vigil does not know (written by
   * a newer one) or of a shape the engine cannot take is moved aside as `state.json.corrupt` (never
   * overwritten unseen), logged as an error naming the file and why, and the processor starts with no
   * alert state, as the budget and silence stores do: a start never fails on it.
   */
  private restoreState(): void {
    // A reload that changed this processor: the one it replaces holds the newest state in memory, newer than
    // the file when its last saves failed (disk full): taken over, so the reload neither pages again for
    // alerts already notified nor forgets a firing alert whose resolve must go out.
    const prev = this.settings.previous;
    if (prev instanceof AlertsProcessor && prev.stateFile === this.stateFile) {
      try {
        this.engine.restore(JSON.parse(JSON.stringify(prev.engine.snapshot())) as EngineState);
        // what the file holds: the next save writes only when the state differs from it
        this.lastWritten = prev.lastWritten;
        return;
      } catch (e) {
        this.engine = this.newEngine();
        this.settings.logger.warn({ err: (e as Error).message }, 'alerts: could not take over the alert state from before the reload; reading the state file');
      }
    }
    let problem: string | undefined;
    removeStaleTemps(this.stateFile);
    try {
      const state = readJsonSync(this.stateFile) as { version?: unknown } | undefined;
      if (state === undefined) return;
      if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new Error('expected a JSON object');
      if (state.version !== 1 && state.version !== 2) throw new Error(`unknown version ${JSON.stringify(state.version)} (this vigil reads versions 1 and 2)`);
      const skipped = this.engine.restore(state as EngineState);
      if (skipped)
        this.settings.logger.warn({ file: this.stateFile, skipped }, 'alerts: skipped saved alerts whose fields have the wrong types; the others are restored');
      this.lastWritten = JSON.stringify(this.engine.snapshot());
      return;
    } catch (e) {
      problem = (e as Error).message;
    }
    this.engine = this.newEngine(); // a restore that threw half-way leaves no trace
    const kept = setAsideCorrupt(this.stateFile) ? ' (old file kept as state.json.corrupt)' : '';
    this.settings.logger.error({ err: problem, file: this.stateFile }, `alert state file unreadable; starting with no alert state${kept}`);
  }

  async start(_host?: Host): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.restoreState();
    // A reload that changed this processor's config: the series of metrics the new rules still read are
    // carried over, so that their windows do not restart empty (the reload keeps an unchanged processor
    // running as it is).
    const prev = this.settings.previous;
    if (prev instanceof AlertsProcessor) {
      const taken = this.engine.store.adopt(prev.engine.store, Date.now());
      if (taken) this.settings.logger.info({ series: taken }, 'alerts: stored series carried over from before the reload');
      // the state taken over may be newer than the file (its save failed): written now, or /readyz says why not
      this.persist();
    }
    // the rule and its current alerts, as JSON, on the telemetry endpoint (GET /api/v1/rules/NAME)
    this.settings.telemetry.serveJson?.('/api/v1/rules/', (name) => {
      const d = this.engine.describeRule(name);
      return d && { processor: this.settings.id, ...d };
    });
    this.timer = setInterval(() => void this.tick(), timerDelay(this.intervalMs));
    this.timer.unref();
  }

  async process(batch: Batch, next: Consumer): Promise<void> {
    if (batch.resourceMetrics && !this.stopped) {
      try {
        const dropped = this.engine.store.droppedPoints;
        this.engine.ingest(batch, Date.now());
        const over = this.engine.store.droppedPoints - dropped;
        if (over > 0) {
          // not dropped from the pipeline (the batch goes on), only not stored for the rules
          this.settings.telemetry.count('dropped', 'metrics', over);
          if (!this.warnedSeriesCap) this.settings.logger.warn({ series: this.engine.store.size }, 'alerts: series cap (max_series) or memory budget reached; points of new series are not evaluated');
          this.warnedSeriesCap = true;
        }
      } catch (e) {
        this.settings.logger.warn({ err: (e as Error).message }, 'alerts: could not read metrics from a batch');
      }
    }
    await next.consume(batch);
  }

  /** One evaluation round at `now` (the timer calls it; tests may too). Never runs two at once. */
  tick(now = Date.now()): Promise<void> {
    if (this.running) return this.running;
    this.running = this.round(now)
      .catch((e: unknown) => {
        // an evaluation must never take the daemon down; the next one starts afresh
        this.settings.logger.error({ err: (e as Error)?.message ?? String(e) }, 'alerts: evaluation failed');
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async round(now: number): Promise<void> {
    const result = this.engine.evaluate(now);
    // one consume per exporter and notification, all of an exporter's issued at once so that a queued
    // exporter writes them with one fdatasync (group commit) instead of one each; each call reaches the
    // exporter's queue in issue order, so each exporter keeps its notifications in order. A refusal holds
    // back only the refused notifications (their groups are not committed: they are sent again at the next
    // evaluation) and marks that exporter as refusing.
    const accepted = new Set<string>();
    await Promise.all(
      [...result.byExporter].map(async ([exporter, notifications]) => {
        const settled = await Promise.allSettled(notifications.map((n) => this.settings.emit.consume({ alerts: [n] })));
        let refusal: unknown;
        settled.forEach((r, i) => {
          const n = notifications[i]!;
          if (r.status === 'rejected') {
            refusal ??= r.reason;
            return;
          }
          accepted.add(`${exporter}\u0000${result.groupOf(n)}`);
          this.recent.push({
            at: now,
            groupKey: n.groupKey,
            status: n.status,
            exporters: [...n.exporters],
            alertnames: [...new Set(n.alerts.map((a) => a.labels.alertname ?? ''))],
            alerts: n.alerts.length,
          });
        });
        if (refusal !== undefined) {
          if (!this.refusing.has(exporter))
            this.settings.logger.warn({ exporter, err: (refusal as Error)?.message ?? String(refusal) }, 'alerts: notifications refused; retrying for this exporter at the next evaluation');
          this.refusing.add(exporter);
          return;
        }
        if (this.refusing.delete(exporter)) this.settings.logger.info({ exporter }, 'alerts: notifications accepted again');
      }),
    );
    result.commit((exporter, group) => accepted.has(`${exporter}\u0000${group}`));
    this.persist();
  }

  private persist(): void {
    const text = JSON.stringify(this.engine.snapshot());
    if (text === this.lastWritten) return;
    try {
      writeFileAtomicSync(this.stateFile, text);
      this.lastWritten = text;
      if (this.saveFailing) {
        this.saveFailing = false;
        this.settings.telemetry.setHealthy(true, undefined, 'state file');
        this.settings.logger.info({ file: this.stateFile }, 'alerts: alert state saved again');
      }
    } catch (e) {
      // Disk full is a state: the previous file is intact, the state is kept in memory and written at the
      // next evaluation; /readyz names this processor until then.
      if (!this.saveFailing) this.settings.logger.error({ err: (e as Error).message, file: this.stateFile }, 'alerts: could not save alert state (retried every evaluation)');
      this.saveFailing = true;
      this.settings.telemetry.setHealthy(false, `cannot save alert state: ${(e as Error).message}`, 'state file');
    }
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.engine.store.close();
    this.engine.dispatcher.close();
    this.engine.state.budget.close();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.running) await this.running.catch(() => undefined);
    if (this.started) this.persist();
  }
}
